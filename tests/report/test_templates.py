"""The report's templates on hand-made findings (fast): every answer printed by its
formatter, customer ids plain, free text escaped (HTML autoescaping, Markdown escaping)."""

from __future__ import annotations

import html
import re
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomllib

from insiders import answers, formats, plots, report
from insiders.segments import profile_segments

ROOT = Path(__file__).resolve().parents[2]
NASTY = 'Low value, <script>alert("x")</script> & co'
IDS = [14646, 18102, 17450, 14911, 12415, 14156, 17511, 16029, 16684, 13694, 12346, 12347,
       13000, 15000, 16000, 17000, 18000, 18287]


def findings(exits: bool = True) -> report.Findings:
    """Three segments of six customers each; the Insiders are the first six ids."""
    rng = np.random.default_rng(1)
    n = len(IDS)
    segment = np.repeat([1, 2, 3], n // 3)
    features = pd.DataFrame({
        "gross_revenue": np.choose(segment - 1, [150_000.0, 2_000.0, 90.0]) * rng.uniform(1, 2, n),
        "recency_days": np.choose(segment - 1, [5.0, 40.0, 300.0]) + rng.integers(0, 9, n),
        "n_lines": rng.integers(10, 3000, n).astype(float),
        "frequency": rng.uniform(0, 1, n), "qty_returned": rng.integers(0, 50, n).astype(float),
        "n_items": 500.0, "n_invoices": 4.0,
    }, index=pd.Index(IDS, name="customer_id"))
    names = {1: "Insiders", 2: "Mid value, active", 3: NASTY}
    segments = pd.DataFrame({"cluster": segment - 1, "segment_id": segment,
                             "segment_name": [names[s] for s in segment],
                             "is_insider": segment == 1}, index=features.index)
    profiles = profile_segments(features, segments)
    is_insider = segments["is_insider"]
    names_used = ["gross_revenue", "recency_days", "n_lines", "frequency", "qty_returned"]
    months = ["2011-12", "2012-01", "2012-02"]
    forecast = answers.Forecast(
        forecast=pd.DataFrame({"month": months, "expected": [897_940.83, 1_021_727.29, 9_500.0],
                               "naive": [686_429.71, 686_429.71, 686_429.71]}),
        backtest=pd.DataFrame({"month": ["2011-09", "2011-10", "2011-11"],
                               "actual": [628_405.43, 541_161.33, 45.5],
                               "model": [485_542.55, 508_874.14, 60.25],
                               "naive": [436_850.25, 436_850.25, 436_850.25]}),
        model_mae=83_891.2, naive_mae=154_384.7, model_mape=0.1384, naive_mape=0.2581,
        method="damped-trend exponential smoothing")
    rules = answers.Rules(enter=["recency_days <= 25 and frequency <= 0.6087  (1,075 customers)"],
                          leave=["recency_days > 25  (3,072 customers, <1% Insiders)"],
                          precision=0.992, recall=0.9931, accuracy=0.996)
    oot = pd.DataFrame({
        "group": ["Insiders", "Rest of the base", "Top N by past revenue",
                  "Top N by RFM score"],
        "customers": [876, 2541, 876, 876],
        "revenue_after": [1_679_977.97, 873_179.13, 1_839_065.54, 1_839_832.42],
        "revenue_per_customer": [1_917.78, 343.64, 2_099.39, 2_100.27],
        "share_of_revenue_after": [0.5436, 0.2826, 0.5951, 0.5954]})
    inputs = report.ReportInputs(
        lines=pd.DataFrame(), features=features, segments=segments, profiles=profiles,
        scores=pd.DataFrame({"candidate": ["umap/ward/k=3"], "n_clusters": [3],
                             "noise_share": [0.0], "silhouette": [0.4729],
                             "davies_bouldin": [0.5], "calinski_harabasz": [14084.8959]}),
        quarantine=pd.DataFrame({"rule": ["anonymous_line", "none"],
                                 "description": ["no customer id", "nothing"],
                                 "lines_removed": [131_425, 0]}),
        embeddings=pd.DataFrame(),
        selection={"policy_text": "ward with k = 3 (fixed)",
                   "chosen": {"candidate": "umap/ward/k=3", "silhouette": 0.4729, "model": "ward",
                              "space": "umap",
                              "assign_rule": "the segment with the nearest centroid"}},
        facts={"source": "data/online_retail.parquet", "lines_read": 541_909,
               "lines_kept": 404_714, "reference_date": "2011-12-14"})
    exits_frame = pd.DataFrame({"recency_days": [30.0, 31.0], "gross_revenue": [-12.5, 0.0],
                                "n_lines": [0.0, 1.0], "frequency": [0.002, 0.004]})
    return report.Findings(
        inputs=inputs, reference=pd.Timestamp("2011-12-14"), feature_names=names_used,
        n_insiders=int(is_insider.sum()), n_customers=n,
        share_customers=float(profiles.loc[0, "share_customers"]),
        share_revenue=float(profiles.loc[0, "share_revenue"]),
        revenue_insiders=float(features.loc[is_insider, "gross_revenue"].sum()),
        vs_rest=answers.profile_vs_rest(features, is_insider, names_used), forecast=forecast,
        selected_then=pd.Timestamp("2011-09-14"), rules=rules,
        changes=pd.DataFrame({"reference_date": ["2011-11-14", "2011-12-14"],
                              "insiders": [5, 6], "entered": [5, 2], "left": [0, 1],
                              "stayed_share": [np.nan, 0.8]}),
        exits=exits_frame if exits else exits_frame.iloc[:0],
        test={"p_value": 2.734e-6, "mean_insiders": 4_968.64, "mean_rest": 973.09,
              "mean_difference": 3_995.55, "ci_low": 3_092.25, "ci_high": 5_064.75},
        oot=oot, beats_top=False, beats_rfm=True,
        stability={"insiders_jaccard": 0.891, "mean_jaccard": 0.87, "min_jaccard": 0.73,
                   "n_boot": 20},
        todo=answers.actions(profiles, features.mean()),
        value_expected=1_234.5, value_expected_all=2_345.6,
        forecast_ranges={"Insiders": (1.19, 1.49, 3), "Everyone": (1.03, 1.39, 3)},
        ranking={"cut_date": "2011-08-14", "normalized_gini_model": 0.8142,
                 "normalized_gini_past_revenue": 0.8149},
        calibration=pd.DataFrame({"decile": range(1, 11), "customers": 10,
                                  "mean_forecast": np.linspace(100, 10, 10),
                                  "mean_actual": np.linspace(120, 12, 10),
                                  "cut_date": "2011-08-14"}))


@pytest.fixture(scope="module")
def built() -> report.Report:
    f = findings()
    return report.Report(answers=report.answers_table(f), forecasts=pd.DataFrame(), findings=f,
                         plots={name: b"\x89PNG fake " + name.encode() for name in plots.PLOTS})


@pytest.fixture(scope="module")
def pages(built) -> dict[str, str]:
    return {"md": built.markdown, "html": built.html}


def printed(value: float, kind: str) -> str:
    return formats.fmt(value, kind)


@pytest.mark.parametrize("page", ["md", "html"])
def test_every_answer_is_printed_by_its_formatter(built, pages, page):
    text = html.unescape(pages[page]) if page == "html" else pages[page]
    numbers = built.answers.dropna(subset=["value"])
    assert len(numbers) == len(built.answers) - 1  # all but Q1's file name
    missing = [(r.question, r.metric, printed(r.value, report.answer_kind(r.metric)))
               for r in numbers.itertuples()
               if printed(r.value, report.answer_kind(r.metric)) not in text]
    assert not missing


def test_answers_kinds_are_the_ones_a_reader_expects():
    kinds = {m: report.answer_kind(m) for m in (
        "insiders", "share_revenue", "revenue_insiders", "median_recency_days_insiders",
        "median_gross_revenue_rest", "median_n_lines_rest", "backtest_mape_model",
        "backtest_mae_naive", "p_value", "ci_low", "oot_share_top_n_by_rfm_score",
        "oot_revenue_per_customer_rest_of_the_base", "beats_rfm", "segment_3",
        "stayed_share_last_month", "left_last_month", "stability_insiders_jaccard")}
    assert kinds == {
        "insiders": "count", "share_revenue": "share", "revenue_insiders": "money",
        "median_recency_days_insiders": "days", "median_gross_revenue_rest": "money",
        "median_n_lines_rest": "count", "backtest_mape_model": "share",
        "backtest_mae_naive": "money", "p_value": "p_value", "ci_low": "money",
        "oot_share_top_n_by_rfm_score": "share",
        "oot_revenue_per_customer_rest_of_the_base": "money", "beats_rfm": "flag",
        "segment_3": "share", "stayed_share_last_month": "share", "left_last_month": "count",
        "stability_insiders_jaccard": "number:2"}


@pytest.mark.parametrize("page", ["md", "html"])
def test_customer_ids_are_printed_plain(built, pages, page):
    text = pages[page]
    insiders = built.findings.inputs.segments.index[built.findings.inputs.segments["is_insider"]]
    for customer in insiders:
        assert re.search(rf"(?<![\d,]){customer}(?![\d,])", text), customer
    for customer in IDS:
        assert f"{customer:,}" not in text, customer
        assert f"{customer}.0" not in text, customer


def test_the_html_report_escapes_segment_names(pages):
    page = pages["html"]
    assert "Low value, &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in page
    assert "<script" not in page
    assert page.count("<h2>") == 10 and page.count("<table>") == 10
    assert page.count("data:image/png;base64,") == len(plots.PLOTS)


def test_the_markdown_report_carries_no_raw_html(pages):
    from markdown_it import MarkdownIt

    md = pages["md"]
    assert r'Low value, \<script>alert("x")\</script> & co' in md
    assert not re.search(r"(?<!\\)<script", md)
    rendered = MarkdownIt("commonmark").enable("table").render(md)
    assert "<script" not in rendered and "&lt;script&gt;" in rendered
    for name in plots.PLOTS:
        assert f"](plots/{name})" in md


def test_markdown_tables_keep_their_columns(pages):
    rows = [line for line in pages["md"].splitlines() if line.startswith("|")]
    assert len(rows) > 30
    tables: list[list[str]] = []
    for line in pages["md"].splitlines():
        if line.startswith("|"):
            tables[-1].append(line) if tables and tables[-1] else tables.append([line])
        elif tables and tables[-1]:
            tables.append([])
    for table in filter(None, tables):
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in table}
        assert len(widths) == 1, table[0]


