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
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from insiders import answers, artifacts, formats, templating
from insiders.config import MembershipPolicy
from insiders.history import monthly_reference_dates, replay
from insiders.kept_lines import load_lines
from insiders.models import Candidate, spec
from insiders.parallel import side_by_side
from insiders.progress import stage
from insiders.schema import CUSTOMER_KEY, key_column
from insiders.value import VALUE_COLUMNS

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
    #: the tier of earlier months, when the run replayed it itself (no last month given)
    warmup: dict[pd.Timestamp, pd.DataFrame] | None = None
    #: the data-quality checks' counts (None for a folder made before them)
    quality: pd.DataFrame | None = None


def load_inputs(run_dir: str) -> ReportInputs:
    """Read the run folder's tables (see :mod:`insiders.run_folder`)."""
    from insiders import run_folder

    def frame(name: str) -> pd.DataFrame:
        return artifacts.load_frame(run_folder.path(run_dir, name))

    selection = artifacts.load_json(run_folder.path(run_dir, "selection"))
    warmup = None
    if selection.get("membership", {}).get("warmup"):
        long = frame("warmup")
        warmup = {pd.Timestamp(day): part.drop(columns="reference_date").set_index("customer_id")
                  for day, part in long.groupby("reference_date")}
    return ReportInputs(
        lines=load_lines(run_dir, VALUE_COLUMNS), features=frame("features"), segments=frame("segments"),
        profiles=frame("profiles"), scores=frame("scores"), quarantine=frame("quarantine"),
        embeddings=frame("embeddings"), selection=selection,
        facts=artifacts.load_json(run_folder.path(run_dir, "facts")), warmup=warmup,
        quality=frame("quality") if artifacts.exists(run_folder.path(run_dir, "quality")) else None,
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
    currency: str = "GBP"  # ISO code of the amounts ("": none given)

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


def build_report(inputs: ReportInputs, *, replay_months: int = 5, stability_boot: int = 20,
                 random_state: int = 42, stability_sample_size: int | None = None,
                 currency: str | None = None) -> Report:
    """Answer the nine questions from a run's tables.

    Args:
        inputs: the run's tables.
        replay_months: months replayed before the run (history, back-tests, out-of-time).
        stability_boot: bootstrap resamples for cluster stability.
        random_state: seed of every random step.
        stability_sample_size: the bootstrap draws from a seeded sample of this many
            customers when there are more (None: from all of them).
        currency: ISO code of the amounts, for the text and the plots ("": none given); by
            default the run's (``facts.json``).
    """
    if currency is None:
        currency = inputs.facts.get("currency", "")
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
    purchases = inputs.lines.loc[~inputs.lines["is_return"], "invoice_date"]
    dates = monthly_reference_dates(reference, replay_months, purchases.min().normalize())[:-1]
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
        memberships=inputs.warmup, random_state=random_state,
        fit_sample_size=inputs.facts.get("fit_sample_size"),
        cluster_sample_size=inputs.facts.get("cluster_sample_size")))
    stability_job = (answers.bootstrap_stability, (
        embedding, cluster_of, main_cluster), dict(
        model=candidate.model, param=candidate.param, n_boot=stability_boot,
        random_state=random_state, max_n=stability_sample_size,
        sample_size=inputs.facts.get("cluster_sample_size")))
    with stage(f"replay {len(dates)} earlier months, beside {stability_boot} bootstrap refits"):
        history, stability = side_by_side([history_job, stability_job])
    history.segments[reference] = segments
    history.features[reference] = features
    changes = history.membership_changes()

    # Q5: forecast with a back-test on the group selected three months earlier (the oldest
    # replayed month when fewer; none on a shop's first month)
    horizon = 3
    selected_then = (dates[-horizon] if len(dates) >= horizon else dates[0]) if dates else None
    series = answers.monthly_revenue(inputs.lines, insiders, reference)
    then = oot = None
    back_series = actual = None
    if selected_then is not None:
        then = history.segments[selected_then]
        then_insiders = then.index[then["is_insider"]]
        back_series = answers.monthly_revenue(inputs.lines, then_insiders, selected_then)
        actual_all = answers.monthly_revenue(inputs.lines, then_insiders, reference)
        if len(back_series):
            actual = actual_all[actual_all.index > back_series.index[-1]].iloc[:horizon]
        oot = answers.out_of_time(inputs.lines, selected_then, history.features[selected_then],
                                  then["is_insider"], reference)
    forecast = answers.forecast_revenue(series, back_series, actual, horizon=horizon)

    # Q6, Q7, Q8, Q9
    rules = answers.membership_rules(features, is_insider, feature_names,
                                     random_state=random_state)
    test = answers.revenue_test(features, is_insider, random_state=random_state)
    per_customer = oot.set_index("group")["revenue_per_customer"] if oot is not None else None
    capture = backtest_months(inputs.lines, history, reference, policy["value_score"])
    findings = Findings(
        inputs=inputs, reference=reference, feature_names=feature_names,
        n_insiders=len(insiders), n_customers=len(features),
        share_customers=float(is_insider.mean()),
        share_revenue=float(revenue[is_insider].sum() / revenue.sum()),
        revenue_insiders=float(revenue[is_insider].sum()),
        vs_rest=vs_rest, forecast=forecast, selected_then=selected_then, rules=rules,
        changes=changes, exits=history.exits(), test=test, oot=oot, capture=capture,
        value_expected=(float(segments.loc[insiders, "expected_revenue"].sum())
                        if "expected_revenue" in segments
                        and segments["expected_revenue"].notna().any() else None),
        beats_top=None if per_customer is None else
        bool(per_customer["Insiders"] > per_customer["Top N by past revenue"]),
        beats_rfm=None if per_customer is None else
        bool(per_customer["Insiders"] > per_customer["Top N by RFM score"]),
        stability=stability, todo=answers.actions(profiles, base))

    plots = {  # computed apart from the text
        "embedding.png": png(plot_embedding(embedding, segments.reindex(features.index), chosen,
                                            feature_names, currency=currency)),
        "features_by_segment.png": png(plot_features(features, segments, feature_names,
                                                     currency=currency)),
        "shares.png": png(plot_shares(profiles)),
        "forecast.png": png(plot_forecast(series, forecast, currency=currency)),
        "membership.png": png(plot_membership(changes)),
    }
    forecasts = pd.DataFrame({
        "month": pd.PeriodIndex(forecast.forecast["month"], freq="M").to_timestamp(),
        "model": forecast.method, "expected_revenue": forecast.forecast["expected"],
        "naive_revenue": forecast.forecast["naive"]})
    return Report(answers=answers_table(findings), forecasts=forecasts, findings=findings,
                  plots=plots, currency=currency)


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


