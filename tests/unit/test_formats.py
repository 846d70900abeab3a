"""One formatter per kind of value (insiders.formats), on hand-picked values."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from insiders import formats


@pytest.mark.parametrize("value", [14646, 14646.0, np.int64(14646), np.float64(14646.0), "14646"])
def test_ids_are_plain_digits(value):
    assert formats.identifier(value) == "14646"


def test_an_id_that_is_not_whole_is_an_error():
    with pytest.raises(ValueError, match="whole number"):
        formats.identifier(14646.5)


@pytest.mark.parametrize(("value", "printed"), [
    (1_234_567, "£1.23 M"),
    (999_960, "£1.00 M"),  # the size is read after rounding
    (45_287, "£45,300"),
    (10_000, "£10,000"),
    (9_999.6, "£10,000"),
    (7_697.4, "£7,697"),
    (604.71, "£605"),
    (100, "£100"),
    (99.996, "£100"),
    (12.5, "£12.50"),
    (0.85, "£0.85"),
    (0, "£0.00"),
    (-1_234.4, "-£1,234"),
    (-0.001, "£0.00"),  # no minus on a printed zero
])
def test_money_rounds_by_size(value, printed):
    assert formats.money(value) == printed


def test_money_names_its_currency():
    assert formats.money(45_287, "EUR") == "€45,300"
    assert formats.money(12.5, "USD") == "$12.50"
    assert formats.money(12.5, "CHF") == "CHF 12.50"
    assert formats.money(12.5, signed=True) == "+£12.50"
    assert formats.money(-12.5, signed=True) == "-£12.50"
    assert formats.fmt(1_500_000, "money", currency="EUR") == "€1.50 M"
    assert formats.fmt(1_500_000, "money:USD", currency="EUR") == "$1.50 M"


@pytest.mark.parametrize(("value", "printed"), [
    (0.612, "61.2%"), (0.6341, "63.4%"), (1, "100.0%"), (0, "0.0%"), (0.0004, "<0.1%"),
    (0.0005, "0.1%"),
])
def test_shares_are_percentages(value, printed):
    assert formats.share(value) == printed


def test_share_digits():
    assert formats.share(0.2534, 2) == "25.34%"
    assert formats.share(0.63, 0) == "63%"
    assert formats.share(0.003, 0) == "<1%"


@pytest.mark.parametrize(("value", "printed"), [
    (1097, "1,097"), (1097.0, "1,097"), (np.int64(4329), "4,329"), (0, "0"), (12.5, "12.5"),
    (207.395, "207.4"), (1_234_567, "1,234,567"),
])
def test_counts_have_thousands_separators(value, printed):
    assert formats.count(value) == printed


def test_days_ratios_numbers():
    assert formats.days(9.23) == "9.2 days"
    assert formats.days(6.0) == "6 days"
    assert formats.days(1) == "1 day"
    assert formats.days(30, 0, signed=True) == "+30 days"
    assert formats.days(322.39, 0) == "322 days"
    assert formats.ratio(2.345) == "2.3x"
    assert formats.ratio(0.163) == "0.16x" and formats.ratio(0.96) == "0.96x"
    assert formats.ratio(0.999) == "1.00x" and formats.ratio(1.04) == "1.0x"
    assert formats.number(0.43214, 4) == "0.4321"
    assert formats.number(14084.8959, 1) == "14,084.9"
    assert formats.p_value(2.734e-196) == "2.73e-196"
    assert formats.flag(1.0) == "yes" and formats.flag(0.0) == "no"


@pytest.mark.parametrize("kind", sorted(formats.KINDS))
def test_missing_values_print_a_dash(kind):
    assert formats.fmt(None, kind) == formats.MISSING
    assert formats.fmt(float("nan"), kind) == formats.MISSING


def test_kinds_with_options():
    assert formats.fmt(0.43214, "number:4") == "0.4321"
    assert formats.fmt(0.2534, "share:2") == "25.34%"
    assert formats.feature(12.5, "recency_days") == "12.5 days"
    assert formats.feature(1843.0, "gross_revenue") == "£1,843"
    assert formats.feature(0.12345, "not_a_feature") == "0.12"


def test_feature_kinds_cover_every_feature():
    from insiders.options import FEATURE_DESCRIPTIONS

    assert set(formats.FEATURE_KINDS) == set(FEATURE_DESCRIPTIONS)


def test_formatters_are_jinja2_filters():
    import jinja2

    env = formats.register(jinja2.Environment(), currency="EUR")
    out = env.from_string(
        "{{ a | customer_id }} {{ b | money }} {{ b | money('GBP') }} {{ c | share }} "
        "{{ d | count }} {{ e | days }} {{ f | ratio }} {{ g | fmt('number:4') }}"
    ).render(a=14646.0, b=45_287, c=0.612, d=1097, e=9.23, f=2.345, g=0.43214)
    assert out == "14646 €45,300 £45,300 61.2% 1,097 9.2 days 2.3x 0.4321"


def test_formats_imports_nothing_heavy():
    code = ("import sys, insiders.formats; print(','.join(m for m in ('pandas', 'numpy', 'jinja2', "
            "'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
