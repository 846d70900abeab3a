"""The report's plots, apart from its text: each function takes a run's tables and returns a
Matplotlib figure (:func:`png` turns it into bytes). Nothing here computes a finding."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from insiders import answers, formats
from insiders.headers import FEATURE_AXES, HEADERS

PLOTS = {  # file name under plots/: what it shows
    "embedding.png": "Customers coloured by segment",
    "features_by_segment.png": "Feature distributions by segment",
    "shares.png": "Shares per segment",
    "forecast.png": "Forecast",
    "membership.png": "Membership",
    "calibration.png": "Forecast against actual per decile",
}



def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(fig) -> bytes:
    """A figure as PNG bytes (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _figure().close(fig)
    return buffer.getvalue()


def _symbol(currency: str) -> str:
    return formats.CURRENCY_SYMBOLS.get(currency, currency) or "no currency given"


def _ticks(kind: str, currency: str = formats.DEFAULT_CURRENCY):
    """A tick formatter printing values as ``kind`` (``money`` ticks read ``£1.20 M``), never
    with an offset or a scientific multiplier."""
    from matplotlib.ticker import FuncFormatter

    if kind == "days":  # the axis label carries the unit
        return FuncFormatter(lambda v, _: formats.count(round(v, 1)))
    if kind.startswith("money"):  # round ticks without pence: £0, £10, £800,000, £1.20 M
        return FuncFormatter(lambda v, _: formats.fmt(v, kind, currency).removesuffix(".00"))
    return FuncFormatter(lambda v, _: formats.fmt(v, kind, currency))


def _feature_axis(name: str, currency: str) -> str:
    return FEATURE_AXES.get(name, HEADERS.get(name, name)).format(currency=_symbol(currency))


def _colors(segments: pd.DataFrame) -> dict[int, Any]:
    plt = _figure()
    ids = sorted(segments["segment_id"].unique())
    cmap = plt.get_cmap("tab10")
    return {s: cmap(i % 10) for i, s in enumerate(ids)}


def plot_embedding(embedding: np.ndarray, segments: pd.DataFrame, chosen: dict,
                   feature_names: list[str] | None = None, currency: str = formats.DEFAULT_CURRENCY):
    """Customers as dots in the chosen space, coloured by segment."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 5.5))
    colors = _colors(segments)
    for (sid, name), part in segments.groupby(["segment_id", "segment_name"]):
        rows = segments.index.get_indexer(part.index)
        ax.scatter(embedding[rows, 0], embedding[rows, 1], s=4 if name != "Insiders" else 6,
                   color=colors[sid], label=f"{sid}: {name} ({len(part):,})", alpha=0.7)
    if chosen["space"] == "features" and feature_names and len(feature_names) >= 2:
        ax.set_xlabel(f"{_feature_axis(feature_names[0], currency)}, percentile")
        ax.set_ylabel(f"{_feature_axis(feature_names[1], currency)}, percentile")
        ax.xaxis.set_major_formatter(_ticks("share:0"))
        ax.yaxis.set_major_formatter(_ticks("share:0"))
    else:  # an embedding's axes have no unit: only distances between dots mean something
        space = chosen["space"].upper() if chosen["space"] == "umap" else chosen["space"]
        ax.set_xlabel(f"{space} axis 1 (no unit: nearby dots are customers who buy alike)")
        ax.set_ylabel(f"{space} axis 2 (no unit)")
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title(f"Customers coloured by segment ({chosen['candidate']})")
    ax.legend(markerscale=3, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1),
              title="Segment (customers)", title_fontsize=7)
    return fig


def plot_features(features: pd.DataFrame, segments: pd.DataFrame, names: list[str],
                  currency: str = formats.DEFAULT_CURRENCY):
    """One box plot per feature, segments side by side, the highest-value segment first."""
    plt = _figure()
    columns = min(len(names), 3)
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.4 * rows), squeeze=False)
    joined = features.join(segments[["segment_id", "segment_name"]])
    order = (joined.groupby("segment_id")["gross_revenue"].mean().sort_values(ascending=False)
             .index.tolist())
    for ax, name in zip(axes.flat, names, strict=False):
        data = [joined.loc[joined["segment_id"] == s, name].dropna().to_numpy() for s in order]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(order) + 1), [str(s) for s in order])
        kind = formats.FEATURE_KINDS.get(name, "number:2")
        label = _feature_axis(name, currency)
        if kind != "number:3":  # wide-ranging amounts: a log scale that keeps zeros
            ax.set_yscale("symlog", linthresh=1)
            label += ", log scale"
        if all(len(d) == 0 or d.min() >= 0 for d in data):
            ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_ticks(kind, currency))
        ax.yaxis.set_minor_locator(plt.NullLocator())
        ax.set_ylabel(label, fontsize=8)
        ax.set_title(HEADERS.get(name, name), fontsize=9)
        ax.set_xlabel("Segment", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Features by segment (boxes: middle half of customers; highest-value segment "
                 "first)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_shares(profiles: pd.DataFrame):
    """Share of customers and of revenue per segment."""
    from matplotlib.ticker import PercentFormatter

    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    x = np.arange(len(profiles))
    ax.bar(x - 0.2, profiles["share_customers"] * 100, 0.4, label="Share of customers")
    ax.bar(x + 0.2, profiles["share_revenue"] * 100, 0.4, label="Share of revenue")
    ax.set_xticks(x, [f"{r.segment_id}: {r.segment_name}" for r in profiles.itertuples()],
                  rotation=30, ha="right", fontsize=7)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_xlabel("Segment")
    ax.set_ylabel("Share (% of all customers / of revenue)")
    ax.set_title("Share of customers and of revenue per segment")
    ax.legend(fontsize=8)
    return fig


def plot_forecast(series: pd.Series, forecast: answers.Forecast, currency: str = formats.DEFAULT_CURRENCY):
    """The Insiders' monthly revenue, the forecast and the back-test, in money per month."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(series.index.astype(str), series.to_numpy(), marker="o", label="Insiders' revenue")
    f = forecast.forecast
    ax.plot(f["month"], f["expected"], marker="o", linestyle="--",
            label="forecast (Holt)" if forecast.method == answers.HOLT else "forecast (naive)")
    ax.plot(f["month"], f["naive"], marker="x", linestyle=":", label="naive (last 3 months)")
    b = forecast.backtest
    if b is not None:
        ax.plot(b["month"], b["model"], marker=".", linestyle="--", alpha=0.6,
                label="back-test forecast (group selected 3 months earlier)")
        ax.plot(b["month"], b["actual"], marker=".", alpha=0.6, label="back-test actual")
    ax.yaxis.set_major_formatter(_ticks("money", currency))
    ax.set_ylim(bottom=0)
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    ax.set_xlabel("Month")
    ax.set_ylabel(f"Revenue per month ({_symbol(currency)})")
    ax.set_title("Monthly revenue of Insiders: history, forecast and back-test")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def plot_membership(changes: pd.DataFrame):
    """Insiders per monthly run, with the customers who joined and left."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = changes["reference_date"].astype(str)
    ax.bar(x, changes["entered"], label="joined", color="tab:green")
    ax.bar(x, -changes["left"], label="left (below zero)", color="tab:red")
    ax.plot(x, changes["insiders"], marker="o", color="black", label="Insiders")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.yaxis.set_major_formatter(_ticks("count"))
    ax.set_xlabel("Monthly run (data up to)")
    ax.set_ylabel("Customers")
    ax.set_title("Insiders per monthly run: who joined, who left")
    ax.tick_params(axis="x", rotation=30, labelsize=7)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig




def plot_calibration(calibration: pd.DataFrame, currency: str = formats.DEFAULT_CURRENCY):
    """Mean forecast and mean actual revenue per decile of forecast (1: the highest tenth), at
    the last month whose next 91 days are known."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(len(calibration))
    ax.bar(x - 0.2, calibration["mean_forecast"], width=0.4, label="mean forecast",
           color="tab:blue")
    ax.bar(x + 0.2, calibration["mean_actual"], width=0.4, label="mean actual",
           color="tab:orange")
    ax.set_xticks(x, calibration["decile"].astype(int).astype(str))
    ax.yaxis.set_major_formatter(_ticks("money", currency))
    ax.set_xlabel("Decile of the forecast (1: the highest tenth of customers)")
    ax.set_ylabel("Revenue per customer, next 91 days")
    day = calibration["cut_date"].iloc[0] if "cut_date" in calibration else ""
    ax.set_title(f"Forecast against what followed, per decile (selected on data up to {day})")
    ax.legend(fontsize=7)
    return fig
