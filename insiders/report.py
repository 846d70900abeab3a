"""The run's report: the nine questions answered with numbers and plots, as a self-contained
HTML page and its Markdown twin, plus the answers and forecast tables for the warehouse."""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insiders import answers, artifacts
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


@dataclass
class Report:
    """Everything the report says, before it is written."""

    answers: pd.DataFrame  # question, metric, value, text
    forecasts: pd.DataFrame  # month, model, expected_revenue, naive_revenue
    markdown: str
    plots: dict[str, bytes]


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
    rows: list[dict] = []
    ins_profile = profiles[profiles["is_insider"]].iloc[0]

    # Q1, Q2, Q4
    _answer(rows, 1, "insiders_csv", text="insiders.csv")
    _answer(rows, 2, "insiders", len(insiders))
    _answer(rows, 2, "customers", len(features))
    _answer(rows, 4, "share_revenue", ins_profile["share_revenue"])
    _answer(rows, 4, "share_customers", ins_profile["share_customers"])
    _answer(rows, 4, "revenue_insiders", features.loc[insiders, "gross_revenue"].sum())

    # Q3
    vs_rest = answers.profile_vs_rest(features, is_insider, feature_names)
    for name in feature_names:
        _answer(rows, 3, f"median_{name}_insiders", vs_rest.loc[name, "insiders_median"])
        _answer(rows, 3, f"median_{name}_rest", vs_rest.loc[name, "rest_median"])

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
        param=candidate.param,
        value_score=policy["value_score"], random_state=random_state))
    stability_job = (answers.bootstrap_stability, (
        embedding, cluster_of, int(segments.loc[insiders[0], "cluster"])), dict(
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
    _answer(rows, 5, "expected_revenue_next_3_months", forecast.forecast["expected"].sum())
    _answer(rows, 5, "naive_revenue_next_3_months", forecast.forecast["naive"].sum())
    _answer(rows, 5, "backtest_mape_model", forecast.model_mape)
    _answer(rows, 5, "backtest_mape_naive", forecast.naive_mape)
    _answer(rows, 5, "backtest_mae_model", forecast.model_mae)
    _answer(rows, 5, "backtest_mae_naive", forecast.naive_mae)

    # Q6, Q7
    rules = answers.membership_rules(features, is_insider, feature_names,
                                     random_state=random_state)
    _answer(rows, 6, "rules_precision", rules.precision, "\n".join(rules.enter))
    _answer(rows, 6, "rules_recall", rules.recall)
    last = changes.iloc[-1]
    _answer(rows, 7, "left_last_month", last["left"], "\n".join(rules.leave))
    _answer(rows, 7, "entered_last_month", last["entered"])
    _answer(rows, 7, "stayed_share_last_month", last["stayed_share"])
    exits = history.exits()

    # Q8
    test = answers.revenue_test(features, is_insider, random_state=random_state)
    oot = answers.out_of_time(inputs.lines, selected_then, history.features[selected_then],
                              then["is_insider"], reference)
    by_group = oot.set_index("group")
    beats_top = (by_group.loc["Insiders (clusters)", "revenue_per_customer"]
                 > by_group.loc["Top N by past revenue", "revenue_per_customer"])
    beats_rfm = (by_group.loc["Insiders (clusters)", "revenue_per_customer"]
                 > by_group.loc["Top N by RFM score", "revenue_per_customer"])
    for key in ("p_value", "mean_difference", "ci_low", "ci_high"):
        _answer(rows, 8, key, test[key])
    for group, r in by_group.iterrows():
        slug = group.split(" (")[0].lower().replace(" ", "_")
        _answer(rows, 8, f"oot_revenue_per_customer_{slug}", r["revenue_per_customer"])
        _answer(rows, 8, f"oot_share_{slug}", r["share_of_revenue_after"])
    _answer(rows, 8, "beats_top_n_by_revenue", float(beats_top))
    _answer(rows, 8, "beats_rfm", float(beats_rfm))
    _answer(rows, 8, "stability_insiders_jaccard", stability["insiders_jaccard"])

    # Q9
    todo = answers.actions(profiles, base)
    for r in todo.itertuples():
        _answer(rows, 9, f"segment_{r.segment_id}", r.share_revenue, f"{r.segment_name}: {r.actions}")

    plots = {
        "embedding.png": _plot_embedding(embedding, segments.reindex(features.index), chosen),
        "features_by_segment.png": _plot_features(features, segments, feature_names),
        "shares.png": _plot_shares(profiles),
        "forecast.png": _plot_forecast(series, forecast),
        "membership.png": _plot_membership(changes),
    }
    table = pd.DataFrame(rows)
    forecasts = pd.DataFrame({
        "month": pd.PeriodIndex(forecast.forecast["month"], freq="M").to_timestamp(),
        "model": forecast.method, "expected_revenue": forecast.forecast["expected"],
        "naive_revenue": forecast.forecast["naive"]})
    md = _markdown(inputs, table, vs_rest, forecast, rules, changes, exits, test, oot, beats_top,
                   beats_rfm, stability, todo, selected_then, reference)
    return Report(answers=table, forecasts=forecasts, markdown=md, plots=plots)


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
def _table(frame: pd.DataFrame, floatfmt: str = ",.2f") -> str:
    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else format(v, floatfmt)
        if isinstance(v, (int, np.integer)):
            return f"{v:,}"
        return str(v).replace("|", "\\|")

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def value(answers_table: pd.DataFrame, question: int, metric: str) -> float:
    """One number of the answers table."""
    hit = answers_table[(answers_table["question"] == question)
                        & (answers_table["metric"] == metric)]
    return float(hit["value"].iloc[0])


def _markdown(inputs: ReportInputs, table: pd.DataFrame, vs_rest: pd.DataFrame,
              forecast: answers.Forecast, rules: answers.Rules, changes: pd.DataFrame,
              exits: pd.DataFrame, test: dict, oot: pd.DataFrame, beats_top: bool,
              beats_rfm: bool, stability: dict, todo: pd.DataFrame,
              selected_then: pd.Timestamp, reference: pd.Timestamp) -> str:
    sel, facts = inputs.selection, inputs.facts
    chosen = sel["chosen"]
    n_ins = int(value(table, 2, "insiders"))
    n_all = int(value(table, 2, "customers"))
    share_r = value(table, 4, "share_revenue")
    share_c = value(table, 4, "share_customers")
    top = (inputs.features.loc[inputs.segments.index[inputs.segments["is_insider"]]]
           .sort_values("gross_revenue", ascending=False).head(10).reset_index())
    top = top[["customer_id", "gross_revenue", "recency_days", "n_lines", "frequency",
               "qty_returned"]]
    verdict = (
        "Insiders **beat** both plain rules of the same size on revenue per customer after "
        "selection." if beats_top and beats_rfm else
        "Insiders **do not beat** " + " and ".join(
            n for n, b in (("the top customers by past revenue", beats_top),
                           ("the top RFM scores", beats_rfm)) if not b)
        + " on revenue per customer after selection: a plain rule would have done as well "
        "or better."
    )
    better_forecast = "better" if forecast.model_mape < forecast.naive_mape else "worse"
    exit_summary = ""
    if not exits.empty:
        med = exits[["recency_days", "gross_revenue", "n_lines", "frequency"]].median()
        exit_summary = (
            f"Median change of those who left, between the two months: recency "
            f"{med['recency_days']:+.0f} days, revenue {med['gross_revenue']:+,.2f}, purchase "
            f"lines {med['n_lines']:+.0f}, frequency {med['frequency']:+.3f}."
        )
    scores = inputs.scores.head(8)[["candidate", "n_clusters", "noise_share", "silhouette",
                                    "davies_bouldin", "calinski_harabasz"]]
    removed = inputs.quarantine[inputs.quarantine["lines_removed"] > 0][
        ["rule", "description", "lines_removed"]]
    vs = vs_rest.reset_index()[["feature", "insiders_q1", "insiders_median", "insiders_q3",
                                "rest_q1", "rest_median", "rest_q3", "median_ratio"]]
    oot_view = oot.assign(share_of_revenue_after=oot["share_of_revenue_after"] * 100)
    profiles = inputs.profiles[["segment_id", "segment_name", "n_customers", "share_customers",
                                "share_revenue", "mean_gross_revenue", "mean_recency_days",
                                "mean_n_lines", "mean_frequency", "mean_qty_returned"]]
    lines = [
        f"# Insiders report — run month {reference:%Y-%m} (as of {reference.date()})",
        "",
        f"Source `{facts.get('source')}`: {facts.get('lines_read', 0):,} lines read, "
        f"{facts.get('lines_kept', 0):,} kept; {n_all:,} customers. Model chosen by policy "
        f"({sel['policy_text']}): `{chosen['candidate']}`, silhouette {chosen['silhouette']:.4f}.",
        "",
        f"**Insiders: {n_ins:,} customers ({share_c:.2%} of customers) bringing {share_r:.2%} of "
        "revenue.**",
        "",
        f"## 1. {QUESTIONS[1]}",
        f"The {n_ins:,} customers of segment \"Insiders\", listed with their features in "
        "`insiders.csv` (and in the warehouse: `insiders.current_insiders`). The ten with the "
        "highest revenue:",
        "",
        _table(top),
        "",
        f"## 2. {QUESTIONS[2]}",
        f"**{n_ins:,}** of {n_all:,} customers ({share_c:.2%}).",
        "",
        f"## 3. {QUESTIONS[3]}",
        "Quartiles of each feature, Insiders against the rest of the base:",
        "",
        _table(vs),
        "",
        "![Customers coloured by segment](plots/embedding.png)",
        "",
        "![Feature distributions by segment](plots/features_by_segment.png)",
        "",
        "Segment profiles (means):",
        "",
        _table(profiles, ",.3f"),
        "",
        f"## 4. {QUESTIONS[4]}",
        f"**{share_r:.2%}** of revenue ({value(table, 4, 'revenue_insiders'):,.2f}) comes from "
        f"Insiders, who are {share_c:.2%} of customers.",
        "",
        "![Shares per segment](plots/shares.png)",
        "",
        f"## 5. {QUESTIONS[5]}",
        f"Expected revenue of the current Insiders over the next three months: "
        f"**{value(table, 5, 'expected_revenue_next_3_months'):,.2f}** ({forecast.method}); "
        f"the naive forecast (mean of the last three months) says "
        f"{value(table, 5, 'naive_revenue_next_3_months'):,.2f}.",
        "",
        _table(forecast.forecast),
        "",
        f"Back-test: the group selected as of {selected_then.date()} and its revenue before, "
        "forecast for the following months, compared with what it bought:",
        "",
        _table(forecast.backtest),
        "",
        f"Mean absolute percentage error: model **{forecast.model_mape:.1%}**, naive "
        f"**{forecast.naive_mape:.1%}** (mean absolute error {forecast.model_mae:,.0f} against "
        f"{forecast.naive_mae:,.0f}): the model did {better_forecast} than the naive forecast "
        "on this back-test. Both miss seasonal peaks: one year of data cannot teach seasonality.",
        "",
        "![Forecast](plots/forecast.png)",
        "",
        f"## 6. {QUESTIONS[6]}",
        "A shallow decision tree on the features reproduces membership. A customer is an "
        "Insider when one of these holds:",
        "",
        *[f"- {r}" for r in rules.enter],
        "",
        f"Fidelity to the clusters: precision **{rules.precision:.1%}**, recall "
        f"**{rules.recall:.1%}** (accuracy {rules.accuracy:.1%}).",
        "",
        f"## 7. {QUESTIONS[7]}",
        "The same tree read the other way: a customer is out of Insiders when one of these holds:",
        "",
        *[f"- {r}" for r in rules.leave],
        "",
        "Observed entries and exits, replaying the monthly run on the data cut the day before "
        "each 15th. The replays fit the space once, on the oldest month, and place later "
        "months' customers in it (as a run with `reuse_spaces` does), so their changes follow "
        "the customers; the last row is this run, with its own fit, so part of its change is "
        "the refit's:",
        "",
        _table(changes, ",.3f"),
        "",
        exit_summary,
        "",
        "![Membership](plots/membership.png)",
        "",
        f"## 8. {QUESTIONS[8]}",
        f"Revenue per customer, Insiders against the rest: Mann-Whitney U one-sided p = "
        f"**{test['p_value']:.3g}**; mean {test['mean_insiders']:,.2f} against "
        f"{test['mean_rest']:,.2f}, a difference of {test['mean_difference']:,.2f} "
        f"(bootstrap 95% CI **{test['ci_low']:,.2f} to {test['ci_high']:,.2f}**).",
        "",
        f"Out of time: Insiders selected on data up to {selected_then.date()}, measured on what "
        f"they bought from then to {reference.date()}, against plain rules picking as many "
        "customers:",
        "",
        _table(oot_view),
        "",
        verdict,
        "",
        f"Stability: refitting {chosen['model']} on {stability['n_boot']} bootstrap resamples of "
        f"the customers (on the fitted embedding), the Insiders cluster is found again with a "
        f"mean Jaccard index of **{stability['insiders_jaccard']:.2f}** (all clusters: mean "
        f"{stability['mean_jaccard']:.2f}, lowest {stability['min_jaccard']:.2f}).",
        "",
        f"## 9. {QUESTIONS[9]}",
        "",
        _table(todo.assign(share_revenue=todo["share_revenue"] * 100)),
        "",
        "## Method",
        "Model comparison, best silhouettes (the whole table is `model_scores.csv`):",
        "",
        _table(scores, ",.4f"),
        "",
        "Lines removed by the filters:",
        "",
        _table(removed),
        "",
    ]
    return "\n".join(lines)


def to_html(markdown: str, plots: dict[str, bytes], title: str) -> str:
    """The Markdown as one self-contained HTML page (plots inlined)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)
    for name, data in plots.items():
        uri = "data:image/png;base64," + base64.b64encode(data).decode()
        body = body.replace(f'src="plots/{name}"', f'src="{uri}"')
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
        "color:#222}table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}"
        "td,th{border:1px solid #ccc;padding:0.25em 0.5em;text-align:right}"
        "th{background:#f3f3f3}img{max-width:100%}h2{border-bottom:1px solid #ddd}"
    )
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{style}</style></head><body>{body}</body></html>")


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

    title = report.markdown.splitlines()[0].lstrip("# ")
    out = {name: put(f"plots/{name}", data) for name, data in report.plots.items()}
    out["report_md"] = put("report.md", report.markdown.encode())
    out["report_html"] = put("report.html", to_html(report.markdown, report.plots, title).encode())
    out["answers"] = artifacts.save_frame(report.answers, artifacts.join(run_dir, "answers.csv"),
                                          index=False)
    out["forecasts"] = artifacts.save_frame(report.forecasts,
                                            artifacts.join(run_dir, "forecasts.csv"), index=False)
    return out
