"""The Insiders tier with hysteresis, chained month to month (issues 12 and 24).

Two shops: the bundled data (``--shop bundled``, the 9th of 2011-04 to 2011-09) and a launch
cohort made from it (``--shop cohort``: only the customers whose first purchase falls in the
data's first ``--cohort-weeks`` weeks, so that every customer arrived in one wave; the 9th of
every month 2011-01 to 2011-12, the young months included). Each month the value model
(``ValueModel()``, the bench_value default) is fitted on the lines up to that day, and
:func:`insiders.membership.decide_membership` takes last month's members as ``previous``.
Per month: the tier's size, the share of the next 91 days' revenue it brings (at the months
with 91 days of data after them), against the top N by past revenue and the value model's own
top N (no hysteresis) of the same size, and how many of last month's members stayed.

Targets: >= 90% of last month's Insiders stay, on both shops; at equal size, at least the top
N by past revenue. Run: .venv/bin/python bench/bench_membership.py --record [--shop cohort]
[--exit-share 0.3 ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd
from _record import record

from insiders.backtest import HORIZON_DAYS, capture_table, precomputed, retention, select_top_revenue
from insiders.features import build_customer_features
from insiders.filters import filter_transactions
from insiders.ingest import read_transactions
from insiders.membership import MembershipPolicy, decide_membership
from insiders.ranking import top_n
from insiders.value import ValueModel

DATA = Path(__file__).resolve().parent.parent / "data" / "online_retail.parquet"
CUTS = tuple(f"2011-{m:02d}-09" for m in range(4, 10))
#: The cohort shop's months: every month of the data with a month before it.
COHORT_CUTS = tuple(f"2011-{m:02d}-09" for m in range(1, 13))


def launch_cohort(kept: pd.DataFrame, weeks: int) -> pd.DataFrame:
    """The lines of the customers whose first purchase is in the data's first ``weeks``."""
    first = kept.groupby("customer_id")["invoice_date"].min()
    start = kept["invoice_date"].min().normalize()
    wave = first.index[first < start + pd.Timedelta(weeks=weeks)]
    return kept[kept["customer_id"].isin(wave)]


def chain(kept: pd.DataFrame, policy: MembershipPolicy,
          cuts: tuple[str, ...] = CUTS) -> tuple[dict, dict]:
    """The tier each month, and the value model's own top N of the tier's size."""
    tiers, plain = {}, {}
    previous = None
    for day in cuts:
        cut = pd.Timestamp(day)
        past = kept[kept["invoice_date"].dt.normalize() <= cut]
        model = ValueModel().fit(past, cut)
        values = model.predict(past, cut)
        features = build_customer_features(past, cut)
        values = values.join(features[["recency_days", "gross_revenue"]], how="inner")
        decided = decide_membership(values, policy, previous=previous, month=cut)
        tiers[cut] = decided.index[decided["is_insider"]]
        plain[cut] = top_n(values["expected_revenue"], len(tiers[cut]),
                           tiebreak=values["gross_revenue"])
        previous = decided[decided["status"] != "left"]
        print(f"{day}: {len(tiers[cut]):,} Insiders ({model.method_})", flush=True)
    return tiers, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entry-share", type=float, default=MembershipPolicy.entry_share)
    parser.add_argument("--exit-share", type=float, default=MembershipPolicy.exit_share)
    parser.add_argument("--grace-months", type=int, default=MembershipPolicy.grace_months)
    parser.add_argument("--shop", choices=("bundled", "cohort"), default="bundled")
    parser.add_argument("--cohort-weeks", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    policy = MembershipPolicy(args.entry_share, args.exit_share, args.grace_months)
    kept = filter_transactions(read_transactions(DATA)).lines
    cuts = CUTS
    if args.shop == "cohort":
        kept, cuts = launch_cohort(kept, args.cohort_weeks), COHORT_CUTS
    shop = (f"launch cohort (first purchase in the first {args.cohort_weeks} weeks: "
            f"{kept['customer_id'].nunique():,} customers)" if args.shop == "cohort"
            else "bundled data")
    tiers, plain = chain(kept, policy, cuts)
    sizes = {cut: len(ids) for cut, ids in tiers.items()}
    horizon_end = kept["invoice_date"].max().normalize() - pd.Timedelta(days=HORIZON_DAYS)
    table = capture_table(
        kept, [cut for cut in tiers if cut <= horizon_end], lambda past, cut: sizes[cut],
        {"Insiders (value + hysteresis)": precomputed(tiers),
         "value model top N (no hysteresis)": precomputed(plain),
         "top N past revenue": select_top_revenue},
    )
    wide = table.pivot(index="rule", columns="cut_date", values="share") * 100
    wide.columns = [c.date().isoformat() for c in wide.columns]
    stay = pd.DataFrame({"Insiders (value + hysteresis)": retention(tiers),
                         "value model top N (no hysteresis)": retention(plain)}).T * 100
    stay.columns = [c.date().isoformat() for c in stay.columns]
    gap = wide.loc["Insiders (value + hysteresis)"] - wide.loc["top N past revenue"]
    print(f"shop: {shop}; policy: {policy.describe()}")
    print("share (%) of the next 91 days' revenue at equal size")
    print(wide.round(1).to_string())
    print("Insiders - top N (points): " + ", ".join(f"{v:+.1f}" for v in gap))
    print("of last month's members still in (%)")
    print(stay.round(1).to_string())
    if args.record:
        record(f"Insiders tier with hysteresis (entry top {policy.entry_share:.0%}, exit top "
               f"{policy.exit_share:.0%}, grace {policy.grace_months} month), {shop}, chained "
               f"monthly {cuts[0]}..{cuts[-1]}",
               f"size {'/'.join(str(v) for v in sizes.values())}; capture of next 91 days (%): "
               + "; ".join(f"{rule}: " + "/".join(f"{v:.1f}" for v in row)
                           for rule, row in wide.iterrows())
               + f"; Insiders - top N: {'/'.join(f'{v:+.1f}' for v in gap)} points; stayed (%): "
               + "; ".join(f"{rule}: " + "/".join(f"{v:.1f}" for v in row)
                           for rule, row in stay.iterrows())
               + " (targets: >= top N at every cut; >= 90% stay)")


if __name__ == "__main__":
    main()