# --- plots -----------------------------------------------------------------------------------


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(fig) -> bytes:
    """A figure as PNG bytes (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _figure().close(fig)
    return buffer.getvalue()


def _symbol(currency: str) -> str:
    return formats.CURRENCY_SYMBOLS.get(currency, currency) or "no currency given"


def _ticks(kind: str, currency: str = "GBP"):
    """A tick formatter printing values as ``kind`` (``money`` ticks read ``£1.20 M``), never
    with an offset or a scientific multiplier."""
    from matplotlib.ticker import FuncFormatter

    if kind == "days":  # the axis label carries the unit
        return FuncFormatter(lambda v, _: formats.count(round(v, 1)))
    if kind.startswith("money"):  # round ticks without pence: £0, £10, £800,000, £1.20 M
        return FuncFormatter(lambda v, _: formats.fmt(v, kind, currency).removesuffix(".00"))
    return FuncFormatter(lambda v, _: formats.fmt(v, kind, currency))


def _feature_axis(name: str, currency: str) -> str:
    return FEATURE_AXES.get(name, HEADERS.get(name, name)).format(currency=_symbol(currency))


def _colors(segments: pd.DataFrame) -> dict[int, Any]:
    plt = _figure()
    ids = sorted(segments["segment_id"].unique())
    cmap = plt.get_cmap("tab10")
    return {s: cmap(i % 10) for i, s in enumerate(ids)}


def plot_embedding(embedding: np.ndarray, segments: pd.DataFrame, chosen: dict,
                   feature_names: list[str] | None = None, currency: str = "GBP"):
    """Customers as dots in the chosen space, coloured by segment."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 5.5))
    colors = _colors(segments)
    for (sid, name), part in segments.groupby(["segment_id", "segment_name"]):
        rows = segments.index.get_indexer(part.index)
        ax.scatter(embedding[rows, 0], embedding[rows, 1], s=4 if name != "Insiders" else 6,
                   color=colors[sid], label=f"{sid}: {name} ({len(part):,})", alpha=0.7)
    if chosen["space"] == "features" and feature_names and len(feature_names) >= 2:
        ax.set_xlabel(f"{_feature_axis(feature_names[0], currency)}, percentile")
        ax.set_ylabel(f"{_feature_axis(feature_names[1], currency)}, percentile")
        ax.xaxis.set_major_formatter(_ticks("share:0"))
        ax.yaxis.set_major_formatter(_ticks("share:0"))
    else:  # an embedding's axes have no unit: only distances between dots mean something
        space = chosen["space"].upper() if chosen["space"] == "umap" else chosen["space"]
        ax.set_xlabel(f"{space} axis 1 (no unit: nearby dots are customers who buy alike)")
        ax.set_ylabel(f"{space} axis 2 (no unit)")
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title(f"Customers coloured by segment ({chosen['candidate']})")
    ax.legend(markerscale=3, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1),
              title="Segment (customers)", title_fontsize=7)
    return fig


