"""Gamma-Gamma, the spend per purchase day: its likelihood (fitted with BG/NBD in :mod:`.bgnbd`)."""

from __future__ import annotations

import numpy as np
from scipy import special


def _gamma_gamma_loglik(log_params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend ``m`` over ``x`` transactions."""
    p, q, v = np.exp(log_params)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q)
                + q * np.log(v) + (p * x - 1) * np.log(m) + p * x * np.log(x)
                - (p * x + q) * np.log(v + x * m))
