"""The run's report: the nine questions answered with numbers and plots, as a self-contained
HTML page and its Markdown twin, plus the answers and forecast tables for the warehouse.

The numbers are computed once (:class:`Findings`); the answers table and the templates'
context (:func:`report_context`, raw values) are read from them; the templates
``insiders/templates/report.{md,html}.j2`` print every value with its formatter
(:mod:`insiders.formats`). Plots are computed apart and inlined in the HTML."""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from insiders import answers, artifacts, formats, plots, templating
from insiders.errors import RunFolderError
from insiders.headers import HEADERS
from insiders.kept_lines import load_lines
from insiders.options import STUDY_FEATURES
from insiders.ranking import INSIDERS, TOP_BY_PAST_REVENUE, TOP_BY_RFM
from insiders.ranking_choice import RANKING_WORDS
from insiders.schema import CUSTOMER_KEY, key_column

logger = logging.getLogger(__name__)

#: The kept lines' columns the report reads (revenue per month).
LINE_COLUMNS = ("customer_id", "invoice_date", "quantity", "unit_price", "is_return")

QUESTIONS = {
    1: "Who is eligible for Insiders?",
    2: "How many customers are in the group?",
    3: "What are their main characteristics?",
    4: "What share of revenue comes from Insiders?",
    5: "What revenue is expected from the group in the coming months?",
    6: "What are the conditions to become an Insider?",
    7: "What are the conditions to be removed?",
    8: "What guarantees that Insiders are better than the rest?",
    9: "What can marketing do to raise revenue?",
}


@dataclass
class ReportInputs:
    """What the report reads from a run folder."""

    lines: pd.DataFrame
    features: pd.DataFrame
    segments: pd.DataFrame
    profiles: pd.DataFrame
    scores: pd.DataFrame
    quarantine: pd.DataFrame
    embeddings: pd.DataFrame
    selection: dict[str, Any]
    facts: dict[str, Any]
    #: the back-test stage's tables (:class:`insiders.lookback.Lookback`, as written)
    backtest: BacktestTables | None = None
    #: the data-quality checks' counts (None for a folder made before them)
    quality: pd.DataFrame | None = None


@dataclass
class BacktestTables:
    """What the back-test stage wrote (see :mod:`insiders.lookback`)."""

    facts: dict[str, Any]  # replayed, selected_then, stability
    tiers: pd.DataFrame  # reference_date, customer_id: each replayed month's Insiders
    changes: pd.DataFrame
    exits: pd.DataFrame
    out_of_time: pd.DataFrame | None
    capture: pd.DataFrame
    #: the value model's forecasts beside what followed (None: a folder made before them)
    forecast_errors: pd.DataFrame | None = None
    #: mean forecast and mean actual per decile at the last complete month (None: as above)
    calibration: pd.DataFrame | None = None

    @property
    def selected_then(self) -> pd.Timestamp | None:
        day = self.facts.get("selected_then")
        return pd.Timestamp(day) if day else None

    def insiders_of(self, day: pd.Timestamp) -> pd.Index:
        """The Insiders the replay chose as of ``day``."""
        rows = self.tiers[self.tiers["reference_date"] == day.date().isoformat()]
        return pd.Index(rows["customer_id"], name="customer_id")


def load_inputs(run_dir: str) -> ReportInputs:
    """Read the run folder's tables (see :mod:`insiders.run_folder`)."""
    from insiders import run_folder

    def frame(name: str) -> pd.DataFrame:
        return artifacts.load_frame(run_folder.path(run_dir, name))

    def present(name: str) -> bool:
        return artifacts.exists(run_folder.path(run_dir, name))

    backtest = None
    if present("backtest"):
        backtest = BacktestTables(
            facts=artifacts.load_json(run_folder.path(run_dir, "backtest")),
            tiers=frame("replayed_insiders").astype({"reference_date": str}),
            changes=frame("membership_changes").astype({"reference_date": str}),
            exits=frame("membership_exits"),
            out_of_time=frame("out_of_time") if present("out_of_time") else None,
            capture=frame("rule_capture").astype({"cut_date": str}),
            forecast_errors=(frame("forecast_errors").astype({"cut_date": str})
                             if present("forecast_errors") else None),
            calibration=frame("calibration") if present("calibration") else None)
    return ReportInputs(
        lines=load_lines(run_dir, LINE_COLUMNS), features=frame("features"), segments=frame("segments"),
        profiles=frame("profiles"), scores=frame("scores"), quarantine=frame("quarantine"),
        embeddings=frame("embeddings"), selection=artifacts.load_json(run_folder.path(run_dir, "selection")),
        facts=artifacts.load_json(run_folder.path(run_dir, "facts")), backtest=backtest,
        quality=frame("quality") if present("quality") else None,
    )


