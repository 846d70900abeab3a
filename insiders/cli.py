"""The ``insiders`` command line: one subcommand per pipeline stage, files in and out."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from insiders import artifacts
from insiders.features import (
    FEATURE_DESCRIPTIONS,
    build_customer_features,
    last_purchase_date,
)
from insiders.filters import ANONYMOUS_POLICIES, FilterConfig, filter_transactions
from insiders.ingest import IngestError, read_transactions
from insiders.progress import set_enabled, stage
from insiders.schema import FILTERED_EXTRA

DEFAULT_SOURCE = str(Path(__file__).resolve().parent.parent / "data" / "online_retail.parquet")

EPILOG = """\
stages, in pipeline order:
  ingest    read CSV / Excel / Parquet (local or s3://...) into the one schema
  filter    apply the named filter rules; write kept lines and a quarantine summary
  features  one row of features per customer as of a reference date
  run       all of the above on one source, into one output folder

examples:
  insiders run data/online_retail.parquet --out-dir var/demo --anonymous synthetic
  insiders ingest Ecommerce.csv -o lines.parquet --encoding latin-1
  insiders features lines.parquet -o features.parquet --reference-date 2011-12-09
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``insiders`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    set_enabled(not args.quiet)
    try:
        return int(args.handler(args) or 0)
    except (IngestError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (also used to document them)."""
    parser = argparse.ArgumentParser(
        prog="insiders",
        description="Pick a shop's best customers (the Insiders loyalty programme) "
        "from its transaction lines, stage by stage.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.add_argument("-v", "--verbose", action="store_true", help="also log each step's facts")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "ingest",
        help="read transaction lines into the one schema",
        description="Read CSV, Excel or Parquet transaction lines (UCI or "
        "Online Retail II column names, or the shop's Latin-1 CSV export) "
        "and write them in the canonical schema.",
    )
    _add_source(p)
    p.add_argument("-o", "--output", required=True, help="where to write (.parquet or .csv)")
    p.set_defaults(handler=_cmd_ingest)

    p = sub.add_parser(
        "filter",
        help="apply the named filter rules",
        description="Apply the filter rules in order and write the kept lines "
        "and a quarantine summary (lines removed per rule).",
    )
    _add_source(p)
    _add_filter_options(p)
    p.add_argument("-o", "--output", required=True, help="kept lines (.parquet)")
    p.add_argument("--quarantine-out", help="quarantine summary (.csv); default beside --output")
    p.set_defaults(handler=_cmd_filter)

    features_help = "\n".join(f"  {k:<28}{v}" for k, v in FEATURE_DESCRIPTIONS.items())
    p = sub.add_parser(
        "features",
        help="build customer features",
        description="Build one row of features per customer as of a reference "
        "date. The input is either filtered lines (from 'insiders filter') or "
        "raw transactions, which are then ingested and filtered first.",
        epilog="features:\n" + features_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_source(p)
    _add_filter_options(p)
    _add_reference_date(p)
    p.add_argument("-o", "--output", required=True, help="features (.parquet or .csv)")
    p.set_defaults(handler=_cmd_features)

    p = sub.add_parser(
        "run",
        help="run every stage on one source",
        description="Run every stage on one source and write all outputs into one folder; print a summary.",
    )
    _add_source(p, default=DEFAULT_SOURCE)
    _add_filter_options(p)
    _add_reference_date(p)
    p.add_argument("--out-dir", default="var/demo", help="output folder (default: var/demo)")
    p.set_defaults(handler=_cmd_run)
    return parser


def _add_source(p: argparse.ArgumentParser, default: str | None = None) -> None:
    if default:
        p.add_argument(
            "source",
            nargs="?",
            default=default,
            help="transactions file or URL (default: the bundled UCI data)",
        )
    else:
        p.add_argument("source", help="transactions file or URL (local path, file://, s3://)")
    p.add_argument(
        "--encoding", default="auto", help="CSV text encoding (default: auto = UTF-8, else Latin-1)"
    )
    p.add_argument("--date-format", help="strptime format of text dates (default: detected)")


def _add_filter_options(p: argparse.ArgumentParser) -> None:
    defaults = FilterConfig()
    p.add_argument(
        "--anonymous",
        choices=ANONYMOUS_POLICIES,
        default=defaults.anonymous,
        help="lines without a customer id: drop them (exclude, default) or make one "
        "customer per anonymous invoice (synthetic, as the study did)",
    )
    p.add_argument(
        "--min-unit-price",
        type=float,
        default=defaults.min_unit_price,
        help=f"drop lines priced below this (default: {defaults.min_unit_price})",
    )
    p.add_argument(
        "--exclude-customer",
        type=int,
        action="append",
        metavar="ID",
        help="drop this customer (repeatable; default: 16446, the study's outlier)",
    )


def _add_reference_date(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--reference-date",
        help="features as of this day (YYYY-MM-DD); default: "
        "the day of the last purchase in the data, never today's date",
    )


def _filter_config(args: argparse.Namespace) -> FilterConfig:
    excluded = tuple(args.exclude_customer) if args.exclude_customer else (16446,)
    return FilterConfig(
        anonymous=args.anonymous, min_unit_price=args.min_unit_price, excluded_customers=excluded
    )


def _ingest(args: argparse.Namespace) -> pd.DataFrame:
    with stage(f"ingest {args.source}"):
        return read_transactions(args.source, encoding=args.encoding, date_format=args.date_format)


def _is_filtered(source: str) -> bool:
    if not source.endswith(".parquet"):
        return False
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(source).names)
    except (OSError, ValueError):
        return False
    return set(FILTERED_EXTRA) <= names


def _filter(args: argparse.Namespace, lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    with stage(f"filter (anonymous lines: {args.anonymous})"):
        result = filter_transactions(lines, _filter_config(args))
    return result.lines, result.quarantine


def _features(args: argparse.Namespace, kept: pd.DataFrame) -> pd.DataFrame:
    reference = args.reference_date or last_purchase_date(kept)
    with stage(f"features as of {pd.Timestamp(reference).date()}"):
        return build_customer_features(kept, reference)


def _cmd_ingest(args: argparse.Namespace) -> int:
    lines = _ingest(args)
    artifacts.save_frame(lines, args.output, index=False)
    print(f"{len(lines):,} lines -> {args.output}")
    return 0


def _cmd_filter(args: argparse.Namespace) -> int:
    kept, quarantine = _filter(args, _ingest(args))
    artifacts.save_frame(kept, args.output, index=False)
    q_out = args.quarantine_out or str(Path(args.output).with_suffix("")) + ".quarantine.csv"
    artifacts.save_frame(quarantine, q_out, index=False)
    print(quarantine.to_string(index=False))
    print(f"{len(kept):,} lines kept -> {args.output}; quarantine summary -> {q_out}")
    return 0


def _cmd_features(args: argparse.Namespace) -> int:
    if _is_filtered(args.source):
        kept = artifacts.load_frame(args.source)
    else:
        kept, _ = _filter(args, _ingest(args))
    features = _features(args, kept)
    artifacts.save_frame(features, args.output)
    print(f"{len(features):,} customers -> {args.output}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    out = Path(args.out_dir)
    kept, quarantine = _filter(args, _ingest(args))
    features = _features(args, kept)
    paths = {
        "lines": artifacts.save_frame(kept, out / "lines.parquet", index=False),
        "quarantine": artifacts.save_frame(quarantine, out / "quarantine.csv", index=False),
        "features": artifacts.save_frame(features, out / "features.parquet"),
    }
    print(_summary(kept, quarantine, features, paths))
    return 0


def _summary(
    kept: pd.DataFrame, quarantine: pd.DataFrame, features: pd.DataFrame, paths: dict[str, str]
) -> str:
    removed = quarantine[quarantine["lines_removed"] > 0]
    rows = [f"  {r.rule:<24}{r.lines_removed:>9,} lines" for r in removed.itertuples()]
    out = [
        "",
        "Insiders — run summary",
        f"  lines kept              {len(kept):>9,}",
        *rows,
        f"  customers               {len(features):>9,}",
        f"  revenue (purchases)     {features['gross_revenue'].sum():>12,.2f}",
        "",
        "Outputs:",
        *[f"  {name:<12}{Path(p).resolve()}" for name, p in paths.items()],
    ]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
