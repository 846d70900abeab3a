"""The run's report: the nine questions answered with numbers and plots, as a self-contained
HTML page and its Markdown twin, plus the answers and forecast tables for the warehouse.

The numbers are computed once (:class:`Findings`); the answers table and the templates'
context (:func:`report_context`, raw values) are read from them; the templates
``insiders/templates/report.{md,html}.j2`` print every value with its formatter
(:mod:`insiders.formats`). Plots are computed apart and inlined in the HTML."""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insiders import answers, artifacts, formats, templating
from insiders.config import MembershipPolicy
from insiders.history import monthly_reference_dates, replay
from insiders.models import Candidate
from insiders.parallel import side_by_side
from insiders.progress import stage

logger = logging.getLogger(__name__)

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


def load_inputs(run_dir: str) -> ReportInputs:
    """Read the run folder's tables (see :mod:`insiders.run_folder`)."""
    from insiders import run_folder

    def frame(name: str) -> pd.DataFrame:
        return artifacts.load_frame(run_folder.path(run_dir, name))

    return ReportInputs(
        lines=frame("lines"), features=frame("features"), segments=frame("segments"),
        profiles=frame("profiles"), scores=frame("scores"), quarantine=frame("quarantine"),
        embeddings=frame("embeddings"),
        selection=artifacts.load_json(run_folder.path(run_dir, "selection")),
        facts=artifacts.load_json(run_folder.path(run_dir, "facts")),
    )


PLOTS = {  # file name under plots/: what it shows
    "embedding.png": "Customers coloured by segment",
    "features_by_segment.png": "Feature distributions by segment",
    "shares.png": "Shares per segment",
    "forecast.png": "Forecast",
    "membership.png": "Membership",
}


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
    selected_then: pd.Timestamp
    rules: answers.Rules
    changes: pd.DataFrame
    exits: pd.DataFrame
    test: dict[str, float]
    oot: pd.DataFrame
    beats_top: bool
    beats_rfm: bool
    stability: dict[str, float]
    todo: pd.DataFrame


@dataclass
class Report:
    """Everything the report says, before it is written."""

    answers: pd.DataFrame  # question, metric, value, text
    forecasts: pd.DataFrame  # month, model, expected_revenue, naive_revenue
    findings: Findings
    plots: dict[str, bytes]

    @property
    def context(self) -> dict[str, Any]:
        """What the templates print (see :func:`report_context`)."""
        return report_context(self.findings)

    @property
    def markdown(self) -> str:
        return render_markdown(self.context)

    @property
    def html(self) -> str:
        return render_html(self.context, self.plots)


def _answer(rows: list[dict], question: int, metric: str, value: float | None = None,
            text: str | None = None) -> None:
    rows.append({"question": question, "metric": metric,
                 "value": None if value is None else float(value), "text": text})