@dataclass
class Findings:
    """The numbers and tables that answer the nine questions, unformatted."""

    inputs: ReportInputs
    reference: pd.Timestamp
    feature_names: list[str]
    n_insiders: int
    n_customers: int
    share_customers: float
    share_revenue: float
    revenue_insiders: float
    vs_rest: pd.DataFrame
    forecast: answers.Forecast
    selected_then: pd.Timestamp | None  # None: no earlier month to select on (a first month)
    rules: answers.Rules
    changes: pd.DataFrame
    exits: pd.DataFrame
    test: dict[str, float]
    oot: pd.DataFrame | None
    beats_top: bool | None
    beats_rfm: bool | None
    stability: dict[str, float]
    todo: pd.DataFrame
    #: the value model's expected revenue of the current Insiders, next 91 days (value rule)
    value_expected: float | None = None
    #: the same for every customer
    value_expected_all: float | None = None
    #: per group (Insiders, Everyone): the lowest and highest actual / forecast ratio at the
    #: earlier cuts whose 91 days are complete, and how many cuts
    forecast_ranges: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    #: per group: where the next ratio is likely to fall (:func:`insiders.answers.ratio_interval`)
    forecast_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: whether the cuts measured span less than a year, so a yearly peak is not in the ranges
    season_unseen: bool = True
    #: the ranking judged at the last complete month: normalized Gini (model, past revenue)
    ranking: dict[str, Any] = field(default_factory=dict)
    #: mean forecast and mean actual per decile of forecast there (empty: none known)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the per-run back-test: share of the next 91 days, per rule and replayed month
    capture: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["rule", "cut_date", "share"]))


@dataclass
class Report:
    """Everything the report says, before it is written."""

    answers: pd.DataFrame  # question, metric, value, text
    forecasts: pd.DataFrame  # month, model, expected_revenue, naive_revenue
    findings: Findings
    plots: dict[str, bytes]
    currency: str = formats.DEFAULT_CURRENCY  # ISO code of the amounts ("": none given)

    @property
    def context(self) -> dict[str, Any]:
        """What the templates print (see :func:`report_context`)."""
        return report_context(self.findings)

    @property
    def markdown(self) -> str:
        return render_markdown(self.context, self.currency)

    @property
    def html(self) -> str:
        return render_html(self.context, self.plots, self.currency)


def _answer(rows: list[dict], question: int, metric: str, value: float | None = None,
            text: str | None = None) -> None:
    rows.append({"question": question, "metric": metric,
                 "value": None if value is None else float(value), "text": text})


