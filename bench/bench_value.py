"""Out-of-time capture of the value models against plain rules (issue 12), on the bundled data.

At each cut date, N customers are selected on the lines up to the cut; the figure is the
share of the next 91 days' revenue (of the customers known at the cut) that they bring.
N = 20% of the customers with a purchase in the 365 days before the cut (``--n`` to fix it).
Also: each value model's fit time and peak memory (tracemalloc, Python allocations), and the
month-to-month retention of "top 20% by expected revenue" (no hysteresis).

Targets: the value model >= top N by past revenue at every cut; moonshot +2 points over the
better of top N and BG/NBD; <= 20 s added to a run.
Run: .venv/bin/python bench/bench_value.py --record
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd
from _record import record

from insiders.backtest import (
    capture_table,
    n_active_share,
    retention,
    select_rfm,
    select_top_revenue,
    select_value_model,
)
from insiders.filters import filter_transactions
from insiders.ingest import read_transactions
from insiders.value import ValueModel, future_revenue

DATA = Path(__file__).resolve().parent.parent / "data" / "online_retail.parquet"
#: The issue's four cut dates, and 2011-05-09 before them for one more month of retention.
CUTS = ("2011-05-09", "2011-06-09", "2011-07-09", "2011-08-09", "2011-09-09")
ISSUE_CUTS = CUTS[1:]
#: The candidates: label -> ValueModel keyword arguments.
CANDIDATES: dict[str, dict] = {
    "gbm": {"method": "gbm"},
    "bgnbd": {"method": "bgnbd"},
    "blend": {"method": "blend"},
}


def fit_cost(kept: pd.DataFrame, cut: str, kwargs: dict) -> tuple[float, float]:
    """Wall time of fit+predict (median of 3) and peak traced Python memory (MB) of one more."""
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        ValueModel(**kwargs).fit(kept, cut).predict(kept)
        walls.append(time.perf_counter() - t0)
    tracemalloc.start()
    ValueModel(**kwargs).fit(kept, cut).predict(kept)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return sorted(walls)[1], peak / 1024**2


def luck(kept: pd.DataFrame, cut: pd.Timestamp, a: pd.Index, b: pd.Index) -> tuple[float, float]:
    """(share of a - share of b, the same without the one customer who adds most to it), in points."""
    past = kept[kept["invoice_date"].dt.normalize() <= cut]
    known = pd.Index(past.loc[~past["is_return"], "customer_id"].unique()).astype("int64")
    future = future_revenue(kept, cut).reindex(known, fill_value=0.0)
    contribution = (future.reindex(a.difference(b), fill_value=0.0).sum()
                    - future.reindex(b.difference(a), fill_value=0.0).sum())
    gains = future.reindex(a.difference(b), fill_value=0.0)
    top_gain = float(gains.max()) if len(gains) else 0.0
    total = float(future.sum())
    return 100 * contribution / total, 100 * (contribution - top_gain) / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=None, help="fixed N (default: 20%% of the active customers)")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()

    lines = read_transactions(DATA)
    kept = filter_transactions(lines).lines
    n = args.n if args.n is not None else n_active_share(0.2)
    picks: dict[str, dict] = {"top N past revenue": {}}

    def keep(name, rule):
        def select(past, cut, size):
            ids = pd.Index(rule(past, cut, size))
            picks.setdefault(name, {})[cut] = ids
            return ids
        return select

    selections = {"top N past revenue": keep("top N past revenue", select_top_revenue),
                  "RFM score": keep("RFM score", select_rfm)}
    for label, kwargs in CANDIDATES.items():
        rule = select_value_model(lambda kw=kwargs: ValueModel(**kw))
        selections[f"value {label}"] = keep(f"value {label}", rule)

    t0 = time.perf_counter()
    table = capture_table(kept, CUTS, n, selections)
    wall_table = time.perf_counter() - t0
    wide = table.pivot(index="rule", columns="cut_date", values="share") * 100
    wide.columns = [c.date().isoformat() for c in wide.columns]
    wide = wide.loc[[*selections, "oracle"]]
    wide["mean (issue's 4)"] = wide[list(ISSUE_CUTS)].mean(axis=1)
    sizes = table.drop_duplicates("cut_date").set_index("cut_date")["n"]
    print("N per cut:", {c.date().isoformat(): int(v) for c, v in sizes.items()})
    print("share (%) of the next 91 days' revenue of the customers known at the cut")
    print(wide.round(1).to_string())
    print(f"table computed in {wall_table:.1f} s (5 cuts, 3 value models fitted at each)")

    # difference to top N, and the same without the single luckiest customer
    robust = {}
    print("value model - top N (points) [without its luckiest customer] at the issue's cuts")
    for label in CANDIDATES:
        diffs = [luck(kept, pd.Timestamp(c), picks[f"value {label}"][pd.Timestamp(c)],
                      picks["top N past revenue"][pd.Timestamp(c)]) for c in ISSUE_CUTS]
        robust[label] = sum(d[1] for d in diffs) / len(diffs)
        print(f"  {label:6s} " + ", ".join(f"{d:+.1f} [{r:+.1f}]" for d, r in diffs)
              + f"; mean [{robust[label]:+.2f}]")
    winner = max(robust, key=robust.get)
    print(f"default by the bench (best mean difference without the luckiest customer): {winner}")
    best_plain = wide.loc[["top N past revenue", "value bgnbd"], list(ISSUE_CUTS)].max()
    chosen = wide.loc[f"value {winner}", list(ISSUE_CUTS)]
    vs_top = chosen - wide.loc["top N past revenue", list(ISSUE_CUTS)]
    print(f"{winner} - top N: " + ", ".join(f"{v:+.1f}" for v in vs_top))
    print(f"{winner} - max(top N, bgnbd): " + ", ".join(f"{v:+.1f}" for v in (chosen - best_plain)))

    costs = {label: fit_cost(kept, CUTS[-1], kwargs) for label, kwargs in CANDIDATES.items()}
    for label, (wall, peak) in costs.items():
        print(f"fit+predict {label} at {CUTS[-1]}: {wall:.2f} s, peak traced {peak:.0f} MB")
    print(f"max RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

    ret_table = pd.DataFrame({name: retention(by_cut) for name, by_cut in picks.items()}).T * 100
    ret_table.columns = [c.date().isoformat() for c in ret_table.columns]
    print("retention (%) of last month's top 20% (no hysteresis)")
    print(ret_table.round(1).to_string())

    if args.record:
        cells = "; ".join(f"{rule}: " + "/".join(f"{v:.1f}" for v in wide.loc[rule, list(ISSUE_CUTS)])
                          for rule in wide.index)
        cuts = "/".join(c[5:] for c in ISSUE_CUTS)
        record(f"value model: capture of next 91 days' revenue (%), cuts {cuts} 2011",
               f"N={'/'.join(str(int(v)) for v in sizes.iloc[1:])} (20% of customers active in the year "
               f"before the cut; share of the revenue of customers known at the cut); {cells}; "
               f"default {winner}: {'/'.join(f'{v:+.1f}' for v in vs_top)} vs top N, "
               f"{'/'.join(f'{v:+.1f}' for v in (chosen - best_plain))} vs max(top N, bgnbd)")
        record("value model fit+predict at 2011-09-09 (median of 3)",
               "; ".join(f"{label} {wall:.2f} s, peak traced {peak:.0f} MB"
                         for label, (wall, peak) in costs.items()))
        record("retention of top 20% month to month (no hysteresis), %",
               "; ".join(f"{label}: " + "/".join(f"{v:.1f}" for v in row)
                         for label, row in ret_table.iterrows())
               + f" (at {'/'.join(ret_table.columns)})")


if __name__ == "__main__":
    main()