def build_report(inputs: ReportInputs, *, replay_months: int = 5, stability_boot: int = 20,
                 random_state: int = 42) -> Report:
    """Answer the nine questions from a run's tables.

    Args:
        inputs: the run's tables.
        replay_months: months replayed before the run (history, back-tests, out-of-time).
        stability_boot: bootstrap resamples for cluster stability.
        random_state: seed of every random step.
    """
    sel = inputs.selection
    policy, chosen = sel["policy"], sel["chosen"]
    feature_names = list(inputs.facts.get("features") or
                         ["gross_revenue", "recency_days", "n_lines", "frequency", "qty_returned"])
    reference = pd.Timestamp(inputs.facts["reference_date"])
    features, segments, profiles = inputs.features, inputs.segments, inputs.profiles
    is_insider = segments["is_insider"].reindex(features.index, fill_value=False)
    insiders = features.index[is_insider.to_numpy()]
    base = features.mean(numeric_only=True)
    revenue = features["gross_revenue"]
    membership = sel.get("membership", {})
    insiders_rule = membership.get("rule", "cluster")
    bars = MembershipPolicy(**membership["policy"]) if "policy" in membership else None
    # the segment most Insiders belong to (the Insiders segment itself under the cluster rule)
    main_cluster = int(segments.loc[insiders, "cluster"].mode().min())
    vs_rest = answers.profile_vs_rest(features, is_insider, feature_names)

    # history: replay the months before (same features and model) beside the stability check
    candidate = Candidate.from_row(chosen)  # the chosen model exactly (a DBSCAN keeps its eps)
    dates = monthly_reference_dates(reference, replay_months)[:-1]
    emb_cols = [f"{chosen['space']}_x", f"{chosen['space']}_y"]
    if chosen["space"] != "features" and set(emb_cols) <= set(inputs.embeddings.columns):
        embedding = inputs.embeddings.loc[features.index, emb_cols].to_numpy()
    else:
        embedding = features[feature_names].rank(pct=True).to_numpy()
    cluster_of = segments["cluster"].reindex(features.index).to_numpy()
    history_job = (replay, (inputs.lines, dates), dict(
        feature_names=feature_names, space=candidate.space, model=candidate.model,
        param=candidate.param, value_score=policy["value_score"], insiders_rule=insiders_rule,
        value_model=membership.get("value_model") or "blend", membership=bars,
        random_state=random_state))
    stability_job = (answers.bootstrap_stability, (
        embedding, cluster_of, main_cluster), dict(
        model=candidate.model, param=candidate.param, n_boot=stability_boot,
        random_state=random_state))
    with stage(f"replay {len(dates)} earlier months, beside {stability_boot} bootstrap refits"):
        history, stability = side_by_side([history_job, stability_job])
    history.segments[reference] = segments
    history.features[reference] = features
    changes = history.membership_changes()

    # Q5: forecast with a back-test on the group selected three months earlier
    horizon = 3
    selected_then = dates[-horizon] if len(dates) >= horizon else dates[0]
    then = history.segments[selected_then]
    then_insiders = then.index[then["is_insider"]]
    series = answers.monthly_revenue(inputs.lines, insiders, reference)
    back_series = answers.monthly_revenue(inputs.lines, then_insiders, selected_then)
    actual_all = answers.monthly_revenue(inputs.lines, then_insiders, reference)
    actual = actual_all[actual_all.index > back_series.index[-1]].iloc[:horizon]
    forecast = answers.forecast_revenue(series, back_series, actual, horizon=len(actual) or horizon)

    # Q6, Q7, Q8, Q9
    rules = answers.membership_rules(features, is_insider, feature_names,
                                     random_state=random_state)
    test = answers.revenue_test(features, is_insider, random_state=random_state)
    oot = answers.out_of_time(inputs.lines, selected_then, history.features[selected_then],
                              then["is_insider"], reference)
    per_customer = oot.set_index("group")["revenue_per_customer"]
    findings = Findings(
        inputs=inputs, reference=reference, feature_names=feature_names,
        n_insiders=len(insiders), n_customers=len(features),
        share_customers=float(is_insider.mean()),
        share_revenue=float(revenue[is_insider].sum() / revenue.sum()),
        revenue_insiders=float(features.loc[insiders, "gross_revenue"].sum()),
        vs_rest=vs_rest, forecast=forecast, selected_then=selected_then, rules=rules,
        changes=changes, exits=history.exits(), test=test, oot=oot,
        beats_top=bool(per_customer["Insiders"] > per_customer["Top N by past revenue"]),
        beats_rfm=bool(per_customer["Insiders"] > per_customer["Top N by RFM score"]),
        stability=stability, todo=answers.actions(profiles, base))

    plots = {  # computed apart from the text
        "embedding.png": _plot_embedding(embedding, segments.reindex(features.index), chosen),
        "features_by_segment.png": _plot_features(features, segments, feature_names),
        "shares.png": _plot_shares(profiles),
        "forecast.png": _plot_forecast(series, forecast),
        "membership.png": _plot_membership(changes),
    }
    forecasts = pd.DataFrame({
        "month": pd.PeriodIndex(forecast.forecast["month"], freq="M").to_timestamp(),
        "model": forecast.method, "expected_revenue": forecast.forecast["expected"],
        "naive_revenue": forecast.forecast["naive"]})
    return Report(answers=answers_table(findings), forecasts=forecasts, findings=findings,
                  plots=plots)


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
    for r in f.oot.itertuples():
        slug = r.group.split(" (")[0].lower().replace(" ", "_")
        _answer(rows, 8, f"oot_revenue_per_customer_{slug}", r.revenue_per_customer)
        _answer(rows, 8, f"oot_share_{slug}", r.share_of_revenue_after)
    _answer(rows, 8, "beats_top_n_by_revenue", float(f.beats_top))
    _answer(rows, 8, "beats_rfm", float(f.beats_rfm))
    _answer(rows, 8, "stability_insiders_jaccard", f.stability["insiders_jaccard"])
    for r in f.todo.itertuples():
        _answer(rows, 9, f"segment_{r.segment_id}", r.share_revenue, f"{r.segment_name}: {r.actions}")
    return pd.DataFrame(rows)


# --- plots -----------------------------------------------------------------------------------
def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _figure().close(fig)
    return buffer.getvalue()


def _colors(segments: pd.DataFrame) -> dict[int, Any]:
    plt = _figure()
    ids = sorted(segments["segment_id"].unique())
    cmap = plt.get_cmap("tab10")
    return {s: cmap(i % 10) for i, s in enumerate(ids)}