def build_report(inputs: ReportInputs, *, random_state: int = 42,
                 currency: str | None = None) -> Report:
    """Answer the nine questions from a run's tables (the back-test stage's included).

    Args:
        inputs: the run's tables.
        random_state: seed of the rules' tree and the revenue test.
        currency: ISO code of the amounts, for the text and the plots ("": none given); by
            default the run's (``facts.json``).
    """
    if currency is None:
        currency = inputs.facts.get("currency", "")
    if inputs.backtest is None:
        raise RunFolderError("the run folder has no back-test tables (backtest.json): run the "
                           "backtest stage before the report")
    looked = inputs.backtest
    features, segments, profiles = inputs.features, inputs.segments, inputs.profiles
    feature_names = shown_features(inputs.facts.get("features") or STUDY_FEATURES, features)
    reference = pd.Timestamp(inputs.facts["reference_date"])
    is_insider = segments["is_insider"].reindex(features.index, fill_value=False)
    insiders = features.index[is_insider.to_numpy()]
    revenue = features["gross_revenue"]

    expected = (segments["expected_revenue"] if "expected_revenue" in segments
                and segments["expected_revenue"].notna().any() else None)  # the value rule's
    series = answers.monthly_revenue(inputs.lines, insiders, reference)
    forecast = _forecast(inputs.lines, series, looked, reference)

    # Q6, Q7, Q8, Q9
    oot = looked.out_of_time
    per_customer = oot.set_index("group")["revenue_per_customer"] if oot is not None else None
    findings = Findings(
        inputs=inputs, reference=reference, feature_names=feature_names,
        n_insiders=len(insiders), n_customers=len(features),
        share_customers=float(is_insider.mean()),
        share_revenue=float(revenue[is_insider].sum() / revenue.sum()),
        revenue_insiders=float(revenue[is_insider].sum()),
        vs_rest=answers.profile_vs_rest(features, is_insider, feature_names), forecast=forecast,
        selected_then=looked.selected_then,
        rules=answers.membership_rules(features, is_insider, feature_names,
                                       random_state=random_state),
        changes=looked.changes, exits=looked.exits,
        test=answers.revenue_test(features, is_insider, random_state=random_state), oot=oot,
        capture=looked.capture,
        value_expected=None if expected is None else float(expected.loc[insiders].sum()),
        value_expected_all=None if expected is None else float(expected.sum()),
        forecast_ranges=forecast_ranges(looked.forecast_errors),
        forecast_intervals=forecast_intervals(looked.forecast_errors),
        season_unseen=season_unseen(looked.forecast_errors, reference),
        ranking=looked.facts.get("ranking") or {},
        calibration=(looked.calibration if looked.calibration is not None
                     and not looked.calibration.empty else pd.DataFrame()),
        beats_top=None if per_customer is None else
        bool(per_customer[INSIDERS] > per_customer[TOP_BY_PAST_REVENUE]),
        beats_rfm=None if per_customer is None else
        bool(per_customer[INSIDERS] > per_customer[TOP_BY_RFM]),
        stability=looked.facts["stability"],
        todo=answers.actions(profiles, features.mean(numeric_only=True)))
    forecasts = pd.DataFrame({
        "month": pd.PeriodIndex(forecast.forecast["month"], freq="M").to_timestamp(),
        "model": forecast.method, "expected_revenue": forecast.forecast["expected"],
        "naive_revenue": forecast.forecast["naive"]})
    return Report(answers=answers_table(findings), forecasts=forecasts, findings=findings,
                  plots=_drawn(findings, series, currency), currency=currency)


def _forecast(lines: pd.DataFrame, series: pd.Series, looked: BacktestTables,
              reference: pd.Timestamp, horizon: int = 3) -> answers.Forecast:
    """Q5: the Insiders' revenue forecast, back-tested on the group the replay chose three
    months earlier (the oldest replayed month when fewer; none on a shop's first month)."""
    back_series = actual = None
    if looked.selected_then is not None:
        then_insiders = looked.insiders_of(looked.selected_then)
        back_series = answers.monthly_revenue(lines, then_insiders, looked.selected_then)
        actual_all = answers.monthly_revenue(lines, then_insiders, reference)
        if len(back_series):
            actual = actual_all[actual_all.index > back_series.index[-1]].iloc[:horizon]
    return answers.forecast_revenue(series, back_series, actual, horizon=horizon)


#: Features that only returns fill: a shop whose export holds no return is shown none of them.
RETURN_FEATURES = ("qty_returned", "n_returns", "value_returned")


def forecast_ranges(errors: pd.DataFrame | None) -> dict[str, tuple[float, float, int]]:
    """Per group: the lowest and the highest actual / forecast ratio at the earlier cuts
    whose 91 days are complete, and how many there were (none: an empty dict)."""
    if errors is None or errors.empty:
        return {}
    ranges = {}
    for group, rows in errors.dropna(subset=["ratio"]).groupby("group", sort=False):
        ranges[str(group)] = (float(rows["ratio"].min()), float(rows["ratio"].max()), len(rows))
    return ranges


def forecast_intervals(errors: pd.DataFrame | None) -> dict[str, tuple[float, float]]:
    """Per group: the interval the next actual / forecast ratio is likely to fall in, from the
    ratios at the earlier cuts (:func:`insiders.answers.ratio_interval`; two cuts at least)."""
    if errors is None or errors.empty:
        return {}
    found = {str(group): answers.ratio_interval(rows["ratio"])
             for group, rows in errors.dropna(subset=["ratio"]).groupby("group", sort=False)}
    return {group: interval for group, interval in found.items() if interval is not None}


