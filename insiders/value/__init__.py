"""Per-customer value over the next months: expected revenue and the probability of buying.

Two models and their blend:

- ``"gbm"``: gradient-boosted trees (:class:`~sklearn.ensemble.HistGradientBoostingRegressor`
  with a Poisson loss for revenue, a :class:`~sklearn.ensemble.HistGradientBoostingClassifier`
  for ``p_active``) trained on earlier monthly windows of the same lines: features as of a
  past cut -> revenue of the ``horizon_days`` after it. Every training window's target ends
  on or before the reference date, so nothing after it is used.
- ``"bgnbd"``: the BG/NBD purchase model with the Gamma-Gamma spend model (Fader, Hardie and
  Lee 2005), fitted by maximum likelihood with scipy on the purchase days up to the reference
  date.
- ``"blend"``: the mean of the two expected revenues (and of the two ``p_active``); the
  default (how it was chosen: docs/insiders.md).

When the requested model cannot be fitted on the data, :class:`ValueModel` steps down, says
so (``method_``, ``fallback_reason_``) and never fails: the trees need at least one training
window (``min_history_days`` of history plus the horizon before the reference date), so a young
shop's first months get BG/NBD + Gamma-Gamma alone, which needs no window; BG/NBD needs
``MIN_BTYD_DAYS`` of purchases and ``MIN_BTYD_CUSTOMERS`` customers, ``MIN_REPEATERS`` of them
with a repeat purchase day, so a shop's first weeks get ``"past_revenue"`` (the naive forecast:
the next horizon brings what the last one did).

Revenue is *gross*: quantity x unit price over purchase lines; returns are left out, as in
the ``gross_revenue`` feature (a return is rarely of the same quarter's purchases, and the
loyalty question is who buys). Dates are taken at day resolution, like the features.

Modules: :mod:`~insiders.value.lines` (the purchase lines and the per-day tables the models
read, :class:`LineHistory`), :mod:`~insiders.value.bgnbd` (BG/NBD, fitted with
Gamma-Gamma: :class:`BetaGeoGammaGamma`), :mod:`~insiders.value.gamma_gamma` (Gamma-Gamma's
likelihood), :mod:`~insiders.value.boosted` (the gradient-boosted trees and their training
windows) and :mod:`~insiders.value.blend` (:class:`ValueModel`: the models fitted, blended or
stepped down from).
"""

from insiders.value.bgnbd import BetaGeoGammaGamma
from insiders.value.blend import (
    MIN_BTYD_CUSTOMERS,
    MIN_BTYD_DAYS,
    MIN_REPEATERS,
    PAST_REVENUE,
    ValueModel,
    forecast_of,
)
from insiders.value.boosted import GBM_FEATURES, training_cuts
from insiders.value.lines import (
    HORIZON_DAYS,
    VALUE_COLUMNS,
    DateLike,
    LineHistory,
    btyd_summary,
    future_revenue,
    value_features,
)

__all__ = [
    "GBM_FEATURES",
    "HORIZON_DAYS",
    "MIN_BTYD_CUSTOMERS",
    "MIN_BTYD_DAYS",
    "MIN_REPEATERS",
    "PAST_REVENUE",
    "VALUE_COLUMNS",
    "BetaGeoGammaGamma",
    "DateLike",
    "LineHistory",
    "ValueModel",
    "btyd_summary",
    "forecast_of",
    "future_revenue",
    "training_cuts",
    "value_features",
]
