"""Lines a real export carries that are not sales: set aside, named and counted, never fatal
(issue 30). Each rule on a small file; the run's quarantine summary lists them; a file that is
mostly such lines is refused; rows after a removed one are still named as the file numbers them."""

from __future__ import annotations

import pytest

from insiders import artifacts, pipeline
from insiders.config import QualityConfig, ReadConfig
from insiders.ingest import IngestError, iter_transactions, read_transactions
from insiders.ingest.non_sales import NON_SALE_RULES
from insiders.quality import QualityError
from insiders.run_folder import path

COLUMNS = "invoice=ticket,customer=client,date=day,quantity=qty,amount=total,status=kind"
HEADER = "ticket,client,day,qty,total,kind\n"
SALES = ("1,c1,2024-01-02,2,10.00,sale\n"
         "2,c2,2024-01-03,1,5.50,sale\n"
         "3,c1,2024-02-02,1,4.00,sale\n"
         "4,c3,2024-02-03,-1,-4.00,sale\n")  # a return: a sale's line, kept
QUIRKS = {
    "repeated_header": HEADER,
    "total_row": "TOTAL,,,,17.50,\n",
    "not_a_purchase": "5,c2,2024-02-04,1,3.00,void\n",
    "no_units": "6,c2,2024-02-05,0,0.00,sale\n",
    "discount_line": "7,c1,2024-02-06,1,-2.00,sale\n",
    "zero_price": "8,c3,2024-02-07,1,0.00,sale\n",
}
READ = ReadConfig(preset="custom", columns=COLUMNS)


def export(tmp_path, *rules: str, name: str = "export.csv"):
    """The sales with the quirks of ``rules`` in their midst (a total row last)."""
    extra = "".join(QUIRKS[r] for r in rules if r != "total_row")
    tail = QUIRKS["total_row"] if "total_row" in rules else ""
    file = tmp_path / name
    file.write_text(HEADER + SALES + extra + tail)
    return file


@pytest.mark.parametrize("rule", list(QUIRKS))
def test_each_kind_of_non_sale_line_is_set_aside_and_counted(tmp_path, rule):
    found: dict = {}
    lines = next(iter_transactions(export(tmp_path, rule), READ, found=found))
    assert len(lines) == 4  # the sales, the return among them
    assert sorted(lines["invoice_no"]) == ["1", "2", "3", "4"]
    assert {r: n["lines"] for r, n in found["set_aside"].items()} == {rule: 1}


def test_every_rule_together_and_their_revenue(tmp_path):
    found: dict = {}
    lines = next(iter_transactions(export(tmp_path, *QUIRKS), READ, found=found))
    assert len(lines) == 4
    aside = found["set_aside"]
    assert set(aside) == set(NON_SALE_RULES)
    assert aside["discount_line"]["revenue"] == pytest.approx(-2.0)
    assert aside["not_a_purchase"]["revenue"] == pytest.approx(3.0)


def test_a_quantity_of_zero_beside_an_amount_is_still_refused_saying_why(tmp_path):
    file = tmp_path / "odd.csv"
    file.write_text(HEADER + SALES + "9,c2,2024-02-08,0,7.00,sale\n")
    with pytest.raises(IngestError, match=r"quantity of 0 beside an amount that is not 0.*row 5 \(line 6 "):
        read_transactions(file, READ)


def test_rows_after_a_repeated_header_keep_their_numbers_in_errors(tmp_path):
    file = tmp_path / "pasted.csv"
    file.write_text(HEADER + SALES + HEADER + "9,c2,not-a-day,1,7.00,sale\n")
    with pytest.raises(IngestError) as info:
        read_transactions(file, READ)
    assert "row 6 (line 7 of the file)" in str(info.value)  # the header again is row 5


def test_the_run_lists_them_in_its_quarantine_summary(tmp_path):
    run = str(tmp_path / "run")
    pipeline.ingest(str(export(tmp_path, *QUIRKS)), run, READ)
    pipeline.check_quality(run, QualityConfig(max_non_sale_share=1.0))  # a small file: 6 of 10
    facts = pipeline.filter_lines(run)
    quarantine = artifacts.load_frame(path(run, "quarantine")).set_index("rule")
    for rule in NON_SALE_RULES:
        assert quarantine.loc[rule, "lines_removed"] == 1, rule
        assert quarantine.loc[rule, "description"].startswith("not a sale: ")
    assert quarantine.loc["discount_line", "revenue_removed"] == pytest.approx(-2.0)
    assert facts["removed"]["zero_price"] == 1
    # they are not the data-quality rules' quarantine: no line of the file was refused for them
    assert artifacts.load_json(path(run, "facts"))["lines_quarantined"] == 0


def test_a_file_that_is_mostly_not_sales_is_refused_naming_the_rules(tmp_path):
    file = tmp_path / "coupons.csv"
    file.write_text(HEADER + SALES + "".join(f"{10 + i},c1,2024-03-01,0,0,sale\n" for i in range(6)))
    run = str(tmp_path / "run")
    pipeline.ingest(str(file), run, READ)
    with pytest.raises(QualityError, match=r"6 of its 10 lines \(60.0%\) are not sales "
                                           r"\(no_units 6\), above max_non_sale_share 25%"):
        pipeline.check_quality(run)
    pipeline.check_quality(run, QualityConfig(max_non_sale_share=0.7))  # raised: it passes