def season_unseen(errors: pd.DataFrame | None, reference: pd.Timestamp) -> bool:
    """Whether the forecast's measured cuts span less than a year before the run, so that
    their ratios cannot show a yearly peak."""
    if errors is None or errors.empty:
        return True
    return pd.Timestamp(errors["cut_date"].min()) > reference - pd.Timedelta(days=365)


def shown_features(names: list[str] | tuple[str, ...], features: pd.DataFrame) -> list[str]:
    """The features the report presents: what the export lacks is left out (a shop without
    any return gets no "units returned" column or plot; it is 0 for every customer)."""
    no_returns = all(not features[c].any() for c in RETURN_FEATURES if c in features)
    return [n for n in names if not (no_returns and n in RETURN_FEATURES)]


def _drawn(f: Findings, series: pd.Series, currency: str) -> dict[str, bytes]:
    """The report's plots as PNG bytes, by file name under ``plots/``."""
    inputs = f.inputs
    features, segments, chosen = inputs.features, inputs.segments, inputs.selection["chosen"]
    embedding = answers.map_coordinates(features, inputs.embeddings, chosen["space"],
                                        f.feature_names)
    figures = {
        "embedding.png": plots.plot_embedding(embedding, segments.reindex(features.index), chosen,
                                              f.feature_names, currency=currency),
        "features_by_segment.png": plots.plot_features(features, segments, f.feature_names,
                                                       currency=currency),
        "shares.png": plots.plot_shares(inputs.profiles),
        "forecast.png": plots.plot_forecast(series, f.forecast, currency=currency),
        "membership.png": plots.plot_membership(f.changes),
    }
    if not f.calibration.empty:
        figures["calibration.png"] = plots.plot_calibration(f.calibration, currency=currency)
    return {name: plots.png(fig) for name, fig in figures.items()}


def answers_table(f: Findings) -> pd.DataFrame:
    """The answers' numbers (and texts), one row per (question, metric), for the warehouse."""
    rows: list[dict] = []
    _answer(rows, 1, "insiders_csv", text="insiders.csv")
    _answer(rows, 2, "insiders", f.n_insiders)
    _answer(rows, 2, "customers", f.n_customers)
    _answer(rows, 4, "share_revenue", f.share_revenue)
    _answer(rows, 4, "share_customers", f.share_customers)
    _answer(rows, 4, "revenue_insiders", f.revenue_insiders)
    for name in f.feature_names:
        _answer(rows, 3, f"median_{name}_insiders", f.vs_rest.loc[name, "insiders_median"])
        _answer(rows, 3, f"median_{name}_rest", f.vs_rest.loc[name, "rest_median"])
    forecast = f.forecast
    _answer(rows, 5, "expected_revenue_next_3_months", forecast.forecast["expected"].sum())
    _answer(rows, 5, "naive_revenue_next_3_months", forecast.forecast["naive"].sum())
    if f.value_expected is not None:
        _answer(rows, 5, "value_model_revenue_next_91_days", f.value_expected)
        _answer(rows, 5, "value_model_revenue_next_91_days_everyone", f.value_expected_all)
    if f.ranking:
        _answer(rows, 8, "normalized_gini_value_model", f.ranking["normalized_gini_model"],
                f"ranking at {f.ranking['cut_date']} against the next 91 days")
        _answer(rows, 8, "normalized_gini_past_revenue", f.ranking["normalized_gini_past_revenue"])
    for group, (low, high, cuts) in f.forecast_ranges.items():
        label = "everyone" if group == "Everyone" else "insiders"
        _answer(rows, 5, f"forecast_actual_ratio_low_{label}", low,
                f"at {cuts} earlier cuts the actual was {low:.2f}-{high:.2f}x the forecast")
        _answer(rows, 5, f"forecast_actual_ratio_high_{label}", high)
    for group, (low, high) in f.forecast_intervals.items():
        label = "everyone" if group == "Everyone" else "insiders"
        _answer(rows, 5, f"forecast_ratio_interval_low_{label}", low,
                f"the next ratio likely ({answers.INTERVAL_LEVEL:.0%}) within {low:.2f}-{high:.2f}x")
        _answer(rows, 5, f"forecast_ratio_interval_high_{label}", high)
    if forecast.backtest is not None:
        _answer(rows, 5, "backtest_mape_model", forecast.model_mape)
        _answer(rows, 5, "backtest_mape_naive", forecast.naive_mape)
        _answer(rows, 5, "backtest_mae_model", forecast.model_mae)
        _answer(rows, 5, "backtest_mae_naive", forecast.naive_mae)
    _answer(rows, 6, "rules_precision", f.rules.precision, "\n".join(f.rules.enter))
    _answer(rows, 6, "rules_recall", f.rules.recall)
    last = f.changes.iloc[-1]
    _answer(rows, 7, "left_last_month", last["left"], "\n".join(f.rules.leave))
    _answer(rows, 7, "entered_last_month", last["entered"])
    _answer(rows, 7, "stayed_share_last_month", last["stayed_share"])
    for key in ("p_value", "mean_difference", "ci_low", "ci_high"):
        _answer(rows, 8, key, f.test[key])
    for r in (f.oot.itertuples() if f.oot is not None else ()):
        slug = _slug(r.group)
        _answer(rows, 8, f"oot_revenue_per_customer_{slug}", r.revenue_per_customer)
        _answer(rows, 8, f"oot_share_{slug}", r.share_of_revenue_after)
    for r in f.capture.itertuples():
        _answer(rows, 8, f"backtest_share_{_slug(r.rule)}_{r.cut_date}", r.share)
    if f.oot is not None:
        _answer(rows, 8, "beats_top_n_by_revenue", float(f.beats_top))
        _answer(rows, 8, "beats_rfm", float(f.beats_rfm))
    _answer(rows, 8, "stability_insiders_jaccard", f.stability["insiders_jaccard"])
    for r in f.todo.itertuples():
        _answer(rows, 9, f"segment_{r.segment_id}", r.share_revenue, f"{r.segment_name}: {r.actions}")
    return pd.DataFrame(rows)


