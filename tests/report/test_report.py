"""The report on the real data: nine answers with numbers equal to the warehouse's, plots,
the CSV of Insiders equal to the warehouse's Insiders."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insiders import artifacts, pipeline, warehouse
from insiders.compare import GridConfig
from insiders.report import QUESTIONS
from tests.conftest import REAL_DATA


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("report-run"))
    pipeline.ingest(str(REAL_DATA), out)
    pipeline.filter_lines(out)
    pipeline.features(out, "2011-12-14")
    pipeline.embed(out, spaces=("features", "umap"))
    pipeline.compare(out, GridConfig(models=("kmeans", "ward")))
    pipeline.select(out)
    pipeline.report(out, replay_months=3)
    pipeline.export_insiders(out)
    return out


@pytest.fixture
def loaded(run_dir, warehouse_dsn):
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dir, run_month="2011-12-15")
        return warehouse.snapshot(conn)


def read(run_dir: str, name: str) -> str:
    return (Path(run_dir) / name).read_text()


def fmt_pct(x: float) -> str:
    return f"{x:.2%}"


def test_report_answers_all_nine_questions(run_dir):
    text = read(run_dir, "report.md")
    for number, question in QUESTIONS.items():
        assert f"## {number}. {question}" in text
    html = read(run_dir, "report.html")
    assert html.count("<h2>") >= 10 and "<table>" in html
    assert html.count("data:image/png;base64,") == 5  # self-contained: every plot inlined


def test_answers_equal_the_warehouse_and_appear_in_the_report(run_dir, loaded):
    text = read(run_dir, "report.md")
    stored = loaded["answers"].set_index(["question", "metric"])
    assert sorted(stored.index.get_level_values(0).unique()) == list(range(1, 10))
    local = artifacts.load_frame(pipeline.path(run_dir, "answers")).set_index(["question", "metric"])
    pd.testing.assert_series_equal(stored["value"].sort_index(), local["value"].sort_index(),
                                   check_names=False)
    runs = loaded["runs"].iloc[0]

    def v(q: int, m: str) -> float:
        return float(stored.loc[(q, m), "value"])

    assert v(2, "insiders") == runs["insiders"]
    assert v(4, "share_revenue") == pytest.approx(runs["insiders_share_revenue"], abs=1e-4)
    # the report prints the warehouse's numbers
    assert f"**{int(v(2, 'insiders')):,}** of {int(v(2, 'customers')):,} customers" in text
    assert f"**{fmt_pct(v(4, 'share_revenue'))}** of revenue" in text
    assert f"**{v(5, 'expected_revenue_next_3_months'):,.2f}**" in text
    assert f"model **{v(5, 'backtest_mape_model'):.1%}**, naive **{v(5, 'backtest_mape_naive'):.1%}**" in text
    assert f"precision **{v(6, 'rules_precision'):.1%}**, recall **{v(6, 'rules_recall'):.1%}**" in text
    assert f"p = **{v(8, 'p_value'):.3g}**" in text
    assert f"**{v(8, 'ci_low'):,.2f} to {v(8, 'ci_high'):,.2f}**" in text
    assert f"Jaccard index of **{v(8, 'stability_insiders_jaccard'):.2f}**" in text
    # Q7: exits last month, Q9: one action line per segment
    assert v(7, "left_last_month") >= 0
    q9 = loaded["answers"][loaded["answers"]["question"] == 9]
    assert len(q9) == loaded["segment_profiles"].shape[0]
    assert all(row.text.split(": ", 1)[1] for row in q9.itertuples())
    # the forecast table in the warehouse has the next three months
    assert len(loaded["forecasts"]) == 3


def test_q8_reports_honestly_whether_insiders_beat_plain_rules(run_dir, loaded):
    text = read(run_dir, "report.md")
    stored = loaded["answers"].set_index(["question", "metric"])["value"]
    beats = stored[(8, "beats_top_n_by_revenue")] and stored[(8, "beats_rfm")]
    ins = stored[(8, "oot_revenue_per_customer_insiders")]
    top = stored[(8, "oot_revenue_per_customer_top_n_by_past_revenue")]
    assert (ins > top) == bool(stored[(8, "beats_top_n_by_revenue")])
    assert ("Insiders **beat** both plain rules" in text) == bool(beats)
    assert ("Insiders **do not beat**" in text) == (not beats)


def test_plots_are_real_images(run_dir):
    import matplotlib.image as mpimg

    for name in ("embedding", "features_by_segment", "shares", "forecast", "membership"):
        path = pipeline.path(run_dir, "report").replace("report.html", f"plots/{name}.png")
        data = Path(path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        pixels = mpimg.imread(path)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300
        assert np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0).shape[0] > 10  # not blank


def test_csv_rows_equal_the_insiders_in_the_warehouse(run_dir, loaded):
    csv = pd.read_csv(pipeline.path(run_dir, "insiders_csv"))
    stored = loaded["customer_segments"]
    insiders = stored[stored["is_insider"]]
    assert sorted(csv["customer_id"]) == sorted(insiders["customer_id"])
    assert {"segment_id", "segment_name", "gross_revenue", "recency_days"} <= set(csv.columns)
    merged = csv.merge(insiders, on="customer_id", suffixes=("", "_db"))
    assert np.allclose(merged["gross_revenue"], merged["gross_revenue_db"], atol=1e-3)


def test_report_names_the_run(run_dir):
    text = read(run_dir, "report.md")
    assert re.match(r"# Insiders report — run month 2011-12 \(as of 2011-12-14\)", text)
