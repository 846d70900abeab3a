"""The data-quality rules: each line rule quarantines and counts, each file rule refuses."""

from __future__ import annotations

import pandas as pd
import pytest

from insiders.config import QualityConfig
from insiders.quality import FILE_RULES, LINE_RULES, QualityError, check_lines, drop_lines
from tests.conftest import make_lines


def _base(n: int = 200) -> pd.DataFrame:
    """n plausible lines over two months, one invoice per line, no duplicates."""
    days = pd.date_range("2011-01-03", periods=60, freq="D")
    return make_lines([(f"5{i:05d}", f"2{i % 40:04d}", 1 + i % 7, str(days[i % 60]), 1.25 + i % 5,
                        10_000 + i % 50, "United Kingdom") for i in range(n)])


def _counts(result) -> dict[str, int]:
    return dict(zip(result.counts["rule"], result.counts["lines"], strict=True))


def test_plausible_lines_pass_every_rule():
    result = check_lines(_base())
    assert result.quarantined.empty
    assert set(result.counts["rule"]) == set(LINE_RULES) | set(FILE_RULES)
    assert (result.counts["action"] == "passed").all()


@pytest.mark.parametrize(("column", "value", "rule"), [
    ("quantity", 10**12, "quantity_out_of_range"),
    ("quantity", -(10**12), "quantity_out_of_range"),
    ("unit_price", 1e9, "unit_price_out_of_range"),
    ("invoice_date", pd.Timestamp("2099-01-01 10:00"), "date_cut_off"),
    ("invoice_date", pd.Timestamp("1970-01-01"), "date_cut_off"),
    ("description", "broken \ufffd text", "undecodable_text"),
])
def test_an_implausible_line_is_quarantined_under_its_rule(column, value, rule):
    lines = _base()
    lines.loc[17, column] = value
    result = check_lines(lines)
    assert result.quarantined[["line_index", "rule"]].to_dict("records") == [
        {"line_index": 17, "rule": rule}]
    assert _counts(result)[rule] == 1
    assert result.counts.set_index("rule").loc[rule, "action"] == "quarantined"
    kept = drop_lines(lines, result.quarantined)
    assert len(kept) == len(lines) - 1 and value not in kept[column].tolist()


def test_a_line_within_each_bound_but_with_an_absurd_revenue_is_quarantined():
    lines = _base()
    lines.loc[3, ["quantity", "unit_price"]] = (90_000, 40_000.0)  # each under its bound
    result = check_lines(lines)
    assert result.quarantined["rule"].tolist() == ["line_revenue_out_of_range"]


def test_the_bundled_datas_largest_lines_are_not_quarantined(real_lines):
    result = check_lines(real_lines)
    counts = _counts(result)
    assert all(counts[r] == 0 for r in LINE_RULES if r != "duplicate_line")
    # the bundled data holds thousands of exact duplicate lines: dropped by default, counted
    assert counts["duplicate_line"] == int(real_lines.duplicated().sum()) > 1000


def test_duplicates_are_dropped_or_kept_by_policy():
    lines = _base()
    doubled = pd.concat([lines, lines.iloc[:4]], ignore_index=True)
    dropped = check_lines(doubled)
    assert dropped.quarantined["line_index"].tolist() == [200, 201, 202, 203]
    assert len(drop_lines(doubled, dropped.quarantined)) == 200
    kept = check_lines(doubled, QualityConfig(duplicate_lines="keep"))
    assert kept.quarantined.empty and _counts(kept)["duplicate_line"] == 4


def test_a_file_appended_twice_is_refused():
    lines = _base()
    with pytest.raises(QualityError, match=r"duplicate_share.*max_duplicate_share.*Export it again"):
        check_lines(pd.concat([lines, lines], ignore_index=True), source="export.csv")


def test_without_invoices_or_products_equal_lines_are_never_called_duplicates():
    lines = _base()
    log = pd.concat([lines, lines], ignore_index=True)  # two equal items in each order
    result = check_lines(log, source="log.csv", duplicates=False)
    assert result.quarantined.empty
    actions = dict(zip(result.counts["rule"], result.counts["action"], strict=True))
    assert actions["duplicate_line"] == actions["duplicate_share"] == "not checked"


def test_flipped_signs_are_refused():
    lines = _base()
    lines["quantity"] = -lines["quantity"]
    with pytest.raises(QualityError, match=r"export.csv: 200 of 200 lines .* return_share"):
        check_lines(lines, source="export.csv")


def test_many_bad_lines_refuse_the_file_naming_the_rule_and_the_first_line():
    lines = _base()
    lines.loc[[5, 9, 11], "unit_price"] = 1e9  # 1.5% of the lines
    with pytest.raises(QualityError) as refused:
        check_lines(lines)
    message = str(refused.value)
    assert "quarantine_share" in message and "unit_price_out_of_range (3 lines)" in message
    assert "line 6" in message and "raise max_quarantine_share" in message
    assert len(check_lines(lines, QualityConfig(max_quarantine_share=0.05)).quarantined) == 3


def test_thresholds_are_the_configs():
    lines = _base()
    lines.loc[0, "quantity"] = 500
    assert check_lines(lines).quarantined.empty
    assert check_lines(lines, QualityConfig(max_quantity=100)).quarantined["rule"].tolist() == [
        "quantity_out_of_range"]
    with pytest.raises(ValueError, match="duplicate_lines"):
        QualityConfig(duplicate_lines="merge")


def test_lines_after_the_reference_date_are_counted_not_quarantined():
    lines = _base()
    result = check_lines(lines, reference_date="2011-02-10")
    later = result.counts.set_index("rule").loc["after_reference_date"]
    assert later["lines"] == int((lines["invoice_date"] >= "2011-02-11").sum()) > 0
    assert later["action"] == "kept" and result.quarantined.empty
