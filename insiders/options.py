"""The choices a run can be given, importable without pandas (the DAG file reads them at parse time)."""

from __future__ import annotations

from insiders.models import REGISTRY

#: Every feature built per customer, with its meaning.
FEATURE_DESCRIPTIONS: dict[str, str] = {
    "gross_revenue": "sum of quantity x unit price over purchase lines",
    "recency_days": "days from the last purchase to the reference date",
    "n_lines": "number of purchase lines (the study's 'products bought')",
    "frequency": "purchase invoices per 30 days since the first purchase (at least 30 days)",
    "frequency_study": "the study's frequency: invoices per day between first and last purchase "
    "(+1 day; a one-off buyer scores 1.0)",
    "qty_returned": "units returned (sum of -quantity over return lines)",
    "n_invoices": "number of purchase invoices",
    "n_items": "units bought",
    "n_products": "distinct stock codes bought",
    "avg_ticket": "mean revenue per purchase line",
    "avg_basket_size": "mean units per purchase invoice",
    "avg_unique_basket_size": "mean distinct stock codes per purchase invoice",
    "avg_days_between_purchases": "mean days between purchase days (NaN with one purchase day)",
    "n_returns": "number of return lines",
    "value_returned": "revenue of return lines, as a positive amount",
}

#: The study's five final features, used for clustering by default.
STUDY_FEATURES: tuple[str, ...] = (
    "gross_revenue",
    "recency_days",
    "n_lines",
    "frequency",
    "qty_returned",
)

#: Anonymous lines: drop them, or one made-up customer per anonymous invoice (the study).
ANONYMOUS_POLICIES: tuple[str, ...] = ("exclude", "synthetic")

#: Embedding spaces, in the order they are built.
SPACES: tuple[str, ...] = ("features", "umap", "tsne", "tree")

#: Clustering models compared: the model registry's entries.
MODELS: tuple[str, ...] = tuple(REGISTRY)

#: Model selection rules.
RULES: tuple[str, ...] = ("fixed", "best_silhouette")

#: Feature scalers.
SCALERS: tuple[str, ...] = ("minmax", "standard", "robust", "quantile")

#: The Airflow Asset the monthly DAG updates when a run month is in the warehouse; DAGs that
#: feed other tools (a CRM sync, an email campaign) are scheduled on it.
INSIDERS_LOADED_ASSET = "insiders_month_loaded"

#: Where the customer features' SQL runs (:mod:`insiders.feature_sql`): DuckDB in the
#: process (the default), or a Spark session.
FEATURE_ENGINES = ("duckdb", "spark")
#: A DuckDB memory limit, as DuckDB writes it: ``3GB``, ``500MB``, ``1.5GiB``.
MEMORY_LIMIT_PATTERN = r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)"

#: The seed of every random step of a run, unless the run's ``random_state`` param says another.
DEFAULT_SEED = 42

#: The days after a month's cut over which value is forecast and the Insiders' capture is
#: measured ("the next three months").
HORIZON_DAYS = 91
#: The same in words, for the reasons and the params' help.
HORIZON_WORDS = "the next 3 months"

#: The value models that rank customers for the tier (:class:`insiders.value.ValueModel`).
VALUE_MODELS: tuple[str, ...] = ("blend", "gbm", "bgnbd")
#: The plain rule as a ranking of the tier: revenue so far (the ``gross_revenue`` feature).
REVENUE_SO_FAR = "revenue_so_far"
#: The rankings the tier can follow, the plain rule first (ties of the back-test go to the
#: earlier); ``value_model="auto"`` chooses among them by the run's own back-test
#: (:mod:`insiders.ranking_choice`).
RANKINGS: tuple[str, ...] = (REVENUE_SO_FAR, "bgnbd", "gbm", "blend")
#: The ``value_model`` that chooses the ranking by the back-test (the default).
AUTO_RANKING = "auto"
#: What the ``value_model`` param takes.
VALUE_MODEL_CHOICES: tuple[str, ...] = (AUTO_RANKING, *VALUE_MODELS, REVENUE_SO_FAR)
