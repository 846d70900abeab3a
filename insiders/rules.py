"""The business rules that read a segment's figures against the whole base, defined once:
segment names (:func:`insiders.segments.name_segment`) and marketing actions
(:func:`insiders.answers.actions`) both use them.

"High returns" is one definition: a return rate (units returned over units bought) at least
``high_returns_ratio`` times the base's **and** at least ``high_returns_min_rate``. Twice the
base alone would flag a segment returning 1.2% against a base's 0.6%, which no marketer
would act on; the floor of 5% keeps the label (and the action) for segments where returns
are a cost worth checking. It was the names' definition; the actions used a 2% floor.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Value tiers, highest first.
TIERS = ("High value", "Mid value", "Low value")


@dataclass(frozen=True)
class SegmentRules:
    """Thresholds on a segment's means, as multiples of the whole base's means."""

    high_value_ratio: float = 2.0  # value tier without a rank: high from twice the base ...
    mid_value_ratio: float = 0.75  # ... mid from three quarters, low below
    active_recency_ratio: float = 0.5  # last purchase at most half the base's recency: active
    lapsed_recency_ratio: float = 1.5  # at least 1.5 times the base's recency: lapsed
    one_off_invoices: float = 1.5  # fewer purchase invoices than this on average: one-off
    high_returns_ratio: float = 2.0  # return rate at least twice the base's ...
    high_returns_min_rate: float = 0.05  # ... and at least 5% of units
    rare_frequency_ratio: float = 0.5  # buys less than half as often as the base: habit action
    upgrade_value_ratio: float = 1.5  # non-Insiders worth 1.5 times the base: upgrade action

    def value_tier(self, value_ratio: float) -> str:
        """``High value``, ``Mid value`` or ``Low value`` from value over the base's."""
        if value_ratio >= self.high_value_ratio:
            return TIERS[0]
        return TIERS[1] if value_ratio >= self.mid_value_ratio else TIERS[2]

    def recency_label(self, recency_ratio: float) -> str:
        """``active``, ``cooling`` or ``lapsed`` from mean recency over the base's."""
        if recency_ratio <= self.active_recency_ratio:
            return "active"
        return "lapsed" if recency_ratio >= self.lapsed_recency_ratio else "cooling"

    def is_lapsed(self, recency_ratio: float) -> bool:
        return self.recency_label(recency_ratio) == "lapsed"

    def is_active(self, recency_ratio: float) -> bool:
        return self.recency_label(recency_ratio) == "active"

    def is_one_off(self, mean_invoices: float) -> bool:
        return mean_invoices < self.one_off_invoices

    def is_high_returns(self, rate: float, base_rate: float) -> bool:
        """The one definition of "high returns" (see the module's docstring)."""
        return rate >= max(self.high_returns_ratio * base_rate, self.high_returns_min_rate)


def return_rate(qty_returned: float, n_items: float) -> float:
    """Units returned over units bought (0 when nothing was bought)."""
    return qty_returned / n_items if n_items > 0 else 0.0


def over(value: float, base: float) -> float:
    """``value`` as a multiple of ``base`` (a tiny base counts as 1e-9, not zero)."""
    return value / max(base, 1e-9)


#: The rules every run uses.
RULES = SegmentRules()
