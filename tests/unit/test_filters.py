"""Filter rules on hand-made lines: each rule named and counted, anonymous policies."""

from __future__ import annotations

import pytest

from insiders.filters import FilterConfig, filter_transactions
from tests.conftest import make_lines

LINES = make_lines(
    [
        ("1", "85123A", 2, "2011-01-01 10:00", 2.5, 100, "France"),  # kept
        ("1", "POST", 1, "2011-01-01 10:00", 18.0, 100, "France"),  # postage
        ("2", "22633", 5, "2011-01-02 09:00", 0.01, 101, "France"),  # near free
        ("3", "22633", 1, "2011-01-03 09:00", 1.0, 102, "Unspecified"),  # no country
        ("4", "22633", 1, "2011-01-03 09:00", 1.0, 16446, "France"),  # outlier
        ("5", "22634", 3, "2011-01-04 09:00", 1.0, None, "France"),  # anonymous
        ("5", "22635", 1, "2011-01-04 09:00", 2.0, None, "France"),  # same invoice
        ("6", "22634", 1, "2011-01-03 09:00", 1.0, None, "France"),  # earlier invoice
        ("C7", "85123A", -1, "2011-01-05 09:00", 2.5, 100, "France"),  # a return
        ("8", "AMAZONFEE", 1, "2011-01-05 09:00", 5.0, 100, "France"),  # fee
        ("8", "M", 1, "2011-01-05 09:00", 5.0, 100, "France"),  # manual
    ]
)


def counts(result) -> dict[str, int]:
    q = result.quarantine
    return dict(zip(q["rule"], q["lines_removed"] + q["lines_flagged"], strict=True))


def test_each_rule_is_named_and_counted():
    result = filter_transactions(LINES)
    assert counts(result) == {
        "unit_price_below_min": 1,
        "non_product_stock_code": 3,
        "unknown_country": 1,
        "excluded_customer": 1,
        "anonymous_line": 3,
        "return_line": 1,
    }
    assert result.lines["invoice_no"].tolist() == ["1", "C7"]
    assert result.lines["is_return"].tolist() == [False, True]
    removed = result.quarantine.set_index("rule")["revenue_removed"]
    assert removed["non_product_stock_code"] == pytest.approx(28.0)


def test_input_is_not_changed():
    before = LINES.copy()
    filter_transactions(LINES, FilterConfig(anonymous="synthetic"))
    assert LINES.equals(before)


def test_synthetic_policy_makes_one_customer_per_anonymous_invoice_in_date_order():
    result = filter_transactions(LINES, FilterConfig(anonymous="synthetic"))
    anon = result.lines[result.lines["is_synthetic_customer"]]
    ids = dict(zip(anon["invoice_no"], anon["customer_id"], strict=False))
    assert ids == {"6": 19000, "5": 19001}  # invoice 6 is earlier than invoice 5
    assert counts(result)["anonymous_relabelled"] == 3
    assert "anonymous_line" not in counts(result)


def test_rules_are_configurable():
    config = FilterConfig(min_unit_price=0.0, excluded_customers=(), excluded_countries=())
    assert len(filter_transactions(LINES, config).lines) == 5


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="anonymous policy must be one of"):
        FilterConfig(anonymous="keep")  # type: ignore[arg-type]


def test_synthetic_ids_must_not_collide_with_real_ones():
    config = FilterConfig(anonymous="synthetic", synthetic_id_start=50)
    with pytest.raises(ValueError, match="raise synthetic_id_start"):
        filter_transactions(LINES, config)
