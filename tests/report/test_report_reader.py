"""The report for a marketing reader, on hand-made findings (fast): a plain summary first, the
method last with the chosen model always in its table, human headers, plots with labelled
axes in units and no offset notation."""

from __future__ import annotations

import html
import itertools
import re

import numpy as np
import pandas as pd
import pytest

from insiders import formats, headers, plots, report
from tests.report.test_templates import findings


@pytest.fixture
def f() -> report.Findings:
    return findings()


def pages(f: report.Findings) -> dict[str, str]:
    context = report.report_context(f)
    drawn = {name: b"\x89PNG fake" for name in plots.PLOTS}
    return {"md": report.render_markdown(context),
            "html": html.unescape(report.render_html(context, drawn))}


@pytest.mark.parametrize("page", ["md", "html"])
def test_a_plain_summary_comes_first(f, page):
    text = pages(f)[page]
    summary = text[text.index("Summary"):text.index("1. Who is eligible")]
    assert f"{formats.count(f.n_insiders)} Insiders this month, out of " \
           f"{formats.count(f.n_customers)} customers ({formats.share(f.share_customers)})" in summary
    assert f"{formats.share(f.share_revenue)} of all revenue " \
           f"({formats.money(f.revenue_insiders)}" in summary
    # who joined and left since last month: Q7's last change
    assert "(2011-11-14, 5 Insiders): 2 joined and 1 left; 80.0% of last month's" in summary
    # what to do: the three segments bringing most revenue, with their Q9 actions
    top = f.todo.sort_values("share_revenue", ascending=False).head(3)
    for row in top.itertuples():
        name = row.segment_name if page == "html" else row.segment_name.replace("<", r"\<")
        assert f"{name}** ({formats.count(row.customers)} customers" in summary or \
               f"{name}</strong> ({formats.count(row.customers)} customers" in summary, name
        assert row.actions.split(";")[0] in summary
    # no model jargon before the questions
    for jargon in ("silhouette", "umap", "ward", "k = "):
        assert jargon not in text[:text.index("1. Who is eligible")].lower(), jargon


def test_no_earlier_month_is_said_plainly(f):
    f.changes = f.changes.iloc[-1:]
    assert "Since last month:** no earlier month" in pages(f)["md"]


def scores(n: int, chosen_rank: int) -> pd.DataFrame:
    """``n`` candidates by decreasing silhouette; ``umap/ward/k=3`` at ``chosen_rank``."""
    names = [f"features/kmeans/k={k}" for k in range(2, n + 1)]
    names.insert(chosen_rank - 1, "umap/ward/k=3")
    return pd.DataFrame({"candidate": names, "n_clusters": 3, "noise_share": 0.0,
                         "silhouette": np.linspace(0.9, 0.3, n), "davies_bouldin": 0.5,
                         "calinski_harabasz": 1000.0})


@pytest.mark.parametrize("rank", [2, 11])
def test_how_this_was_chosen_shows_the_chosen_model_highlighted(f, rank):
    f.inputs.scores = scores(12, rank)
    f.inputs.selection["chosen"]["silhouette"] = float(f.inputs.scores["silhouette"][rank - 1])
    text = pages(f)
    raw = report.render_html(report.report_context(f), {n: b"x" for n in plots.PLOTS})
    for page in text.values():  # the section (not the summary's link to it) after Q9
        assert page.index("9. What can marketing") < page.rindex("How this was chosen")
        assert page.rindex("How this was chosen") < page.index("umap/ward/k=3")
    rows = re.findall(r"<tr( class=\"chosen\")?><td class=\"t\">([^<]+)", raw)
    shown = [(name.strip(), bool(mark)) for mark, name in rows if "/k=" in name]
    assert len(shown) == (8 if rank <= 8 else 9)
    assert [name for name, mark in shown if mark] == ["umap/ward/k=3"]
    assert ("**umap/ward/k=3** (chosen) | " + formats.count(rank)) in text["md"]


def test_chosen_model_missing_from_the_scores_still_has_its_row(f):
    f.inputs.scores = scores(12, 5).query("candidate != 'umap/ward/k=3'")
    table = report.model_comparison(f.inputs.scores, f.inputs.selection["chosen"])
    assert len(table) == 9 and table["chosen"].tolist() == [False] * 8 + [True]
    assert table.iloc[-1]["candidate"] == "umap/ward/k=3" and pd.isna(table.iloc[-1]["rank"])


