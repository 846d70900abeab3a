"""The month's hand-off files for a CRM: plain ids, dates, rounded values, add/remove lists."""

from __future__ import annotations

import pandas as pd

from insiders.handoff import COLUMNS, crm_table, hand_off
from tests.conftest import make_lines


def test_the_hand_off_lists_members_joiners_and_leavers():
    lines = make_lines([
        ("1", "A1", 1, "2011-01-10 09:00", 2.0, 101, "France"),
        ("2", "A1", 1, "2011-02-10 09:00", 2.0, 101, "France"),
        ("3", "A1", 1, "2011-02-12 09:00", 2.0, 101, "Germany"),
        ("4", "A1", 1, "2011-02-20 09:00", 2.0, 102, "United Kingdom"),
        ("5", "A1", 1, "2011-01-05 09:00", 2.0, 103, "Spain"),
    ])
    features = pd.DataFrame({"gross_revenue": [6.004, 2.0, 2.0], "recency_days": [18, 10, 55],
                             "n_invoices": [3, 1, 1], "frequency": [1.66666, 1.0, 1.0]},
                            index=pd.Index([101, 102, 103], name="customer_id"))
    segments = pd.DataFrame({
        "segment_id": [1, 2, 2], "segment_name": ["High value, active", "Mid", "Mid"],
        "is_insider": [True, True, False], "status": ["stayed", "new", "left"],
        "member_since": pd.to_datetime(["2010-12-01", "2011-03-01", None]),
        "expected_revenue": [12.3456, 3.21, 0.5], "p_active": [0.98765, 0.5, 0.1],
        "value_rank": [1.0, 2.0, 3.0], "reason": ["kept: ...", "entered: ...", "left: ..."],
    }, index=features.index)
    table = crm_table(features, segments, lines, "2011-03-02")
    assert tuple(table.columns) == COLUMNS
    row = table.set_index("customer_id").loc[101]
    assert row["country"] == "France"  # most of their lines
    assert str(row["last_purchase_date"]) == "2011-02-12"
    assert str(row["member_since"]) == "2010-12-01"
    assert row["expected_revenue"] == 12.35 and row["p_active"] == 0.988 and row["frequency"] == 1.67
    files = hand_off(table)
    assert files["insiders_csv"]["customer_id"].tolist() == [101, 102]  # best value first
    assert files["joined"]["customer_id"].tolist() == [102]
    assert files["left"]["customer_id"].tolist() == [103]
    text = files["insiders_csv"].to_csv(index=False)
    assert "101," in text and "101.0" not in text and "2011-02-12" in text


def test_the_hand_off_carries_the_exports_own_keys():
    lines = make_lines([("1", "A1", 1, "2011-01-10 09:00", 2.0, 7, "France"),
                        ("2", "A1", 1, "2011-01-11 09:00", 2.0, 8, "France")])
    ids = pd.Index([7, 8], name="customer_id")
    features = pd.DataFrame({"gross_revenue": [2.0, 2.0], "recency_days": [1, 0],
                             "n_invoices": [1, 1], "frequency": [1.0, 1.0]}, index=ids)
    segments = pd.DataFrame({
        "segment_id": [1, 1], "segment_name": ["A", "A"], "is_insider": [True, True],
        "status": ["new", "new"], "member_since": pd.to_datetime(["2011-01-01"] * 2),
        "expected_revenue": [1.0, 2.0], "p_active": [0.5, 0.5], "value_rank": [2.0, 1.0],
        "reason": ["", ""], "customer_key": ["ana@shop.example", "00042"]}, index=ids)
    table = crm_table(features, segments, lines, "2011-01-12")
    assert dict(zip(table["customer_id"], table["customer_key"], strict=True)) == {
        7: "ana@shop.example", 8: "00042"}  # e-mails whole for the CRM, leading zeros kept
    text = hand_off(table)["insiders_csv"].to_csv(index=False)
    assert ",00042," in text and "ana@shop.example" in text


HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd",
           "-2+3", "\tTAB", "\rCR"]


def test_hostile_export_values_are_inert_in_every_hand_off_file(tmp_path):
    import csv

    from insiders import artifacts

    n = len(HOSTILE)
    table = pd.DataFrame({column: [None] * n for column in COLUMNS})
    table["customer_id"] = range(1, n + 1)
    table["customer_key"] = HOSTILE
    table["country"] = ["=1+1"] + ["France"] * (n - 1)
    table["segment_name"] = "Mid"
    table["status"] = ["new", "stayed", "left", "new", "left", "stayed"]
    table["expected_revenue"] = [-5.0, 4.0, 3.0, 2.0, 1.0, 0.0]  # a negative number stays one
    table["gross_revenue"] = 1.0
    table["reason"] = "kept"
    files = hand_off(table)
    seen = []
    for name, frame in files.items():
        path = tmp_path / f"{name}.csv"
        artifacts.save_frame(frame, str(path), index=False)
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                assert None not in row.values(), (name, row)  # no row broken by a CR
                for column, cell in row.items():
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")), (name, column, cell)
                    if cell.startswith("-"):  # only numbers may start with a minus
                        float(cell)
                seen.append(row["customer_key"])
    # every hostile key is there, as text a spreadsheet shows and does not run
    assert set(seen) == {"'" + key for key in HOSTILE}
    assert -5.0 in files["joined"]["expected_revenue"].tolist()  # numbers stay numbers