def _plot_embedding(embedding: np.ndarray, segments: pd.DataFrame, chosen: dict) -> bytes:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 5.5))
    colors = _colors(segments)
    for (sid, name), part in segments.groupby(["segment_id", "segment_name"]):
        rows = segments.index.get_indexer(part.index)
        ax.scatter(embedding[rows, 0], embedding[rows, 1], s=4 if name != "Insiders" else 6,
                   color=colors[sid], label=f"{sid}: {name} ({len(part):,})", alpha=0.7)
    ax.set_title(f"Customers in the {chosen['space']} space, coloured by segment "
                 f"({chosen['candidate']})")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(markerscale=3, fontsize=7, loc="best")
    return _png(fig)


def _plot_features(features: pd.DataFrame, segments: pd.DataFrame, names: list[str]) -> bytes:
    plt = _figure()
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 4.2))
    axes = np.atleast_1d(axes)
    joined = features.join(segments[["segment_id", "segment_name"]])
    order = (joined.groupby("segment_id")["gross_revenue"].mean().sort_values(ascending=False)
             .index.tolist())
    for ax, name in zip(axes, names, strict=True):
        data = [joined.loc[joined["segment_id"] == s, name].to_numpy() + 1 for s in order]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(order) + 1), [str(s) for s in order])
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("segment", fontsize=8)
    fig.suptitle("Feature distributions by segment (value + 1, log scale; highest value first)")
    fig.tight_layout()
    return _png(fig)


def _plot_shares(profiles: pd.DataFrame) -> bytes:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    x = np.arange(len(profiles))
    ax.bar(x - 0.2, profiles["share_customers"] * 100, 0.4, label="% of customers")
    ax.bar(x + 0.2, profiles["share_revenue"] * 100, 0.4, label="% of revenue")
    ax.set_xticks(x, [f"{r.segment_id}: {r.segment_name}" for r in profiles.itertuples()],
                  rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("%")
    ax.set_title("Share of customers and of revenue per segment")
    ax.legend()
    return _png(fig)


def _plot_forecast(series: pd.Series, forecast: answers.Forecast) -> bytes:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(series.index.astype(str), series.to_numpy(), marker="o", label="Insiders' revenue")
    f = forecast.forecast
    ax.plot(f["month"], f["expected"], marker="o", linestyle="--", label="forecast (Holt)")
    ax.plot(f["month"], f["naive"], marker="x", linestyle=":", label="naive (last 3 months)")
    b = forecast.backtest
    ax.plot(b["month"], b["model"], marker=".", linestyle="--", alpha=0.6,
            label="back-test forecast (group selected 3 months earlier)")
    ax.plot(b["month"], b["actual"], marker=".", alpha=0.6, label="back-test actual")
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    ax.set_title("Monthly revenue of Insiders: history, forecast and back-test")
    ax.legend(fontsize=7)
    return _png(fig)


def _plot_membership(changes: pd.DataFrame) -> bytes:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = changes["reference_date"].astype(str)
    ax.bar(x, changes["entered"], label="entered", color="tab:green")
    ax.bar(x, -changes["left"], label="left", color="tab:red")
    ax.plot(x, changes["insiders"], marker="o", color="black", label="Insiders")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_title("Insiders month by month (replayed runs): entries and exits")
    ax.tick_params(axis="x", rotation=30, labelsize=7)
    ax.legend(fontsize=7)
    return _png(fig)


# --- text ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A table column: the row key, its header and the kind of its values (see
    :func:`insiders.formats.fmt`); kind ``feature`` formats by the feature named in the row's
    ``feature`` cell."""

    key: str
    kind: str = "text"
    header: str | None = None

    @property
    def title(self) -> str:
        return self.header or self.key

    @property
    def numeric(self) -> bool:
        return self.kind not in ("text", "id")


@dataclass
class Table:
    """Rows of raw values and how to print each column."""

    columns: list[Column]
    rows: list[dict[str, Any]]

    @classmethod
    def of(cls, frame: pd.DataFrame, kinds: dict[str, str]) -> Table:
        """The columns of ``frame`` named in ``kinds``, in that order."""
        return cls([Column(k, kind) for k, kind in kinds.items()],
                   frame[list(kinds)].to_dict("records"))


def _features_table(names: list[str], prefix: str = "") -> dict[str, str]:
    return {f"{prefix}{n}": formats.FEATURE_KINDS.get(n, "number:2") for n in names}


def answer_kind(metric: str) -> str:
    """How the report prints an answer's value (a kind of :func:`insiders.formats.fmt`)."""
    exact = {"insiders": "count", "customers": "count", "left_last_month": "count",
             "entered_last_month": "count", "p_value": "p_value",
             "stability_insiders_jaccard": "number:2", "insiders_csv": "text"}
    if metric in exact:
        return exact[metric]
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
    insiders = inputs.segments.index[inputs.segments["is_insider"]]
    top = (inputs.features.loc[insiders].sort_values("gross_revenue", ascending=False)
           .head(10).reset_index())
    exit_median = None
    if not f.exits.empty:
        exit_median = f.exits[["recency_days", "gross_revenue", "n_lines", "frequency"]].median()
    quartiles = ("q1", "median", "q3")
    return {
        "title": f"Insiders report — run month {reference:%Y-%m} (as of {reference.date()})",
        "reference": reference.date().isoformat(), "facts": inputs.facts,
        "selection": inputs.selection, "chosen": chosen, "questions": QUESTIONS,
        "n_insiders": f.n_insiders, "n_customers": f.n_customers,
        "share_customers": f.share_customers, "share_revenue": f.share_revenue,
        "revenue_insiders": f.revenue_insiders,
        "top": Table.of(top, {"customer_id": "id", **_features_table([
            "gross_revenue", "recency_days", "n_lines", "frequency", "qty_returned"])}),
        "vs_rest": Table.of(f.vs_rest.reset_index(), {
            "feature": "text", **{f"{g}_{q}": "feature" for g in ("insiders", "rest")
                                  for q in quartiles}, "median_ratio": "ratio"}),
        "profiles": Table.of(inputs.profiles, {
            "segment_id": "id", "segment_name": "text", "n_customers": "count",
            "share_customers": "share", "share_revenue": "share",
            **_features_table(["gross_revenue", "recency_days", "n_lines", "frequency",
                               "qty_returned"], "mean_")}),
        "forecast": f.forecast,
        "expected_revenue": float(f.forecast.forecast["expected"].sum()),
        "naive_revenue": float(f.forecast.forecast["naive"].sum()),
        "forecast_table": Table.of(f.forecast.forecast,
                                   {"month": "text", "expected": "money", "naive": "money"}),
        "backtest_table": Table.of(f.forecast.backtest, {
            "month": "text", "actual": "money", "model": "money", "naive": "money"}),
        "selected_then": f.selected_then.date().isoformat(),
        "model_better": f.forecast.model_mape < f.forecast.naive_mape,
        "rules": f.rules,
        "changes": Table.of(f.changes, {"reference_date": "text", "insiders": "count",
                                        "entered": "count", "left": "count",
                                        "stayed_share": "share"}),
        "exit_median": exit_median,
        "test": f.test, "oot": Table.of(f.oot, {
            "group": "text", "customers": "count", "revenue_after": "money",
            "revenue_per_customer": "money", "share_of_revenue_after": "share"}),
        "beats_top": f.beats_top, "beats_rfm": f.beats_rfm, "stability": f.stability,
        "not_beaten": [rule for rule, beaten in (("the top customers by past revenue", f.beats_top),
                                                 ("the top RFM scores", f.beats_rfm)) if not beaten],
        "actions": Table.of(f.todo, {"segment_id": "id", "segment_name": "text",
                                     "customers": "count", "share_revenue": "share",
                                     "actions": "text"}),
        "scores": Table.of(inputs.scores.head(8), {
            "candidate": "text", "n_clusters": "count", "noise_share": "share",
            "silhouette": "number:4", "davies_bouldin": "number:4",
            "calinski_harabasz": "number:1"}),
        "removed": Table.of(inputs.quarantine[inputs.quarantine["lines_removed"] > 0], {
            "rule": "text", "description": "text", "lines_removed": "count"}),
        "plots": PLOTS,
    }