def test_headers_are_words_and_cells_aligned_by_kind(f):
    raw = report.render_html(report.report_context(f), {n: b"x" for n in plots.PLOTS})
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", raw)
    assert len(headers) > 40
    assert [h for h in headers if "_" in h or h != h.strip() or not h] == []
    assert "Insiders vs rest (median)" in headers
    # text columns left, numbers right (the CSS of classes t and n; Chromium checks the rest)
    assert re.search(r"td\.t[^{]*\{[^}]*text-align:left", raw)
    assert re.search(r"td\.n[^{]*\{[^}]*text-align:right", raw)
    actions = raw[raw.index('id="actions"'):]
    actions = actions[:actions.index("</table>")]
    assert actions.count('<td class="t">') == 3 * len(f.todo)  # id, name and what to do
    assert actions.count('<td class="n">') == 2 * len(f.todo)  # customers, share of revenue
    lines = pages(f)["md"].splitlines()
    md_headers = [line for line, below in itertools.pairwise(lines) if below.startswith("|--")]
    assert len(md_headers) >= 10 and not [line for line in md_headers if "_" in line]
    # feature names in the rules read as words, their thresholds kept
    assert "days since last purchase <= 25 and invoices per 30 days <= 0.6087" in html.unescape(raw)


def test_every_table_column_has_a_header():
    context = report.report_context(findings())
    tables = [v for v in context.values() if isinstance(v, report.Table)]
    assert len(tables) >= 10
    unnamed = [c.key for t in tables for c in t.columns if c.key not in headers.HEADERS]
    assert unnamed == []


# --- plots -----------------------------------------------------------------------------------
def texts_overlap(fig, ax) -> list[str]:
    """Texts of ``ax`` (tick labels, axis labels, offset, legend) whose box meets the title's."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title = ax.title.get_window_extent(renderer)
    others = [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label,
              ax.yaxis.get_offset_text(), ax.xaxis.get_offset_text()]
    hits = [t.get_text() for t in others if t.get_text() and t.get_visible()
            and t.get_window_extent(renderer).overlaps(title)]
    legend = ax.get_legend()
    if legend is not None and legend.get_window_extent(renderer).overlaps(title):
        hits.append("legend")
    return hits


def figures(f: report.Findings) -> dict[str, object]:
    features, segments = f.inputs.features, f.inputs.segments
    months = pd.period_range("2010-12", "2011-11", freq="M")
    series = pd.Series(np.linspace(600_000, 1_300_000, len(months)), index=months)
    changes = f.changes.assign(insiders=[1_200, 1_300], entered=[1_200, 300], left=[0, 200])
    return {
        "embedding": plots.plot_embedding(features[["gross_revenue", "recency_days"]].rank(
            pct=True).to_numpy(), segments, {**f.inputs.selection["chosen"], "space": "features"},
            f.feature_names),
        "umap": plots.plot_embedding(np.random.default_rng(0).normal(size=(len(features), 2)),
                                      segments, f.inputs.selection["chosen"]),
        "features": plots.plot_features(features, segments, f.feature_names),
        "shares": plots.plot_shares(f.inputs.profiles),
        "forecast": plots.plot_forecast(series, f.forecast),
        "membership": plots.plot_membership(changes),
    }


def test_plots_label_their_axes_in_units_without_offsets(f):
    drawn = figures(f)
    for name, fig in drawn.items():
        for ax in (a for a in fig.axes if a.get_visible()):
            assert ax.get_xlabel() and ax.get_ylabel(), (name, ax.get_title())
            assert ax.get_title() or fig._suptitle is not None, name
            assert texts_overlap(fig, ax) == [], (name, ax.get_title())
            assert ax.yaxis.get_offset_text().get_text() == "", (name, ax.get_title())
            labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
            assert not [t for t in labels if re.search(r"e[+-]?\d|×|\$10\^", t)], (name, labels)
    forecast = drawn["forecast"].axes[0]
    assert "£" in forecast.get_ylabel() and "month" in forecast.get_ylabel().lower()
    ticks = [t.get_text() for t in forecast.get_yticklabels() if t.get_text()]
    assert ticks and all(t.startswith("£") for t in ticks) and any(" M" in t for t in ticks)
    assert drawn["membership"].axes[0].get_ylabel() == "Customers"
    assert drawn["forecast"].axes[0].get_xlabel() == "Month"
    revenue = drawn["features"].axes[0]
    assert "£" in revenue.get_ylabel() and revenue.get_title() == "Revenue"
    for fig in drawn.values():
        png = plots.png(fig)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