def plot_features(features: pd.DataFrame, segments: pd.DataFrame, names: list[str],
                  currency: str = "GBP"):
    """One box plot per feature, segments side by side, the highest-value segment first."""
    plt = _figure()
    columns = min(len(names), 3)
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.4 * rows), squeeze=False)
    joined = features.join(segments[["segment_id", "segment_name"]])
    order = (joined.groupby("segment_id")["gross_revenue"].mean().sort_values(ascending=False)
             .index.tolist())
    for ax, name in zip(axes.flat, names, strict=False):
        data = [joined.loc[joined["segment_id"] == s, name].dropna().to_numpy() for s in order]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(order) + 1), [str(s) for s in order])
        kind = formats.FEATURE_KINDS.get(name, "number:2")
        label = _feature_axis(name, currency)
        if kind != "number:3":  # wide-ranging amounts: a log scale that keeps zeros
            ax.set_yscale("symlog", linthresh=1)
            label += ", log scale"
        if all(len(d) == 0 or d.min() >= 0 for d in data):
            ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_ticks(kind, currency))
        ax.yaxis.set_minor_locator(plt.NullLocator())
        ax.set_ylabel(label, fontsize=8)
        ax.set_title(HEADERS.get(name, name), fontsize=9)
        ax.set_xlabel("Segment", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Features by segment (boxes: middle half of customers; highest-value segment "
                 "first)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_shares(profiles: pd.DataFrame):
    """Share of customers and of revenue per segment."""
    from matplotlib.ticker import PercentFormatter

    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    x = np.arange(len(profiles))
    ax.bar(x - 0.2, profiles["share_customers"] * 100, 0.4, label="Share of customers")
    ax.bar(x + 0.2, profiles["share_revenue"] * 100, 0.4, label="Share of revenue")
    ax.set_xticks(x, [f"{r.segment_id}: {r.segment_name}" for r in profiles.itertuples()],
                  rotation=30, ha="right", fontsize=7)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_xlabel("Segment")
    ax.set_ylabel("Share (% of all customers / of revenue)")
    ax.set_title("Share of customers and of revenue per segment")
    ax.legend(fontsize=8)
    return fig


def plot_forecast(series: pd.Series, forecast: answers.Forecast, currency: str = "GBP"):
    """The Insiders' monthly revenue, the forecast and the back-test, in money per month."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(series.index.astype(str), series.to_numpy(), marker="o", label="Insiders' revenue")
    f = forecast.forecast
    ax.plot(f["month"], f["expected"], marker="o", linestyle="--",
            label="forecast (Holt)" if forecast.method == answers.HOLT else "forecast (naive)")
    ax.plot(f["month"], f["naive"], marker="x", linestyle=":", label="naive (last 3 months)")
    b = forecast.backtest
    if b is not None:
        ax.plot(b["month"], b["model"], marker=".", linestyle="--", alpha=0.6,
                label="back-test forecast (group selected 3 months earlier)")
        ax.plot(b["month"], b["actual"], marker=".", alpha=0.6, label="back-test actual")
    ax.yaxis.set_major_formatter(_ticks("money", currency))
    ax.set_ylim(bottom=0)
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    ax.set_xlabel("Month")
    ax.set_ylabel(f"Revenue per month ({_symbol(currency)})")
    ax.set_title("Monthly revenue of Insiders: history, forecast and back-test")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def plot_membership(changes: pd.DataFrame):
    """Insiders per monthly run, with the customers who joined and left."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = changes["reference_date"].astype(str)
    ax.bar(x, changes["entered"], label="joined", color="tab:green")
    ax.bar(x, -changes["left"], label="left (below zero)", color="tab:red")
    ax.plot(x, changes["insiders"], marker="o", color="black", label="Insiders")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.yaxis.set_major_formatter(_ticks("count"))
    ax.set_xlabel("Monthly run (data up to)")
    ax.set_ylabel("Customers")
    ax.set_title("Insiders per monthly run: who joined, who left")
    ax.tick_params(axis="x", rotation=30, labelsize=7)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


# --- text ------------------------------------------------------------------------------------
#: The header a reader sees for each column of the report's tables (and each feature's name).
HEADERS: dict[str, str] = {
    "selected_by": "Selected by (same number of customers)",
    "share_insiders": "Insiders among them",
    # customers and their features
    "customer_id": "Customer", "customer": "Customer", "gross_revenue": "Revenue",
    "recency_days": "Days since last purchase",
    "n_lines": "Purchase lines", "frequency": "Invoices per 30 days", "qty_returned": "Units returned",
    "n_invoices": "Invoices", "n_items": "Units bought", "n_products": "Distinct products",
    "avg_ticket": "Mean revenue per line", "avg_basket_size": "Units per invoice",
    "avg_unique_basket_size": "Distinct products per invoice",
    "avg_days_between_purchases": "Days between purchases", "n_returns": "Return lines",
    "value_returned": "Value returned",
    # Insiders against the rest (Q3)
    "feature_label": "Feature", "insiders_q1": "Insiders: lower quartile",
    "insiders_median": "Insiders: median", "insiders_q3": "Insiders: upper quartile",
    "rest_q1": "Rest: lower quartile", "rest_median": "Rest: median",
    "rest_q3": "Rest: upper quartile", "median_ratio": "Insiders vs rest (median)",
    # segments (Q3, Q9)
    "segment_id": "Segment", "segment_name": "Name", "n_customers": "Customers",
    "customers": "Customers", "share_customers": "Share of customers",
    "share_revenue": "Share of revenue", "mean_gross_revenue": "Mean revenue",
    "mean_recency_days": "Mean days since last purchase", "mean_n_lines": "Mean purchase lines",
    "mean_frequency": "Mean invoices per 30 days", "mean_qty_returned": "Mean units returned",
    "actions": "What to do",
    # forecast (Q5)
    "month": "Month", "expected": "Forecast", "naive": "Naive forecast", "actual": "Actual",
    "model": "Model forecast",
    # membership (Q7)
    "reference_date": "Monthly run (data up to)", "insiders": "Insiders", "entered": "Joined",
    "left": "Left", "stayed_share": "Stayed (of previous month)",
    # out of time (Q8)
    "group": "Group", "revenue_after": "Revenue after selection",
    "revenue_per_customer": "Revenue per customer after", "share_of_revenue_after":
        "Share of revenue after",
    # how this was chosen
    "rank": "Rank", "candidate": "Model (space/method/k)", "n_clusters": "Segments",
    "noise_share": "Unassigned", "silhouette": "Silhouette (higher is better)",
    "davies_bouldin": "Davies-Bouldin (lower is better)",
    "calinski_harabasz": "Calinski-Harabasz (higher is better)",
    "rule": "Filter", "description": "What it removes", "lines_removed": "Lines removed",
}

FEATURE_AXES = {  # the features' headers, with their unit where they have one
    **{name: HEADERS[name] for name in (
        "recency_days", "n_lines", "frequency", "qty_returned", "n_invoices", "n_items",
        "n_products", "avg_basket_size", "avg_unique_basket_size", "avg_days_between_purchases",
        "n_returns")},
    **{name: f"{HEADERS[name]} ({{currency}})" for name in (
        "gross_revenue", "avg_ticket", "value_returned")},
}


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


def backtest_months(lines: pd.DataFrame, history, reference: pd.Timestamp,
                    value_score: str, horizon_days: int = 91) -> pd.DataFrame:
    """The run's own back-test: at every replayed month with ``horizon_days`` of data after it,
    the share of that window's revenue brought by the month's Insiders, and by plain rules and
    the clusters' top segment of the same size (:func:`insiders.backtest.capture_table`).

    Returns one row per (rule, cut_date): ``rule``, ``cut_date`` (ISO), ``share``.
    """
    from insiders import backtest
    from insiders.ranking import top_n
    from insiders.select import cluster_values

    cuts = [d for d in sorted(history.segments) if d + pd.Timedelta(days=horizon_days) <= reference]
    if not cuts:
        return pd.DataFrame(columns=["rule", "cut_date", "share"])
    tiers, alone, top_cluster = {}, {}, {}
    for day in cuts:
        seg, feats = history.segments[day], history.features[day]
        tiers[day] = seg.index[seg["is_insider"]]
        size = len(tiers[day])
        if "expected_revenue" in seg and seg["expected_revenue"].notna().any():
            alone[day] = top_n(seg["expected_revenue"], size,
                               tiebreak=feats["gross_revenue"].reindex(seg.index))
        best = cluster_values(feats, seg["cluster"], value_score).index[0]
        top_cluster[day] = seg.index[seg["cluster"] == best]
    rules = {"Insiders": backtest.precomputed(tiers),
             "Top N by past revenue": backtest.select_top_revenue,
             "Top N by RFM score": backtest.select_rfm}
    if len(alone) == len(cuts):
        rules["Value model alone (no bars)"] = backtest.precomputed(alone)
    rules["Highest-value segment (any size)"] = backtest.precomputed(top_cluster)
    table = backtest.capture_table(lines, cuts, lambda past, cut: len(tiers[cut]), rules,
                                   horizon_days=horizon_days)
    table = table.assign(cut_date=table["cut_date"].dt.date.astype(str))
    return table[["rule", "cut_date", "share"]]


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
    keys = inputs.segments.get(CUSTOMER_KEY)
    keyed = keys is not None and bool((keys != key_column(keys.index, None)).any())
    if keyed:  # the export's keys, e-mails masked (personal data stays in the CSV and warehouse)
        top["customer"] = keys.reindex(top["customer_id"]).map(formats.masked_key).to_numpy()
    exit_median = None
    if not f.exits.empty:
        exit_median = f.exits[["recency_days", "gross_revenue", "n_lines", "frequency"]].median()
    quartiles = ("q1", "median", "q3")
    return {
        "title": f"Insiders report — run month {reference:%Y-%m} (as of {reference.date()})",
        "reference": reference.date().isoformat(), "facts": inputs.facts,
        "selection": inputs.selection, "chosen": chosen, "questions": QUESTIONS,
        "assign_rule": spec(str(chosen["model"])).assign_rule,
        "membership": {"rule": "cluster", **inputs.selection.get("membership", {})},
        "n_insiders": f.n_insiders, "n_customers": f.n_customers,
        "share_customers": f.share_customers, "share_revenue": f.share_revenue,
        "revenue_insiders": f.revenue_insiders,
        "top": Table.of(top, {**({"customer": "text"} if keyed else {"customer_id": "id"}),
                              **_features_table([
            "gross_revenue", "recency_days", "n_lines", "frequency", "qty_returned"])}),
        "vs_rest": Table.of(f.vs_rest.reset_index().assign(
            feature_label=lambda t: t["feature"].map(lambda n: HEADERS.get(n, n))), {
            "feature_label": "text", **{f"{g}_{q}": "feature" for g in ("insiders", "rest")
                                  for q in quartiles}, "median_ratio": "ratio"}),
        "profiles": Table.of(inputs.profiles, {
            "segment_id": "id", "segment_name": "text", "n_customers": "count",
            "share_customers": "share", "share_revenue": "share",
            **({"share_insiders": "share"} if "share_insiders" in inputs.profiles else {}),
            **_features_table(["gross_revenue", "recency_days", "n_lines", "frequency",
                               "qty_returned"], "mean_")}),
        "forecast": f.forecast, "value_expected": f.value_expected,
        "expected_revenue": float(f.forecast.forecast["expected"].sum()),
        "naive_revenue": float(f.forecast.forecast["naive"].sum()),
        "forecast_table": Table.of(f.forecast.forecast,
                                   {"month": "text", "expected": "money", "naive": "money"}),
        "backtest_table": None if f.forecast.backtest is None else Table.of(f.forecast.backtest, {
            "month": "text", "actual": "money", "model": "money", "naive": "money"}),
        "selected_then": f.selected_then.date().isoformat() if f.selected_then else None,
        "model_better": f.forecast.backtest is not None
        and f.forecast.model_mape < f.forecast.naive_mape,
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
        "not_beaten": [rule for rule, beaten in (("the top customers by past revenue", f.beats_top),
                                                 ("the top RFM scores", f.beats_rfm))
                       if beaten is False],
        "actions": Table.of(f.todo, {"segment_id": "id", "segment_name": "text",
                                     "customers": "count", "share_revenue": "share",
                                     "actions": "text"}),
        "summary": summary(f), "n_candidates": len(inputs.scores),
        "n_segments": int(inputs.segments["segment_id"].nunique()),
        "left_out": [{"candidate": r.candidate, "reason": r.left_out}
                     for r in inputs.scores.itertuples()
                     if isinstance(getattr(r, "left_out", None), str) and r.left_out],
        "data_from": inputs.facts.get("first_line"),
        "scores": Table.of(model_comparison(inputs.scores, chosen), {
            "candidate": "text", "rank": "count", "n_clusters": "count", "noise_share": "share",
            "silhouette": "number:4", "davies_bouldin": "number:4",
            "calinski_harabasz": "number:1"}, highlight="chosen"),
        "removed": Table.of(inputs.quarantine[inputs.quarantine["lines_removed"] > 0], {
            "rule": "text", "description": "text", "lines_removed": "count"}),
        "quality": None if inputs.quality is None else Table.of(
            inputs.quality[(inputs.quality["kind"] == "line") & (inputs.quality["lines"] > 0)], {
                "rule": "text", "description": "text", "action": "text", "lines": "count"}),
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