def render_markdown(context: dict[str, Any], currency: str = "GBP") -> str:
    """The report as Markdown (plots linked as ``plots/<name>``)."""
    return templating.render("report.md.j2", context, currency=currency)


def render_html(context: dict[str, Any], plots: dict[str, bytes], currency: str = "GBP") -> str:
    """The report as one self-contained HTML page (plots inlined, values autoescaped)."""
    uris = {name: "data:image/png;base64," + base64.b64encode(data).decode()
            for name, data in plots.items()}
    return templating.render("report.html.j2", {**context, "plot_uris": uris}, currency=currency)


def write_report(report: Report, run_dir: str) -> dict[str, str]:
    """Write report.md, report.html, plots/*.png, answers.csv and forecasts.csv."""
    import fsspec

    def put(name: str, data: bytes) -> str:
        uri = artifacts.join(run_dir, name)
        fs, path = fsspec.core.url_to_fs(uri)
        fs.makedirs(fs._parent(path), exist_ok=True)
        with fs.open(path, "wb") as handle:
            handle.write(data)
        return uri

    out = {name: put(f"plots/{name}", data) for name, data in report.plots.items()}
    out["report_md"] = put("report.md", report.markdown.encode())
    out["report_html"] = put("report.html", report.html.encode())
    out["answers"] = artifacts.save_frame(report.answers, artifacts.join(run_dir, "answers.csv"),
                                          index=False)
    out["forecasts"] = artifacts.save_frame(report.forecasts,
                                            artifacts.join(run_dir, "forecasts.csv"), index=False)
    return out
