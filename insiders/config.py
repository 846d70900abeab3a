"""The choices of a run, as frozen dataclasses: reading, filter rules, spaces, model grid,
selection policy, and :class:`RunConfig` holding them all.

Light on purpose (no pandas or scikit-learn), so that the command line can show its defaults
and check its arguments at once; the stages take these objects as their configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from insiders.errors import InputError
from insiders.models import REGISTRY
from insiders.options import (
    ANONYMOUS_POLICIES,
    AUTO_RANKING,
    DEFAULT_SEED,
    FEATURE_DESCRIPTIONS,
    FEATURE_ENGINES,
    HORIZON_WORDS,
    MEMORY_LIMIT_PATTERN,
    MODELS,
    RULES,
    SCALERS,
    SPACES,
    STUDY_FEATURES,
    VALUE_MODEL_CHOICES,
    VALUE_MODELS,
)
from insiders.presets import PRESETS, ROLES, Preset, parse_column_map, preset

__all__ = [
    "FEATURE_ENGINES",
    "INSIDERS_RULES",
    "PARAMS",
    "PRESET_RULE_PARAMS",
    "VALUE_MODELS",
    "EmbedConfig",
    "FeatureEngineConfig",
    "FilterConfig",
    "GridConfig",
    "MembershipPolicy",
    "ParamSpec",
    "QualityConfig",
    "ReadConfig",
    "RunConfig",
    "SelectionPolicy",
    "form_defaults",
]

#: How Insiders are chosen: by expected value with hysteresis, or the top-value cluster.
INSIDERS_RULES = ("value", "cluster")

#: What to do with exact duplicate lines (every column equal).
DUPLICATE_POLICIES = ("drop", "keep")

#: The preset that reads an export by the layout its look proposes (``insiders inspect``).
AUTO_PRESET = "auto"

#: Months replayed before a run: the tier's warm start and the back-test's replays.
REPLAY_MONTHS = 5

AnonymousPolicy = Literal["exclude", "synthetic"]
Rule = Literal["fixed", "best_silhouette"]


@dataclass(frozen=True)
class FilterConfig:
    """The study's filter rules, each a field so that a run records what it applied.

    Attributes:
        min_unit_price: lines priced below this are removed (the study: 0.04).
        non_product_code_pattern: stock codes matching this whole regex are not products
            (letters only: POST, D, DOT, M, S, AMAZONFEE, CRUK, ...: postage, fees, adjustments).
        excluded_countries: countries that name no country.
        excluded_customers: customers dropped on purpose (the study: 16446, an extreme outlier).
        anonymous: ``"exclude"`` drops lines without a customer (they cannot join a loyalty
            programme); ``"synthetic"`` makes one customer per anonymous invoice, as the study did.
        synthetic_id_start: the first made-up customer id; ids follow invoice order by date.
    """

    min_unit_price: float = 0.04
    non_product_code_pattern: str = r"[A-Za-z]+"
    excluded_countries: tuple[str, ...] = ("European Community", "Unspecified")
    excluded_customers: tuple[int, ...] = (16446,)
    anonymous: AnonymousPolicy = "exclude"
    synthetic_id_start: int = 19000

    def __post_init__(self) -> None:
        if self.anonymous not in ANONYMOUS_POLICIES:
            raise InputError(f"anonymous policy must be one of {ANONYMOUS_POLICIES}, got {self.anonymous!r}")


@dataclass(frozen=True)
class QualityConfig:
    """Plausibility rules checked before the filters (:mod:`insiders.quality`).

    A line that breaks a line rule is quarantined (kept aside, counted, never segmented); a
    file that breaks a file rule refuses the run. The defaults leave the bundled data's real
    lines alone (its largest quantity is 80,995, price 38,970, line 168,469.60; 2% returns).

    Attributes:
        max_quantity: a line whose quantity is beyond +/- this is quarantined.
        max_unit_price: a line priced above this is quarantined.
        max_line_revenue: a line whose quantity x price is beyond +/- this is quarantined.
        max_date_gap_days: the lines' days form one stretch with no gap longer than this;
            lines cut off from the stretch holding most lines (a purchase dated 2099, or 1970)
            are quarantined.
        duplicate_lines: ``"drop"``: of lines equal in every column, keep one (an export that
            repeats lines would count their revenue twice); ``"keep"``: keep them all, counted.
        max_duplicate_share: above this share of duplicate lines the file is refused (the same
            export appended twice).
        max_return_share: above this share of return lines (quantity below zero) the file is
            refused (signs flipped, or a returns-only export).
        max_quarantine_share: above this share of lines quarantined by the line rules the file
            is refused (a wrong column or unit, not a few bad lines).
        max_non_sale_share: above this share of the export's lines set aside as not sales
            (:mod:`insiders.ingest.non_sales`: coupon, void and total lines...) the file is
            refused (likelier a wrong column than such an export); they do not count toward
            ``max_quarantine_share``.
    """

    max_quantity: int = 100_000
    max_unit_price: float = 50_000.0
    max_line_revenue: float = 250_000.0
    max_date_gap_days: int = 60
    duplicate_lines: str = "drop"
    max_duplicate_share: float = 0.05
    max_return_share: float = 0.25
    max_quarantine_share: float = 0.01
    max_non_sale_share: float = 0.25

    def __post_init__(self) -> None:
        if self.duplicate_lines not in DUPLICATE_POLICIES:
            raise InputError(f"duplicate_lines must be one of {DUPLICATE_POLICIES}, "
                             f"got {self.duplicate_lines!r}")
        for name in ("max_duplicate_share", "max_return_share", "max_quarantine_share",
                     "max_non_sale_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"{name} must be a share from 0 to 1, got {getattr(self, name)}")
        for name in ("max_quantity", "max_unit_price", "max_line_revenue", "max_date_gap_days"):
            if getattr(self, name) <= 0:
                raise InputError(f"{name} must be above 0, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        """Plain values, for JSON and the report."""
        return asdict(self)


@dataclass(frozen=True)
class GridConfig:
    """What the comparison tries.

    Attributes:
        models: names from :data:`MODELS`.
        k_values: numbers of clusters for K-Means, Gaussian mixture and ward.
        k_values_features: the same on the raw scaled features (the study: 2..7).
        dbscan_quantiles: DBSCAN's eps is taken at these quantiles of each customer's
            distance to its ``dbscan_min_samples``-th neighbour (so it follows the space's scale).
        dbscan_min_samples: DBSCAN's density threshold.
        hdbscan_min_cluster_sizes: HDBSCAN's smallest cluster sizes.
        silhouette_max_n: exact silhouette up to this many customers; beyond, a seeded sample
            of this many. 5,000 (issue 33; 10,000 before): on the UMAP space of a
            30,000-customer shop, every candidate's sampled score against its exact score on
            every customer (three sample seeds) was off by 0.002 at the median, 0.008 at the
            95th percentile and 0.04 at most, for 1.4 s of CPU a space instead of 7.1 s.
        cluster_sample_size: beyond this many customers, every model is fitted on a seeded
            sample of this size and the others are assigned to its clusters
            (:func:`insiders.models.fit_labels`); up to it, every customer is fitted, as
            before. 50,000 keeps 10x (43,000) exact, and one exact ward tree takes seconds
            (about 5 s at 43,000, 36 s at 130,000). The mixture and the density models are
            fitted on at most :data:`insiders.models.FIT_MAX_N` (10,000) whatever it says.
        random_state: seed of every model and of the silhouette sample.
    """

    models: tuple[str, ...] = MODELS
    k_values: tuple[int, ...] = tuple(range(2, 15))
    k_values_features: tuple[int, ...] = tuple(range(2, 8))
    dbscan_quantiles: tuple[float, ...] = (0.90, 0.95, 0.99)
    dbscan_min_samples: int = 5
    hdbscan_min_cluster_sizes: tuple[int, ...] = (25, 50, 100, 200)
    silhouette_max_n: int = 5_000
    cluster_sample_size: int = 50_000
    random_state: int = DEFAULT_SEED

    @property
    def k_max_tried(self) -> int:
        """The largest k tried (on the spaces; the raw features stop at 7)."""
        return max(self.k_values)

    def __post_init__(self) -> None:
        if self.cluster_sample_size < 1:
            raise InputError(f"cluster_sample_size must be at least 1, got {self.cluster_sample_size}")
        unknown = set(self.models) - set(REGISTRY)
        if unknown:
            raise InputError(f"unknown model(s) {sorted(unknown)}; choose from {', '.join(REGISTRY)}")


@dataclass(frozen=True)
class SelectionPolicy:
    """How the model is chosen and how the Insiders cluster is found.

    Attributes:
        rule: ``"fixed"`` takes ``model`` with ``k`` clusters on ``space`` (default: the
            study's choice, ward with k = 8 on UMAP); ``"best_silhouette"`` takes the best
            silhouette among models whose cluster count lies in ``[k_min, k_max]`` (a range
            marketing can work with) and whose noise share is at most ``max_noise_share``.
        value_score: the feature whose cluster mean ranks clusters by value; Insiders is
            the cluster where it is highest.
    """

    rule: Rule = "fixed"
    space: str = "umap"
    model: str = "ward"
    k: int = 8
    k_min: int = 4
    k_max: int = 10
    max_noise_share: float = 0.10
    value_score: str = "gross_revenue"

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise InputError(f"selection rule must be one of {RULES}, got {self.rule!r}")
        if self.k_min > self.k_max:
            raise InputError(f"k_min ({self.k_min}) is above k_max ({self.k_max})")

    def describe(self) -> str:
        """The policy in one sentence, for reports and logs."""
        if self.rule == "fixed":
            choice = f"{self.model} with k = {self.k} on the {self.space} space (fixed)"
        else:
            choice = (
                f"the best silhouette with {self.k_min} to {self.k_max} clusters "
                f"and at most {self.max_noise_share:.0%} noise"
            )
        return f"{choice}; segments ranked by their mean {self.value_score}"

    def to_dict(self) -> dict:
        """Plain values, for JSON and the warehouse."""
        return asdict(self)


@dataclass(frozen=True)
class MembershipPolicy:
    """The tier's rules (how the defaults were chosen: docs/insiders.md).

    Attributes:
        entry_share: enter when ranked within this share of the active customers.
        exit_share: members stay while ranked within this (larger) share.
        grace_months: months in a row below the exit bar a member is kept before leaving
            (0: leave in the first month below it).
        active_days: a customer is active when their last purchase is at most this old;
            the bars are shares of the active customers, and an inactive member leaves.
        smoothing: when a value model ranks, the score is its expected revenue smoothed over
            the months it has ranked (this month's weight; the rest is last month's score):
            a model's month-to-month noise moves nobody across a bar (1: no smoothing).
            Revenue so far, a running sum, is not smoothed.
    """

    entry_share: float = 0.20
    exit_share: float = 0.24
    grace_months: int = 0
    active_days: int = 365
    smoothing: float = 0.25

    def __post_init__(self) -> None:
        if not 0 < self.entry_share <= self.exit_share <= 1:
            raise InputError(
                f"need 0 < entry_share ({self.entry_share}) <= exit_share ({self.exit_share}) <= 1"
            )
        if self.grace_months < 0 or self.active_days < 1:
            raise InputError("grace_months must be >= 0 and active_days >= 1")
        if not 0 < self.smoothing <= 1:
            raise InputError(f"smoothing must be in (0, 1], got {self.smoothing}")

    def is_active(self, recency_days: Any) -> Any:
        """Whether customers with these recencies (days since the last purchase, the cut's
        day included) are active: the tier's and the back-test's one activity window."""
        return recency_days <= self.active_days

    def describe(self) -> str:
        """The rules in one sentence, for the report."""
        grace = (f" for {self.grace_months + 1} months in a row" if self.grace_months
                 else "")
        return (f"Customers enter Insiders when they rank in the top "
                f"{self.entry_share:.0%} of active customers (a purchase in the last "
                f"{self.active_days} days); members leave when they rank below the top "
                f"{self.exit_share:.0%}{grace}, or stop being active.")

    def to_dict(self) -> dict:
        """Plain values, for JSON and the warehouse."""
        return asdict(self)


@dataclass(frozen=True)
class ReadConfig:
    """How text sources are read (see :func:`insiders.ingest.read_transactions`)."""

    encoding: str = "auto"
    date_format: str | None = None
    decimal: str = "auto"
    thousands: str | None = "auto"
    sheet: str | None = None
    preset: str = "online_retail"
    columns: str | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        if self.preset != AUTO_PRESET:
            preset(self.preset)  # an unknown name is refused, naming the known ones
        parse_column_map(self.columns)  # so is a column map that names no role
        if self.currency and not (len(self.currency) == 3 and self.currency.isalpha()
                                  and self.currency.isupper()):
            raise InputError(f"currency must be an ISO 4217 code like EUR, got {self.currency!r}")

    @property
    def layout(self) -> Preset:
        """The export's preset, resolved (its name was checked when this config was made;
        ``auto`` reads as ``custom`` until the export's look settles it)."""
        return PRESETS[self.preset if self.preset != AUTO_PRESET else "custom"]

    @property
    def column_map(self) -> dict[str, str]:
        """The column map by role (empty: the preset's columns alone)."""
        return parse_column_map(self.columns)

    @property
    def money_currency(self) -> str:
        """The ISO code of the amounts: the param, else the preset's ("" when neither says)."""
        return self.currency or self.layout.currency or ""


@dataclass(frozen=True)
class FeatureEngineConfig:
    """Where the features stage runs the features' SQL (:mod:`insiders.feature_sql`).

    Attributes:
        engine: ``"duckdb"``: in the process, reading the run folder's lines in place and
            spilling to disk past ``memory_limit``; ``"spark"``: a Spark session (in Airflow on
            the master of connection ``spark_default``, ``local[*]`` without one).
        memory_limit: DuckDB's memory limit (``"3GB"``, ``"500MB"``).
    """

    engine: str = "duckdb"
    memory_limit: str = "3GB"

    def __post_init__(self) -> None:
        import re

        if self.engine not in FEATURE_ENGINES:
            raise InputError(f"feature_engine must be one of {FEATURE_ENGINES}, got {self.engine!r}")
        if not re.fullmatch(MEMORY_LIMIT_PATTERN, self.memory_limit.strip(), re.I):
            raise InputError(f"duckdb_memory_limit must look like '3GB' or '500MB', got "
                             f"{self.memory_limit!r}")


@dataclass(frozen=True)
class EmbedConfig:
    """What the spaces are built from: features, spaces, scaler and seed.

    Attributes:
        fit_sample_size: beyond this many customers, every space is fitted on a seeded sample
            of this size and the other customers are placed by the fitted space's
            ``transform`` (UMAP on every customer is single-threaded when seeded: minutes at
            100,000). Up to it, every customer is fitted.
        tree_max_customers: beyond this many customers the tree-leaf space is left out, to
            keep a run's time in bounds (every space adds a grid of models on every customer;
            the space's own neighbour search no longer grows with n^2: see
            :class:`insiders.spaces.LeafNeighbors`); the run's facts and report say so.
    """

    features: tuple[str, ...] = STUDY_FEATURES
    spaces: tuple[str, ...] = SPACES
    scaler: str = "minmax"
    random_state: int = DEFAULT_SEED
    fit_sample_size: int = 20_000
    tree_max_customers: int = 100_000

    def __post_init__(self) -> None:
        for name in ("fit_sample_size", "tree_max_customers"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}")
        for kind, given, known in (("feature", self.features, FEATURE_DESCRIPTIONS),
                                   ("space", self.spaces, SPACES),
                                   ("scaler", (self.scaler,), SCALERS)):
            unknown = [g for g in given if g not in known]
            if unknown:
                raise InputError(f"unknown {kind}(s) {unknown}; choose from {', '.join(known)}")


@dataclass(frozen=True)
class TierConfig:
    """The Insiders tier stage's part of the run configuration.

    Attributes:
        rule: ``"value"``: the top customers by expected revenue, with an entry and a lower
            exit bar (:mod:`insiders.membership`); ``"cluster"``: the highest-value segment
            (the study's rule).
        value_model: the expected-revenue model (``"value"``).
        membership: the bars (``"value"``).
        warmup_months: with no last month, the tier is first replayed over this many earlier
            months (``"value"``).
        random_state: the value model's seed.
    """

    rule: str = "value"
    value_model: str = AUTO_RANKING
    membership: MembershipPolicy = field(default_factory=MembershipPolicy)
    warmup_months: int = REPLAY_MONTHS
    random_state: int = DEFAULT_SEED

    @classmethod
    def as_recorded(cls, membership: Mapping[str, Any]) -> TierConfig:
        """The tier's choices as the tier stage recorded them (``selection.json``'s
        ``membership``), for the stages after it."""
        return cls(rule=membership["rule"], value_model=membership["value_model"] or cls.value_model,
                   membership=MembershipPolicy(**membership["policy"]))


@dataclass(frozen=True)
class RunConfig:
    """Every choice of one run, in one object: what the CLI flags, the DAG params and the
    tests all build (:meth:`from_params`), and what the stages take.

    The flat names of :meth:`to_params` are the DAG's params (see :data:`PARAMS`).
    """

    read: ReadConfig = field(default_factory=ReadConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    engine: FeatureEngineConfig = field(default_factory=FeatureEngineConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    grid: GridConfig = field(default_factory=GridConfig)
    policy: SelectionPolicy = field(default_factory=SelectionPolicy)
    insiders_rule: str = "value"
    value_model: str = AUTO_RANKING
    membership: MembershipPolicy = field(default_factory=MembershipPolicy)
    replay_months: int = REPLAY_MONTHS
    max_staleness_days: int = 45
    stability_sample_size: int = 10_000

    def __post_init__(self) -> None:
        if self.insiders_rule not in INSIDERS_RULES:
            raise InputError(f"insiders_rule must be one of {INSIDERS_RULES}, got {self.insiders_rule!r}")
        if self.value_model not in VALUE_MODEL_CHOICES:
            raise InputError(f"value_model must be one of {VALUE_MODEL_CHOICES}, "
                             f"got {self.value_model!r}")

    @property
    def tier(self) -> TierConfig:
        """The tier stage's part (its months replayed are the report's, its seed the run's)."""
        return TierConfig(rule=self.insiders_rule, value_model=self.value_model,
                          membership=self.membership, warmup_months=self.replay_months,
                          random_state=self.embed.random_state)

    def to_params(self) -> dict[str, Any]:
        """The flat, JSON-friendly params (every name in :data:`PARAMS`)."""
        def value(field: str) -> Any:
            found: Any = self
            for part in field.split("."):
                found = getattr(found, part)
            return list(found) if isinstance(found, tuple) else found

        return {name: value(spec.field) for name, spec in PARAMS.items()}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> RunConfig:
        """Build from flat params; a missing or None value takes the default, an unknown
        name is refused (a typo must not fall back to a default silently)."""
        unknown = set(params) - set(PARAMS) - RUN_PARAMS
        if unknown:
            raise InputError(f"unknown param(s) {sorted(unknown)}; known: {', '.join(PARAMS)}")
        given = {k: v for k, v in params.items() if v is not None}
        name = given.get("preset") or ReadConfig.preset
        rules = (preset(name) if name != AUTO_PRESET else PRESETS["custom"]).rules  # the shop's
        p = {**cls().to_params(), "min_unit_price": rules["min_unit_price"],
             "excluded_customers": list(rules["excluded_customers"]), **given}
        parts: dict[str, dict[str, Any]] = {}
        for name, spec in PARAMS.items():
            part, _, attr = spec.field.rpartition(".")
            parts.setdefault(part, {})[attr] = spec.typed(p[name])
        grid, top = parts.pop("grid"), parts.pop("")
        k_max = grid.pop("k_max_tried")
        if k_max < 2:
            raise InputError(f"k_max_tried must be at least 2, got {k_max}")
        return cls(
            read=ReadConfig(**parts["read"]),
            quality=QualityConfig(**parts["quality"]),
            filters=FilterConfig(**parts["filters"],
                                 non_product_code_pattern=rules["non_product_code_pattern"],
                                 excluded_countries=tuple(rules["excluded_countries"])),
            engine=FeatureEngineConfig(**parts["engine"]),
            embed=EmbedConfig(**parts["embed"]),
            grid=GridConfig(**grid, k_values=tuple(range(2, k_max + 1)),
                            k_values_features=tuple(range(2, min(k_max, 7) + 1)),
                            random_state=parts["embed"]["random_state"]),
            policy=SelectionPolicy(**parts["policy"]),
            membership=MembershipPolicy(**parts["membership"]),
            **top,
        )


@dataclass(frozen=True)
class ParamSpec:
    """One choice of a run, declared once: how the Airflow Trigger form shows it (title,
    section, help, JSON schema), where it lives in :class:`RunConfig` (``field``: "part.name"
    or "name") and its CLI flag (``flag``: "" for ``--the-param-name``, None for none of its
    own). :meth:`RunConfig.to_params`, :meth:`RunConfig.from_params`, the DAG's params and the
    CLI's flags are derived from :data:`PARAMS`."""

    title: str
    section: str
    description: str
    schema: dict[str, Any]
    field: str = ""
    flag: str | None = ""

    @property
    def kind(self) -> str:
        """The schema's type, ``null`` aside: integer, number, string, array or boolean."""
        kinds = self.schema.get("type", "string")
        return next(k for k in ([kinds] if isinstance(kinds, str) else kinds) if k != "null")

    def cli_flag(self, name: str) -> str | None:
        return f"--{name.replace('_', '-')}" if self.flag == "" else self.flag

    def typed(self, value: Any) -> Any:
        """A param's value as the config holds it (an empty text is None for a text that may
        be null; lists are tuples)."""
        if value is None:
            return None
        if self.kind == "integer":
            return int(value)
        if self.kind == "number":
            return float(value)
        if self.kind == "array":
            items = self.schema.get("items", {}).get("type")
            return tuple(int(v) for v in value) if items == "integer" else tuple(value)
        if value == "" and "null" in self.schema.get("type", []):
            return None
        return str(value)


_NULL_STR: dict[str, Any] = {"type": ["null", "string"]}

#: Every choice of :class:`RunConfig`, by its flat name (defaults come from ``RunConfig()``).
PARAMS: dict[str, ParamSpec] = {
    "encoding": ParamSpec("Text encoding", "Reading", "CSV text encoding: auto (UTF-8, then "
                          "cp1252, then Latin-1) or a Python codec name", {"type": "string"},
                          field="read.encoding"),
    "date_format": ParamSpec("Date format", "Reading", "strptime format of text dates, e.g. "
                             "%d/%m/%Y %H:%M or %Y%m%d, or epoch_s / epoch_ms for seconds / "
                             "milliseconds since 1970 (UTC); empty: detected from the data",
                             _NULL_STR,
                             field="read.date_format"),
    "decimal": ParamSpec("Decimal separator", "Reading", "auto (detected per file), '.' or ','",
                         {"type": "string", "enum": ["auto", ".", ","]}, field="read.decimal"),
    "thousands": ParamSpec("Thousands separator", "Reading", "auto, '.', ',', another "
                           "character, or an empty text for none", _NULL_STR, field="read.thousands"),
    "preset": ParamSpec("Export layout", "Reading", "Which shop export the source is: "
                        "online_retail (the UCI files, with the study's data rules), "
                        "shopify_orders, woocommerce_orders, transactions (customer, date, "
                        "amount), custom (the column map alone); auto: the layout 'insiders "
                        "inspect' proposes, when no role is in doubt",
                        {"type": "string", "enum": [*PRESETS, AUTO_PRESET]}, field="read.preset"),
    "columns": ParamSpec("Column map", "Reading", "The export's columns by role, on top of the "
                         "preset: customer=Email,date=Created at,amount=Total (roles: "
                         + ", ".join(ROLES) + ")", _NULL_STR, field="read.columns"),
    "currency": ParamSpec("Currency", "Reading", "ISO code of the amounts (EUR, USD...); empty: "
                          "the preset's (GBP for online_retail)", _NULL_STR, field="read.currency"),
    "sheet": ParamSpec("Workbook sheet", "Reading", "The Excel sheet that holds the lines; "
                       "empty: every sheet, when they share one header", _NULL_STR, field="read.sheet"),
    "max_quantity": ParamSpec("Largest quantity", "Data quality", "A line whose quantity is "
                              "beyond plus or minus this is quarantined",
                              {"type": "integer", "minimum": 1}, field="quality.max_quantity"),
    "max_unit_price": ParamSpec("Highest unit price", "Data quality", "A line priced above this "
                                "is quarantined", {"type": "number", "exclusiveMinimum": 0},
                                field="quality.max_unit_price"),
    "max_line_revenue": ParamSpec("Largest line revenue", "Data quality", "A line whose quantity "
                                  "x price is beyond plus or minus this is quarantined",
                                  {"type": "number", "exclusiveMinimum": 0},
                                  field="quality.max_line_revenue"),
    "max_date_gap_days": ParamSpec("Longest gap between days", "Data quality", "Lines cut off "
                                   "by more than this many days from the stretch of dates "
                                   "holding most lines (a purchase dated 2099) are quarantined",
                                   {"type": "integer", "minimum": 1}, field="quality.max_date_gap_days"),
    "duplicate_lines": ParamSpec("Duplicate lines", "Data quality", "Lines equal in every "
                                 "column: drop the repeats or keep them all",
                                 {"type": "string", "enum": list(DUPLICATE_POLICIES)},
                                 field="quality.duplicate_lines"),
    "max_duplicate_share": ParamSpec("Most duplicate lines", "Data quality", "Refuse the file "
                                     "above this share of duplicate lines (0.05: 5%)",
                                     {"type": "number", "minimum": 0, "maximum": 1},
                                     field="quality.max_duplicate_share"),
    "max_return_share": ParamSpec("Most return lines", "Data quality", "Refuse the file above "
                                  "this share of return lines (0.25: 25%)",
                                  {"type": "number", "minimum": 0, "maximum": 1},
                                  field="quality.max_return_share"),
    "max_quarantine_share": ParamSpec("Most quarantined lines", "Data quality", "Refuse the file "
                                      "when the line rules quarantine more than this share of "
                                      "its lines (0.01: 1%)",
                                      {"type": "number", "minimum": 0, "maximum": 1},
                                      field="quality.max_quarantine_share"),
    "max_non_sale_share": ParamSpec("Most lines that are not sales", "Data quality", "Refuse "
                                    "the file when more than this share of its lines are set "
                                    "aside as not sales (coupon, void, zero and total lines; "
                                    "0.25: 25%)",
                                    {"type": "number", "minimum": 0, "maximum": 1},
                                    field="quality.max_non_sale_share"),
    "anonymous_policy": ParamSpec("Anonymous lines", "Filters", "Lines without a customer id: "
                                  "exclude them (they cannot join a loyalty programme) or make "
                                  "one customer per anonymous invoice (synthetic, the study's)",
                                  {"type": "string", "enum": list(ANONYMOUS_POLICIES)},
                                  field="filters.anonymous", flag='--anonymous'),
    "min_unit_price": ParamSpec("Lowest unit price", "Filters", "Lines priced below this are "
                                "removed; empty: the preset's (online_retail: the study's "
                                "0.04; others: 0)", {"type": ["null", "number"], "minimum": 0},
                                field="filters.min_unit_price"),
    "excluded_customers": ParamSpec("Excluded customers", "Filters", "Customer ids dropped on "
                                    "purpose; empty: the preset's (online_retail: the study's "
                                    "16446, an extreme outlier; others: none)",
                                    {"type": ["null", "array"], "items": {"type": "integer"}},
                                    field="filters.excluded_customers", flag='--exclude-customer'),
    "feature_engine": ParamSpec("Feature engine", "Engine", "Where the customer features' SQL "
                                "runs: duckdb (in the worker, the default) or spark (on the "
                                "master of connection spark_default, local[*] without one)",
                                {"type": "string", "enum": list(FEATURE_ENGINES)}, field="engine.engine"),
    "duckdb_memory_limit": ParamSpec("DuckDB memory limit", "Engine", "Memory DuckDB may use "
                                     "for the features before spilling to disk, e.g. 3GB",
                                     {"type": "string"}, field="engine.memory_limit"),
    "features": ParamSpec("Features", "Segments", "Customer features the spaces are built from "
                          "(the study's five by default)",
                          {"type": "array", "items": {"enum": list(FEATURE_DESCRIPTIONS)}},
                          field="embed.features"),
    "spaces": ParamSpec("Embedding spaces", "Segments", "Spaces the models are compared on",
                        {"type": "array", "items": {"enum": list(SPACES)}}, field="embed.spaces"),
    "scaler": ParamSpec("Feature scaler", "Segments", "How features are scaled before embedding "
                        "(min-max: the study's)", {"type": "string", "enum": list(SCALERS)},
                        field="embed.scaler"),
    "random_state": ParamSpec("Seed", "Segments", "Seed of every space and model",
                              {"type": "integer"}, field="embed.random_state"),
    "fit_sample_size": ParamSpec("Customers the spaces are fitted on", "Segments", "Beyond this "
                                 "many customers, the spaces are fitted on a seeded sample of "
                                 "this size and every other customer is placed in them by the "
                                 "fitted transform (below it, nothing changes)",
                                 {"type": "integer", "minimum": 1}, field="embed.fit_sample_size"),
    "tree_max_customers": ParamSpec("Most customers for the tree-leaf space", "Segments",
                                    "Beyond this many customers the tree-leaf space is left out "
                                    "(one space fewer to fit and compare models on); the report "
                                    "says so", {"type": "integer", "minimum": 1},
                                    field="embed.tree_max_customers"),
    "models": ParamSpec("Clustering models", "Segments", "Models compared on every space",
                        {"type": "array", "items": {"enum": list(MODELS)}}, field="grid.models"),
    "k_max_tried": ParamSpec("Largest k tried", "Segments", "The comparison tries k = 2 up to "
                             "this (7 at most on the raw features)",
                             {"type": "integer", "minimum": 2, "maximum": 30},
                             field="grid.k_max_tried", flag='--k-max'),
    "cluster_sample_size": ParamSpec("Customers the models are fitted on", "Segments", "Beyond "
                                     "this many customers, every clustering model is fitted on a "
                                     "seeded sample of this size and every other customer is "
                                     "assigned to its clusters (below it, nothing changes; "
                                     "the mixture and density models: at most 10,000)",
                                     {"type": "integer", "minimum": 1}, field="grid.cluster_sample_size"),
    "selection_rule": ParamSpec("Selection rule", "Selection", "fixed: the model, k and space "
                                "below (the study's ward, k = 8, UMAP); best_silhouette: the "
                                "best silhouette with k from the lowest to the highest k below",
                                {"type": "string", "enum": list(RULES)}, field="policy.rule", flag='--rule'),
    "space": ParamSpec("Space (fixed rule)", "Selection", "Space of the fixed rule",
                       {"type": "string", "enum": list(SPACES)}, field="policy.space"),
    "model": ParamSpec("Model (fixed rule)", "Selection", "Model of the fixed rule",
                       {"type": "string", "enum": list(MODELS)}, field="policy.model"),
    "k": ParamSpec("Clusters (fixed rule)", "Selection", "Number of segments of the fixed rule",
                   {"type": "integer", "minimum": 2, "maximum": 30}, field="policy.k"),
    "k_min": ParamSpec("Fewest segments (best silhouette)", "Selection", "Lowest number of "
                       "segments marketing can work with", {"type": "integer", "minimum": 2},
                       field="policy.k_min", flag=None),
    "k_max": ParamSpec("Most segments (best silhouette)", "Selection", "Highest number of "
                       "segments marketing can work with", {"type": "integer", "minimum": 2},
                       field="policy.k_max", flag=None),
    "value_score": ParamSpec("Value score", "Selection", "Feature whose segment mean ranks "
                             "segments by value; Insiders has the highest",
                             {"type": "string", "enum": list(FEATURE_DESCRIPTIONS)},
                             field="policy.value_score"),
    "insiders_rule": ParamSpec("Who is an Insider", "Insiders", "value: the top of the customers "
                               f"by expected revenue over {HORIZON_WORDS}, with an entry and a "
                               "lower exit bar (default); cluster: the highest-value segment of "
                               "the clustering (the study's rule)",
                               {"type": "string", "enum": list(INSIDERS_RULES)},
                               field="insiders_rule", flag='--insiders'),
    "value_model": ParamSpec("Ranking of the tier", "Insiders", "What ranks the customers: "
                             "auto (the default: each month the best of the others at the "
                             "run's own back-test, changed only when another wins by a margin; "
                             "the forecasts come from the blend), blend, gbm (gradient boosting "
                             "on earlier months), bgnbd (BG/NBD + Gamma-Gamma) or "
                             "revenue_so_far (the plain rule)",
                             {"type": "string", "enum": list(VALUE_MODEL_CHOICES)},
                             field="value_model"),
    "entry_share": ParamSpec("Entry bar", "Insiders", "Customers enter when ranked within this "
                             "share of the active customers (0.2: the top 20%)",
                             {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                             field="membership.entry_share"),
    "exit_share": ParamSpec("Exit bar", "Insiders", "Members stay while ranked within this "
                            "share (lower than the entry bar: members are not dropped for a "
                            "small dip)", {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                            field="membership.exit_share"),
    "grace_months": ParamSpec("Months of grace", "Insiders", "Months in a row below the exit bar "
                              "a member is kept before leaving (0: leave at once)",
                              {"type": "integer", "minimum": 0, "maximum": 12},
                              field="membership.grace_months"),
    "active_days": ParamSpec("Active customers", "Insiders", "A customer is active when their "
                             "last purchase is at most this many days old: the bars are shares "
                             "of the active customers, and a member who stops being active "
                             "leaves", {"type": "integer", "minimum": 1},
                             field="membership.active_days"),
    "smoothing": ParamSpec("Smoothing of a model's score", "Insiders", "When a value model "
                           "ranks, this month's weight in the score it ranks by (the rest: "
                           "last month's score), so a model's month-to-month noise moves "
                           "nobody across a bar; 1: none. Revenue so far is not smoothed",
                           {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                           field="membership.smoothing"),
    "max_staleness_days": ParamSpec("Most days of stale data", "Filters", "Refuse a run whose "
                                    "reference date is more than this many days after the "
                                    "data's last purchase (or before its first)",
                                    {"type": "integer", "minimum": 0}, field="max_staleness_days"),
    "replay_months": ParamSpec("Months replayed", "Report", "Earlier months replayed for the "
                               "report's history (entries, exits, back-tests)",
                               {"type": "integer", "minimum": 1, "maximum": 11}, field="replay_months"),
    "stability_sample_size": ParamSpec("Customers in the stability check", "Report", "The "
                                       "report's bootstrap refits of the chosen model draw from "
                                       "a seeded sample of this many customers when there are "
                                       "more (time and memory stay bounded)",
                                       {"type": "integer", "minimum": 1}, field="stability_sample_size"),
}

#: Params of a run that are not choices of the method: where and when.
RUN_PARAMS = frozenset({"source", "reference_date", "reuse_spaces"})

#: Params whose default is the preset's data rule (:data:`insiders.presets.STUDY_RULES`).
PRESET_RULE_PARAMS = ("min_unit_price", "excluded_customers")


def form_defaults() -> dict[str, Any]:
    """The params' defaults as a form or the CLI offers them: the preset's rules left empty,
    so that they follow the preset chosen with them."""
    return {**RunConfig().to_params(), **dict.fromkeys(PRESET_RULE_PARAMS)}
