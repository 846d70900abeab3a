"""The report on the real data: nine answers with numbers equal to the warehouse's, plots,
the CSV of Insiders equal to the warehouse's Insiders (``run_dir``: see conftest.py)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insiders import artifacts, pipeline, warehouse
from insiders.formats import count, fmt, money, p_value, share
from insiders.formats import number as decimals
from insiders.report import QUESTIONS, answer_kind


@pytest.fixture
def loaded(run_dir, warehouse_dsn):
    with warehouse.connect(warehouse_dsn) as conn:
        warehouse.load_run(conn, run_dir, run_month="2011-12-15")
        return warehouse.snapshot(conn)


def read(run_dir: str, name: str) -> str:
    return (Path(run_dir) / name).read_text()


def pages(run_dir: str) -> dict[str, str]:
    """report.md as written, report.html with its entities decoded (the text a reader sees)."""
    return {"report.md": read(run_dir, "report.md"),
            "report.html": unescape(read(run_dir, "report.html"))}


def test_report_answers_all_nine_questions(run_dir):
    text = read(run_dir, "report.md")
    for number, question in QUESTIONS.items():
        assert f"## {number}. {question}" in text
    html = read(run_dir, "report.html")
    assert html.count("<h2>") >= 10 and "<table>" in html
    drawn = list((Path(run_dir) / "plots").glob("*.png"))
    assert html.count("data:image/png;base64,") == len(drawn) >= 5  # every plot inlined


def test_answers_equal_the_warehouse_and_appear_in_the_report(run_dir, loaded):
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
    # the report prints the warehouse's numbers, each in its kind, in bold where it matters
    for name, page in pages(run_dir).items():
        def b(x: str, name: str = name) -> str:
            return f"**{x}**" if name.endswith(".md") else f"<strong>{x}</strong>"

        assert f"{b(count(v(2, 'insiders')))} of {count(v(2, 'customers'))} customers" in page, name
        assert f"{b(share(v(4, 'share_revenue')))} of revenue" in page
        assert b(money(v(5, "expected_revenue_next_3_months"))) in page
        assert (f"model {b(share(v(5, 'backtest_mape_model')))}, "
                f"naive {b(share(v(5, 'backtest_mape_naive')))}") in page
        assert (f"precision {b(share(v(6, 'rules_precision')))}, "
                f"recall {b(share(v(6, 'rules_recall')))}") in page
        assert f"p = {b(p_value(v(8, 'p_value')))}" in page
        assert b(f"{money(v(8, 'ci_low'))} to {money(v(8, 'ci_high'))}") in page
        assert f"Jaccard index of {b(decimals(v(8, 'stability_insiders_jaccard'), 2))}" in page
        # and every number of the answers table, formatted as its kind
        numbers = stored.dropna(subset=["value"])
        assert len(numbers) == len(stored) - 1  # all but Q1's file name
        missing = [(q, m, fmt(r["value"], answer_kind(m))) for (q, m), r in numbers.iterrows()
                   if fmt(r["value"], answer_kind(m)) not in page]
        assert not missing, (name, missing)
    # Q7: exits last month, Q9: one action line per segment
    # Q7's last change is this run's own decision: the same joins and exits as its segments
    status = artifacts.load_frame(pipeline.path(run_dir, "segments"))["status"]
    assert v(7, "left_last_month") == (status == "left").sum()
    assert v(7, "entered_last_month") == (status == "new").sum()
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


def test_customer_ids_are_printed_plain(run_dir):
    """No Insider's id comma-grouped (14,646) or as a float (14646.0) anywhere in the report;
    the ten best Insiders (Q1's table) with their plain ids."""
    csv = pd.read_csv(pipeline.path(run_dir, "insiders_csv"))
    ids = csv["customer_id"].astype(int)
    top = csv.sort_values("gross_revenue", ascending=False)["customer_id"].astype(int).head(10)
    for name, page in pages(run_dir).items():
        for customer in ids:
            assert not re.search(rf"(?<![£\d]){customer:,}(?![\d,]|\.\d)", page), (name, customer)
            assert f"{customer}.0" not in page, (name, customer)
        for customer in top:
            assert re.search(rf"(?<![\d,.]){customer}(?![\d,.])", page), (name, customer)


def test_report_names_the_run(run_dir):
    text = read(run_dir, "report.md")
    assert re.match(r"# Insiders report — run month 2011-12 \(as of 2011-12-14\)", text)


def test_the_backtest_replays_the_months_the_tier_warmed_up_on(run_dir):
    """The months are computed once: the tier keeps each warm-start month's features, sealed
    with its files, and they are the features the run's lines give as of that month (so the
    back-test's replay, which takes them, is the replay it would compute)."""
    from insiders.features import build_customer_features
    from insiders.kept_lines import load_lines
    from insiders.run_folder import path
    from insiders.value import VALUE_COLUMNS

    kept = artifacts.load_frame(path(run_dir, "warmup_features"))
    months = sorted(kept["reference_date"].unique())
    assert months == sorted(artifacts.load_frame(path(run_dir, "warmup"))["reference_date"].unique())
    assert months == artifacts.load_json(path(run_dir, "backtest"))["replayed"]
    assert artifacts.load_json(path(run_dir, "manifest"))["files"]["warmup_features"]["stage"] == "tier"
    lines = load_lines(run_dir, VALUE_COLUMNS)
    for month in months:
        held = kept[kept["reference_date"] == month].drop(columns="reference_date")
        pd.testing.assert_frame_equal(held.set_index("customer_id"),
                                      build_customer_features(lines, month), check_exact=True)
