"""BG/NBD, the purchase days: its likelihood, the maximum-likelihood fit, and
:class:`BetaGeoGammaGamma` (BG/NBD with Gamma-Gamma's spend)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from insiders.value.gamma_gamma import _gamma_gamma_loglik

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Distinct:
    """An array as its distinct values and each element's position among them: a function of
    the array is computed once per distinct value and spread back (the same numbers, with far
    fewer calls when values repeat, as purchase-day counts and days do)."""

    values: np.ndarray
    index: np.ndarray

    @classmethod
    def of(cls, array: np.ndarray) -> _Distinct:
        values, index = np.unique(array, return_inverse=True)
        return cls(values, index)

    def map(self, function) -> np.ndarray:
        return function(self.values)[self.index]


def _bgnbd_loglik(log_params: np.ndarray, x: _Distinct, tx: _Distinct, T: _Distinct) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = np.exp(log_params)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _bgnbd_terms(r, alpha, a, b, x, tx, T)


def _bgnbd_terms(r: float, alpha: float, a: float, b: float, x: _Distinct, tx: _Distinct,
                 T: _Distinct) -> np.ndarray:
    a1 = x.map(lambda v: special.gammaln(r + v) - special.gammaln(r) + r * np.log(alpha))
    a2 = x.map(lambda v: special.gammaln(a + b) + special.gammaln(b + v) - special.gammaln(b)
               - special.gammaln(a + b + v))
    r_x = x.map(lambda v: r + v)
    a3 = -r_x * T.map(lambda v: np.log(alpha + v))
    repeat = x.map(lambda v: v > 0)
    a4 = np.full_like(a3, -np.inf)
    a4[repeat] = (np.log(a) - x.map(lambda v: np.log(b + v - 1))[repeat]
                  - r_x[repeat] * tx.map(lambda v: np.log(alpha + v))[repeat])
    return a1 + a2 + np.logaddexp(a3, a4)



def _fit_mle(loglik, start: np.ndarray, args: tuple, penalizer: float) -> np.ndarray:
    def objective(theta: np.ndarray) -> float:
        if np.any(np.abs(theta) > 30):
            return 1e100
        value = -np.mean(loglik(theta, *args)) + penalizer * float(np.sum(theta**2))
        return value if np.isfinite(value) else 1e100

    result = optimize.minimize(objective, start, method="Nelder-Mead",
                               options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10})
    result = optimize.minimize(objective, result.x, method="L-BFGS-B")
    return result.x


@dataclass
class BetaGeoGammaGamma:
    """BG/NBD (purchase days) with Gamma-Gamma (spend per purchase day), time in days.

    Parameters follow Fader, Hardie & Lee (2005): purchase rate ~ Gamma(r, alpha), dropout
    after each purchase ~ Beta(a, b); spend per purchase day ~ Gamma(p, nu), nu ~ Gamma(q,
    gamma). Fitted by maximum likelihood (a tiny L2 penalty on the log-parameters, ``penalizer``,
    keeps the optimum finite; it does not depend on the currency or time unit); deterministic
    (fixed start, Nelder-Mead then L-BFGS-B).
    """

    penalizer: float = 1e-6
    params_: dict[str, float] | None = None

    def fit(self, summary: pd.DataFrame) -> BetaGeoGammaGamma:
        """Fit on :func:`btyd_summary` output (every customer for BG/NBD, repeaters for spend)."""
        x = summary["frequency"].to_numpy(float)
        tx = summary["recency"].to_numpy(float)
        T = summary["T"].to_numpy(float)
        scale = max(float(np.median(T)), 1.0)
        bg = _fit_mle(_bgnbd_loglik, np.log([0.5, scale, 1.0, 1.0]),
                      (_Distinct.of(x), _Distinct.of(tx), _Distinct.of(T)), self.penalizer)
        repeat = (x > 0) & (summary["monetary"].to_numpy(float) > 0)
        m = summary["monetary"].to_numpy(float)[repeat]
        gg_start = np.log([2.0, 2.0, max(float(np.mean(m)), 1.0)])
        gg = _fit_mle(_gamma_gamma_loglik, gg_start, (x[repeat], m), self.penalizer)
        r, alpha, a, b = np.exp(bg)
        p, q, v = np.exp(gg)
        self.params_ = {"r": r, "alpha": alpha, "a": a, "b": b, "p": p, "q": q, "v": v}
        logger.info("BG/NBD+GG fitted: %s",
                    ", ".join(f"{k} = {float(val):.4g}" for k, val in self.params_.items()))
        return self

    def _check(self) -> dict[str, float]:
        if self.params_ is None:
            raise RuntimeError("BetaGeoGammaGamma is not fitted: call fit() first")
        return self.params_

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """E[purchase days in (T, T + t] | frequency, recency, T] (FHL 2005, eq. 10)."""
        pr = self._check()
        r, alpha, a, b = pr["r"], pr["alpha"], pr["a"], pr["b"]
        x = summary["frequency"].to_numpy(float)
        T = summary["T"].to_numpy(float)
        z = t / (alpha + T + t)
        log_ratio = (r + x) * np.log((alpha + T) / (alpha + T + t))
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        first = (a + b + x - 1) / (a - 1) * (1.0 - np.exp(log_ratio) * hyp)
        # no purchases without a repeat, small-t limit if hyp2f1 fails (very large x)
        fallback = (r + x) / (alpha + T) * t
        first = np.where(np.isfinite(first) & (first >= 0), first, fallback)
        return first * self.p_alive(summary)

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        """P(still a customer at T | frequency, recency, T)."""
        pr = self._check()
        r, alpha, a, b = pr["r"], pr["alpha"], pr["a"], pr["b"]
        x = summary["frequency"].to_numpy(float)
        tx = summary["recency"].to_numpy(float)
        T = summary["T"].to_numpy(float)
        log_odds = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + tx)),
            -np.inf,
        )
        return 1.0 / (1.0 + np.exp(log_odds))

    def p_active(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """P(at least one purchase in (T, T + t]): alive at T, then a Poisson event before t.

        Under BG/NBD a customer alive at T stays alive until the next purchase, and the
        posterior rate of an alive customer is Gamma(r + x, alpha + T).
        """
        pr = self._check()
        r, alpha = pr["r"], pr["alpha"]
        x = summary["frequency"].to_numpy(float)
        T = summary["T"].to_numpy(float)
        none_if_alive = np.exp((r + x) * np.log((alpha + T) / (alpha + T + t)))
        return self.p_alive(summary) * (1.0 - none_if_alive)

    def expected_spend(self, summary: pd.DataFrame) -> np.ndarray:
        """E[spend per purchase day | frequency, monetary] (Gamma-Gamma); the mean without repeats."""
        pr = self._check()
        p, q, v = pr["p"], pr["q"], pr["v"]
        x = summary["frequency"].to_numpy(float)
        m = summary["monetary"].to_numpy(float)
        population = p * v / (q - 1) if q > 1 else float(np.nan)
        conditional = (v + x * m) * p / (p * x + q - 1)
        return np.where(x > 0, conditional, population)

    def expected_revenue(self, summary: pd.DataFrame, t: float) -> np.ndarray:
        """Expected revenue in (T, T + t]: expected purchase days x expected spend per day."""
        return self.expected_purchases(summary, t) * self.expected_spend(summary)