def test_the_verdict_and_the_exits_follow_the_findings(built):
    md = built.markdown
    assert "Insiders **do not beat** the top customers by past revenue on" in md
    assert "Beats the top customers by past revenue: no; beats the top RFM scores: yes." in md
    assert "recency +30 days, revenue -£6.25, purchase lines +0, frequency +0.003." in md
    f = findings(exits=False)
    f.beats_top = True
    md = report.render_markdown(report.report_context(f))
    assert "Insiders **beat** both plain rules" in md and "Median change" not in md


def test_money_in_another_currency(built):
    md = report.render_markdown(built.context, currency="EUR")
    assert f"({formats.money(built.findings.revenue_insiders, 'EUR')}) comes from Insiders" in md
    assert "£" not in md


def test_the_templates_ship_with_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["insiders"]
    templates = sorted((ROOT / "insiders" / "templates").iterdir())
    assert {t.name for t in templates} >= {"report.md.j2", "report.html.j2", "plugin.html.j2"}
    for template in templates:
        assert any(fnmatch(f"templates/{template.name}", p) for p in patterns), template.name
    assert "jinja2" in " ".join(config["project"]["dependencies"]).lower()


def test_the_report_says_when_the_models_were_fitted_on_a_sample(pages):
    assert "cluster_sample_size" not in pages["md"] + pages["html"]  # every customer fitted
    f = findings()
    f.inputs.facts.update(fitted_on=10, clustered_on=12, cluster_sample_size=12)
    context = report.report_context(f)
    drawn = {name: b"\x89PNG fake" for name in plots.PLOTS}
    md, page = report.render_markdown(context), report.render_html(context, drawn)
    told = ("The clustering models were fitted on a seeded sample of 12 customers "
            "(`cluster_sample_size`); each of the other 6 was assigned to the segment with "
            "the nearest centroid.")
    assert told in md
    assert told.replace("`cluster_sample_size`", "<code>cluster_sample_size</code>") in page
    assert "The spaces were fitted on a seeded sample of 10 customers" in md