# --- text ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A table column: the row key, its header and the kind of its values (see
    :func:`insiders.formats.fmt`); kind ``feature`` formats by the feature named in the row's
    ``feature`` cell. The header defaults to :data:`HEADERS`, else the key."""

    key: str
    kind: str = "text"
    header: str | None = None

    @property
    def title(self) -> str:
        return self.header or HEADERS.get(self.key, self.key)

    @property
    def numeric(self) -> bool:
        return self.kind not in ("text", "id")


@dataclass
class Table:
    """Rows of raw values and how to print each column; rows whose ``highlight`` key is true
    stand out (the chosen model)."""

    columns: list[Column]
    rows: list[dict[str, Any]]
    highlight: str | None = None

    @classmethod
    def of(cls, frame: pd.DataFrame, kinds: dict[str, str], highlight: str | None = None) -> Table:
        """The columns of ``frame`` named in ``kinds``, in that order; each row keeps all of
        ``frame``'s values (a ``feature`` kind reads the row's ``feature``)."""
        wanted = [*kinds, *([highlight] if highlight else [])]
        missing = [key for key in wanted if key not in frame.columns]
        if missing:
            raise KeyError(f"no column {missing} in the table")
        return cls([Column(k, kind) for k, kind in kinds.items()], frame.to_dict("records"),
                   highlight)


def _features_table(names: list[str], prefix: str = "") -> dict[str, str]:
    return {f"{prefix}{n}": formats.FEATURE_KINDS.get(n, "number:2") for n in names}


_FEATURE_WORD = re.compile(r"\b(" + "|".join(sorted(formats.FEATURE_KINDS, key=len,
                                                    reverse=True)) + r")\b")


def readable(text: str) -> str:
    """Feature names in a rule written as a reader's words (``recency_days <= 25`` ->
    ``days since last purchase <= 25``)."""
    return _FEATURE_WORD.sub(lambda m: HEADERS[m.group(1)].lower(), text)


def model_comparison(scores: pd.DataFrame, chosen: dict[str, Any], best: int = 8) -> pd.DataFrame:
    """The ``best`` candidates by silhouette, plus the chosen one wherever it ranks, with its
    rank and a ``chosen`` flag."""
    ranked = scores.assign(rank=scores["silhouette"].rank(ascending=False, method="min"))
    ranked = ranked.sort_values("rank", kind="stable")
    ranked["chosen"] = ranked["candidate"] == chosen["candidate"]
    if not ranked["chosen"].any():  # not in the table: its own row, unranked
        row = {k: chosen.get(k) for k in ranked.columns if k not in ("rank", "chosen")}
        ranked = pd.concat([ranked, pd.DataFrame([{**row, "rank": None, "chosen": True}])])
    shown = ranked.head(best)
    if not shown["chosen"].any():
        shown = pd.concat([shown, ranked[ranked["chosen"]]])
    return shown.reset_index(drop=True)


def _slug(label: str) -> str:
    """An answer's metric name from a row label: "Top N by past revenue (...)" ->
    ``top_n_by_past_revenue``."""
    return re.sub(r"[^a-z0-9]+", "_", label.split(" (")[0].lower()).strip("_")


def summary(f: Findings) -> dict[str, Any]:
    """The plain summary's numbers: this month's and last month's Insiders, who joined and
    who left (Q7's last change), and the actions for the segments bringing most revenue."""
    changes = f.changes
    last = changes.iloc[-1]
    previous = changes.iloc[-2] if len(changes) >= 2 else None
    top = f.todo.sort_values("share_revenue", ascending=False, kind="stable").head(3)
    return {
        "previous_date": None if previous is None else str(previous["reference_date"]),
        "previous_insiders": None if previous is None else previous["insiders"],
        "joined": None if previous is None else last["entered"],
        "left": None if previous is None else last["left"],
        "stayed_share": None if previous is None else last["stayed_share"],
        "actions": top.to_dict("records"),
    }


def answer_kind(metric: str) -> str:
    """How the report prints an answer's value (a kind of :func:`insiders.formats.fmt`)."""
    exact = {"insiders": "count", "customers": "count", "left_last_month": "count",
             "entered_last_month": "count", "p_value": "p_value",
             "stability_insiders_jaccard": "number:2", "insiders_csv": "text"}
    if metric in exact:
        return exact[metric]
    if metric.startswith(("forecast_actual_ratio_", "forecast_ratio_interval_")):
        return "number:2"
    if metric.startswith("normalized_gini_"):
        return "number:3"
    if metric.startswith("median_"):
        name = metric.removeprefix("median_").rsplit("_", 1)[0]
        return formats.FEATURE_KINDS.get(name, "number:2")
    if metric.startswith("beats_"):
        return "flag"
    if "share" in metric or "mape" in metric or metric.startswith(("rules_", "segment_")):
        return "share"
    return "money"  # revenues, errors in revenue, differences of mean revenue


def report_context(f: Findings) -> dict[str, Any]:
    """What the templates print, from the run's findings: raw values and tables (the
    templates format them)."""
    inputs, reference, chosen = f.inputs, f.reference, f.inputs.selection["chosen"]
    return {
        "title": f"Insiders report — run month {reference:%Y-%m} (as of {reference.date()})",
        "reference": reference.date().isoformat(), "facts": inputs.facts,
        "selection": inputs.selection, "chosen": chosen, "questions": QUESTIONS,
        "assign_rule": chosen.get("assign_rule") or "the segment of the nearest sampled customer",
        "membership": {"rule": "cluster", **inputs.selection.get("membership", {})},
        **_who(f), **_expected(f), **_guarantees(f), **_how_chosen(f),
        "ranking_table": ranking_table(inputs.selection.get("membership", {}).get("ranking")),
        "ranked_by_words": _ranked_by_words(inputs.selection.get("membership", {})),
        "actions": Table.of(f.todo, {"segment_id": "id", "segment_name": "text",
                                     "customers": "count", "share_revenue": "share",
                                     "actions": "text"}),
        "summary": summary(f), "plots": plots.PLOTS,
    }


def _ranked_by_words(membership: dict[str, Any]) -> str | None:
    """What ranked the Insiders, in words (None: the value model named, or the cluster rule)."""
    ranked_by = (membership.get("ranking") or {}).get("ranked_by")
    return RANKING_WORDS.get(ranked_by, ranked_by) if ranked_by else None


def ranking_table(ranking: dict[str, Any] | None) -> Table | None:
    """The rankings' capture at the months the tier's choice looked at (``value_model="auto"``),
    the one followed highlighted; None without such a choice or without a measured month."""
    if not ranking or not ranking.get("cuts"):
        return None
    cuts = ranking["cuts"]
    frame = pd.DataFrame([{"ranking": RANKING_WORDS.get(name, name),
                           **dict(zip(cuts, shares, strict=True)),
                           "mean": float(np.mean(shares)),
                           "followed": name == ranking["ranked_by"]}
                          for name, shares in ranking["capture"].items()])
    return Table([Column("ranking", "text", "ranking"),
                  *[Column(c, "share", f"captured after {c}") for c in cuts],
                  Column("mean", "share", "mean")], frame.to_dict("records"), "followed")


def _who(f: Findings) -> dict[str, Any]:
    """Q1-Q4: who the Insiders are, how many, what sets them apart, their revenue share."""
    inputs = f.inputs
    insiders = inputs.segments.index[inputs.segments["is_insider"]]
    top = (inputs.features.loc[insiders].sort_values("gross_revenue", ascending=False)
           .head(10).reset_index())
    keys = inputs.segments.get(CUSTOMER_KEY)
    keyed = keys is not None and bool((keys != key_column(keys.index, None)).any())
    if keyed:  # the export's keys, e-mails masked (personal data stays in the CSV and warehouse)
        top["customer"] = keys.reindex(top["customer_id"]).map(formats.masked_key).to_numpy()
    quartiles = ("q1", "median", "q3")
    return {
        "n_insiders": f.n_insiders, "n_customers": f.n_customers,
        "share_customers": f.share_customers, "share_revenue": f.share_revenue,
        "revenue_insiders": f.revenue_insiders,
        "top": Table.of(top, {**({"customer": "text"} if keyed else {"customer_id": "id"}),
                              **_features_table(shown_features(STUDY_FEATURES, f.inputs.features))}),
        "vs_rest": Table.of(f.vs_rest.reset_index().assign(
            feature_label=lambda t: t["feature"].map(lambda n: HEADERS.get(n, n))), {
            "feature_label": "text", **{f"{g}_{q}": "feature" for g in ("insiders", "rest")
                                  for q in quartiles}, "median_ratio": "ratio"}),
        "profiles": Table.of(inputs.profiles, {
            "segment_id": "id", "segment_name": "text", "n_customers": "count",
            "share_customers": "share", "share_revenue": "share",
            **({"share_insiders": "share"} if "share_insiders" in inputs.profiles else {}),
            **_features_table(shown_features(STUDY_FEATURES, f.inputs.features), "mean_")}),
    }


def _likely_revenue(f: Findings) -> dict[str, tuple[float, float]]:
    """Per group: the revenue the forecast's interval of ratios makes likely (none without a
    value forecast)."""
    if f.value_expected is None or f.value_expected_all is None:
        return {}
    forecast = {INSIDERS: f.value_expected, "Everyone": f.value_expected_all}
    return {group: (low * forecast[group], high * forecast[group])
            for group, (low, high) in f.forecast_intervals.items() if group in forecast}


def _expected(f: Findings) -> dict[str, Any]:
    """Q5: the revenue expected from the Insiders, and the forecast's own back-test."""
    forecast = f.forecast
    return {
        "forecast": forecast, "value_expected": f.value_expected,
        "value_expected_all": f.value_expected_all, "forecast_ranges": f.forecast_ranges,
        "forecast_intervals": _likely_revenue(f),
        "interval_level": f"{answers.INTERVAL_LEVEL:.0%}", "season_unseen": f.season_unseen,
        "expected_revenue": float(forecast.forecast["expected"].sum()),
        "naive_revenue": float(forecast.forecast["naive"].sum()),
        "forecast_table": Table.of(forecast.forecast,
                                   {"month": "text", "expected": "money", "naive": "money"}),
        "backtest_table": None if forecast.backtest is None else Table.of(forecast.backtest, {
            "month": "text", "actual": "money", "model": "money", "naive": "money"}),
        "selected_then": f.selected_then.date().isoformat() if f.selected_then else None,
        "model_better": forecast.backtest is not None and forecast.model_mape < forecast.naive_mape,
    }


def _guarantees(f: Findings) -> dict[str, Any]:
    """Q6-Q8: the conditions to enter and leave, and what says the Insiders are better."""
    exit_median = None
    if not f.exits.empty:
        exit_median = f.exits[["recency_days", "gross_revenue", "n_lines", "frequency"]].median()
    return {
        "rules": f.rules,
        "enter_rules": [readable(line) for line in f.rules.enter],
        "leave_rules": [readable(line) for line in f.rules.leave],
        "changes": Table.of(f.changes, {"reference_date": "text", "insiders": "count",
                                        "entered": "count", "left": "count",
                                        "stayed_share": "share"}),
        "exit_median": exit_median,
        "test": f.test, "oot": None if f.oot is None else Table.of(f.oot, {
            "group": "text", "customers": "count", "revenue_after": "money",
            "revenue_per_customer": "money", "share_of_revenue_after": "share"}),
        "capture": Table.of(
            f.capture.pivot(index="rule", columns="cut_date", values="share")
            .reindex(list(dict.fromkeys(f.capture["rule"]))).rename_axis("selected_by")
            .reset_index(),
            {"selected_by": "text", **{d: "share" for d in sorted(set(f.capture["cut_date"]))}})
        if not f.capture.empty else None,
        "beats_top": f.beats_top, "beats_rfm": f.beats_rfm, "stability": f.stability,
        "ranking": f.ranking,
        "not_beaten": [rule for rule, beaten in (("the top customers by past revenue", f.beats_top),
                                                 ("the top RFM scores", f.beats_rfm))
                       if beaten is False],
    }


def _how_chosen(f: Findings) -> dict[str, Any]:
    """How this was chosen: the models compared, the data and what the filters removed."""
    inputs = f.inputs
    return {
        "n_candidates": len(inputs.scores),
        "n_segments": int(inputs.segments["segment_id"].nunique()),
        "left_out": [{"candidate": r.candidate, "reason": r.left_out}
                     for r in inputs.scores.itertuples()
                     if isinstance(getattr(r, "left_out", None), str) and r.left_out],
        "data_from": inputs.facts.get("first_line"),
        "scores": Table.of(model_comparison(inputs.scores, inputs.selection["chosen"]), {
            "candidate": "text", "rank": "count", "n_clusters": "count", "noise_share": "share",
            "silhouette": "number:4", "davies_bouldin": "number:4",
            "calinski_harabasz": "number:1"}, highlight="chosen"),
        "removed": Table.of(inputs.quarantine[inputs.quarantine["lines_removed"] > 0], {
            "rule": "text", "description": "text", "lines_removed": "count"}),
        "quality": None if inputs.quality is None else Table.of(
            inputs.quality[(inputs.quality["kind"] == "line") & (inputs.quality["lines"] > 0)], {
                "rule": "text", "description": "text", "action": "text", "lines": "count"}),
    }


def render_markdown(context: dict[str, Any], currency: str = formats.DEFAULT_CURRENCY) -> str:
    """The report as Markdown (plots linked as ``plots/<name>``)."""
    return templating.render("report.md.j2", context, currency=currency)


def render_html(context: dict[str, Any], plots: dict[str, bytes],
                currency: str = formats.DEFAULT_CURRENCY) -> str:
    """The report as one self-contained HTML page (plots inlined, values autoescaped)."""
    uris = {name: "data:image/png;base64," + base64.b64encode(data).decode()
            for name, data in plots.items()}
    return templating.render("report.html.j2", {**context, "plot_uris": uris}, currency=currency)


def write_report(report: Report, run_dir: str) -> dict[str, str]:
    """Write report.md, report.html, plots/*.png, answers.csv and forecasts.csv."""
    def put(name: str, data: bytes) -> str:
        return artifacts.write_bytes(artifacts.join(run_dir, name), data)

    out = {name: put(f"plots/{name}", data) for name, data in report.plots.items()}
    out["report_md"] = put("report.md", report.markdown.encode())
    out["report_html"] = put("report.html", report.html.encode())
    out["answers"] = artifacts.save_frame(report.answers, artifacts.join(run_dir, "answers.csv"),
                                          index=False)
    out["forecasts"] = artifacts.save_frame(report.forecasts,
                                            artifacts.join(run_dir, "forecasts.csv"), index=False)
    return out
