"""The ``insiders`` command line: one subcommand per pipeline stage, files in and out."""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from insiders import artifacts, run_folder
from insiders.config import (
    PARAMS,
    FilterConfig,
    RunConfig,
    form_defaults,
)
from insiders.errors import InputError
from insiders.numba_target import NumbaTargetError
from insiders.options import FEATURE_DESCRIPTIONS
from insiders.progress import set_enabled, show_in_terminal, stage
from insiders.schema import FILTERED_EXTRA

if TYPE_CHECKING:
    import pandas as pd

#: The run configuration's defaults, which the flags show and take (a preset's rules: none,
#: they follow the preset chosen).
_DEFAULTS = form_defaults()

# The stages (pandas, scikit-learn, UMAP) are imported by the subcommands that run them, so that
# ``insiders --help`` and argument errors answer at once.

DEFAULT_SOURCE = str(Path(__file__).resolve().parent.parent / "data" / "online_retail.parquet")

EPILOG = """\
a first look at a shop's export:
  inspect   each column's role, the --preset or --columns line to run with, what it reads

stages, in pipeline order:
  ingest    read CSV / Excel / Parquet (local or s3://...) into the one schema
  filter    apply the named filter rules; write kept lines and a quarantine summary
  features  one row of features per customer as of a reference date
  embed     scale the features once; fit UMAP, t-SNE and the tree-leaf space
  compare   every model x space x k, scored by silhouette, Davies-Bouldin, Calinski-Harabasz
  select    pick the model by policy, keep segment ids from last month (segments);
            choose this month's Insiders (tier)
  backtest  replay the months before; bootstrap the clusters; back-test the rules
  report    answer the nine business questions: HTML + Markdown report, plots, answers
  run       all of the above on one source, into one output folder

examples:
  insiders inspect orders_export.csv
  insiders run orders_export.csv --preset auto --out-dir var/shop
  insiders run data/online_retail.parquet --out-dir var/demo --anonymous synthetic
  insiders select --run-dir var/demo --rule best_silhouette --k-range 5 10
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
    if not args.quiet:
        show_in_terminal()
    try:
        return int(args.handler(args) or 0)
    except OSError as exc:  # a folder that cannot be written, a full disk, a path under a file
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"error: cannot read or write{where}: {exc.strerror or exc}. Check the path, its "
              "permissions and the free space", file=sys.stderr)
        return 2
    except Exception as exc:
        if isinstance(exc, _fixable()):  # bad input, a choice, or a busy service: exit 2
            print(f"error: {exc}", file=sys.stderr)
            return 2
        origin = type(exc).__module__.split(".")[0]
        if origin == "psycopg":
            print(f"error: the warehouse cannot be reached or refused the request: "
                  f"{str(exc).strip()}. Check --dsn (or $INSIDERS_WAREHOUSE_DSN): host, port, "
                  "user, password and database", file=sys.stderr)
            return 2
        if origin in ("botocore", "aiobotocore", "s3fs"):
            print(f"error: the object store cannot be reached or refused the request: "
                  f"{str(exc).strip()}. Check the URL, AWS_ENDPOINT_URL and the credentials "
                  "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), then run again", file=sys.stderr)
            return 2
        return _defect(exc)
    finally:
        from insiders.parallel import release_workers

        release_workers()


def _fixable() -> tuple[type[BaseException], ...]:
    """The exceptions whose message tells the user what to change (the services' own only
    when their module was imported: the CLI stays light)."""
    kinds: list[type[BaseException]] = [InputError, NumbaTargetError]
    for module, name in (("insiders.metabase", "MetabaseError"),
                         ("insiders.warehouse", "WarehouseBusy")):
        if module in sys.modules:
            kinds.append(getattr(sys.modules[module], name))
    return tuple(kinds)


def _defect(exc: BaseException) -> int:
    """An exception no input explains: a defect of insiders. Say so, keep the traceback in a
    file, exit 1 (bad input exits 2)."""
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile("w", prefix="insiders-defect-", suffix=".log",
                                     delete=False) as log:
        traceback.print_exception(exc, file=log)
    print(f"error: an unexpected {type(exc).__name__} ({exc}). This is a defect of insiders, not "
          f"of your input; the traceback is in {log.name}: please report it with that file",
          file=sys.stderr)
    return 1


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
    command = functools.partial(_command, sub)
    _add_look_command(command)
    _add_stage_commands(command)
    _add_service_commands(command)
    return parser


def _command(sub, name: str, summary: str, description: str, handler, *adders, **options):
    """One subcommand: its help, its option groups and its handler."""
    p = sub.add_parser(name, help=summary, description=description, **options)
    for add in adders:
        add(p)
    p.set_defaults(handler=handler)
    return p


def _output(text: str):
    return lambda p: p.add_argument("-o", "--output", help=text)


def _file_run_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", help="the run folder to run the stage in and keep (default: a "
                   "temporary one; give it to chain the stages, or to keep every file)")


def _add_stage_commands(command) -> None:
    """A command per pipeline stage, in pipeline order."""
    command("ingest", "read transaction lines into the one schema",
            "Read CSV, Excel or Parquet transaction lines (UCI or Online Retail II column "
            "names, the shop's Latin-1 CSV export, or another shop's export by its preset or "
            "column map) and write them in the canonical schema (-o, and/or the run folder's "
            "raw_lines.parquet with --run-dir).",
            _cmd_ingest, _add_source, _output("where to write (.parquet or .csv)"),
            _file_run_dir)
    p = command("filter", "apply the named filter rules",
                "Check the data-quality rules, then apply the filter rules in order, and write "
                "the kept lines and a quarantine summary (lines removed per rule). Without a "
                "source, runs on the lines read into --run-dir.",
                _cmd_filter, lambda p: _add_source(p, optional=True), _add_filter_options,
                _output("kept lines (.parquet)"), _file_run_dir)
    p.add_argument("--quarantine-out", help="quarantine summary (.csv); default beside --output")
    features_help = "\n".join(f"  {k:<28}{v}" for k, v in FEATURE_DESCRIPTIONS.items())
    command("features", "build customer features",
            "Build one row of features per customer as of a reference date. The input is "
            "either filtered lines (from 'insiders filter -o') or raw transactions, which are "
            "then ingested and filtered first; without a source, the kept lines of --run-dir.",
            _cmd_features, lambda p: _add_source(p, optional=True), _add_filter_options,
            _add_reference_date, _output("features (.parquet or .csv)"), _file_run_dir,
            epilog="features:\n" + features_help, formatter_class=argparse.RawDescriptionHelpFormatter)
    command("embed", "fit the scaler and the embedding spaces",
            "Scale the features (the scaler is fitted once and saved with the run) and fit "
            "the embedding spaces, seeded.", _cmd_embed, _add_run_dir, _add_embed_options)
    command("compare", "score every model on every space",
            "Fit every model on every space for every k and write the whole comparison table "
            "(model_scores.csv) and every candidate's labels.",
            _cmd_compare, _add_run_dir, _add_grid_options)
    command("select", "pick the model and find Insiders",
            "Two stages: segments (pick one model by the stated policy, give segments stable "
            "ids and names, matched to last month's with --previous), then tier (choose this "
            "month's Insiders: by default the top customers by expected revenue, with an entry "
            "and an exit bar, last month's members from --previous).",
            _cmd_select, _add_run_dir, _add_policy_options)
    p = command("backtest", "replay earlier months and back-test the choice",
                "Replay the monthly run on the months before (data cut at each 15th, the "
                "chosen model and the tier as the run chose them), refit the clusters on "
                "bootstrap samples, and compare the Insiders with plain rules on the months "
                "that have 91 days of data after them. Writes the tables the report reads.",
                _cmd_backtest, _add_run_dir, _add_backtest_options)
    command("report", "answer the nine business questions",
            "Write report.html (self-contained, with plots) and report.md, answers.csv and "
            "forecasts.csv into the run folder, from its tables (the backtest stage's "
            "included).", _cmd_report, _add_run_dir)


def _add_look_command(command) -> None:
    """A look at an export before its first run."""
    command("inspect", "look at an export: its columns' roles, the --columns line to run with",
            "Read a shop's export (its first 20,000 rows) and print each column with the role it "
            "seems to play, judged from its name and its values (dates, money, counts, ids, "
            "statuses, currency codes); the preset or --columns line to run with; and what the "
            "reader makes of the sample with it: the date range, the customers, the lines set "
            "aside as not sales, the currency. A role two columns could play is shown with both "
            "and left to you. Exit 0 when the proposal can run as it is (also as --preset auto), "
            "2 when a role is missing or in doubt.",
            _cmd_inspect, lambda p: p.add_argument("source", help="the export (local path, "
                                                   "file://, s3://)"),
            lambda p: _add_params(p, "encoding", "date_format", "decimal", "thousands", "sheet"))


def _cmd_inspect(args: argparse.Namespace) -> int:
    from insiders.ingest.inspection import describe, inspect_source

    found = inspect_source(args.source, _run_config(args).read)
    print(describe(found))
    return 0 if found.runnable else 2


def _add_service_commands(command) -> None:
    """The whole run, the warehouse, Metabase and the benchmarks' shop maker."""
    p = command("warehouse", "set up or read the Postgres warehouse",
                "Apply the warehouse's migrations (init), create a read-only login (for "
                "Metabase), or print the latest run month's Insiders summary from the warehouse.",
                _cmd_warehouse)
    p.add_argument("action", choices=("init", "summary", "create-reader"))
    p.add_argument("--dsn", default=os.environ.get("INSIDERS_WAREHOUSE_DSN"),
                   help="libpq URI of the warehouse (default: $INSIDERS_WAREHOUSE_DSN)")
    p.add_argument("--user", default="metabase", help="create-reader: the login to create")
    p.add_argument("--password-env", default="INSIDERS_READER_PASSWORD",
                   help="create-reader: environment variable holding its password (never a flag)")
    p = command("metabase", "provision or resync Metabase",
                "provision: over Metabase's REST API, first-run set-up, the warehouse added "
                "with the read-only login, the questions and the 'Insiders' dashboard "
                "(idempotent: a second run updates). resync: ask Metabase to resync the "
                "warehouse. Settings from the environment: MB_URL, MB_ADMIN_EMAIL, "
                "MB_ADMIN_PASSWORD, INSIDERS_READER_USER, INSIDERS_READER_PASSWORD, "
                "INSIDERS_WAREHOUSE_HOST, INSIDERS_WAREHOUSE_PORT, INSIDERS_WAREHOUSE_DB.",
                _cmd_metabase)
    p.add_argument("action", choices=("provision", "resync"))
    p = command("synth", "make a test shop from the bundled one (a bigger one, or an export)",
                "--style copies (the default): resample the source's customers FACTOR times "
                "with new ids, jittered (dates, quantities, prices, baskets) so that no two are "
                "the same, with unique invoice numbers, and write the lines as monthly parquet "
                "files (OUT/2011-01.parquet, ...) in the bundled file's columns. Another style: "
                "a real shop's export as it comes, quirks included (OUT/STYLE.csv), beside its "
                "clean twin in the bundled file's columns (OUT/STYLE.clean.parquet), the quirks "
                "written (OUT/STYLE.quirks.json) and, for text customer keys, OUT/STYLE.keys.csv: "
                "supermarket (basket log with discounts), pos and pos_stamp (a store chain's "
                "point-of-sale log, day-only or to-the-second dates), seldom (orders of a shop "
                "whose customers buy once or twice a year); see docs/shops.md. Seeded: the same "
                "files for the same seed.", _cmd_synth)
    # the export styles are insiders.synth.exports.STYLES (named here: the CLI stays light)
    p.add_argument("--style", default="copies",
                   choices=("copies", "supermarket", "pos", "pos_stamp", "seldom"),
                   help="what to make (default: copies)")
    p.add_argument("--factor", type=int, help="copies: copies of every customer (required)")
    p.add_argument("--customers", type=int, default=1_500,
                   help="export styles: customers drawn from the source (default: 1,500)")
    p.add_argument("--out", required=True, help="folder of the files")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default: 0)")
    p.add_argument("--source", default=DEFAULT_SOURCE,
                   help="parquet file in the bundled file's columns (default: the bundled data)")
    p = command("run", "run every stage on one source",
                "Run every stage on one source and write all outputs into one folder; print "
                "a summary.", _cmd_run, lambda p: _add_source(p, default=DEFAULT_SOURCE),
                _add_filter_options, _add_reference_date, _add_engine_options, _add_embed_options,
                _add_grid_options, _add_policy_options, _add_backtest_options)
    p.add_argument("--out-dir", default="var/demo", help="output folder (default: var/demo)")


def _add_params(p, *names: str) -> None:
    """One flag per run param, as :data:`insiders.config.PARAMS` declares it: its flag, type,
    choices, help and default (the run configuration's; a preset's rule: none, it follows the
    preset). The flag's value lands under the param's name."""
    for name in names:
        spec = PARAMS[name]
        default = _DEFAULTS[name]
        help_text = spec.description.replace("%", "%%") + _CLI_NOTES.get(name, "")
        if default is not None and default != []:
            help_text += " (default: %(default)s)"
        options: dict = {"dest": name, "default": default, "help": help_text}
        if spec.kind == "array":
            known = spec.schema.get("items", {}).get("enum")
            if known:  # one or more names
                options.update(nargs="+", choices=known, metavar=name.rstrip("s").upper())
            else:  # ids, one per flag
                options.update(type=int, action="append", metavar="ID")
        else:
            options["type"] = {"integer": int, "number": float}.get(spec.kind, str)
            if spec.kind in ("integer", "number") and "enum" not in spec.schema:
                options["metavar"] = "N"
            if "enum" in spec.schema:
                options["choices"] = spec.schema["enum"]
        p.add_argument(spec.cli_flag(name), **options)


#: What a flag takes beyond its param's description.
_CLI_NOTES = {"thousands": " ('none' here)",
              "excluded_customers": " (repeat the flag for more than one)"}


def _add_backtest_options(p: argparse.ArgumentParser) -> None:
    _add_params(p, "replay_months", "stability_sample_size")


def _add_run_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--run-dir",
        default="var/demo",
        help="the run folder with the earlier stages' files (default: var/demo)",
    )


def _add_embed_options(p: argparse.ArgumentParser) -> None:
    _add_params(p, "features", "spaces", "scaler", "random_state", "fit_sample_size",
                "tree_max_customers")
    p.add_argument(
        "--reuse-spaces",
        metavar="SPACES",
        help="an earlier run's spaces.joblib: embed these customers in its fitted scaler and "
        "spaces instead of refitting (keeps segments stable from month to month)",
    )


def _add_grid_options(p: argparse.ArgumentParser) -> None:
    _add_params(p, "models", "k_max_tried", "cluster_sample_size")
    if not any(a.dest == "random_state" for a in p._actions):
        _add_params(p, "random_state")


def _add_policy_options(p: argparse.ArgumentParser) -> None:
    _add_params(p, "selection_rule", "space", "model", "k")
    p.add_argument("--k-range", type=int, nargs=2, default=(_DEFAULTS["k_min"], _DEFAULTS["k_max"]),
                   metavar=("MIN", "MAX"), help="the fewest and the most segments marketing can "
                   "work with (the best_silhouette rule; default: %(default)s)")
    _add_params(p, "value_score")
    p.add_argument(
        "--previous",
        metavar="SEGMENTS",
        help="last month's segments.parquet: keeps segment ids and names, and last month's "
        "Insiders (members stay until they fall below the exit bar)",
    )
    _add_params(p, "insiders_rule", "value_model", "entry_share", "exit_share", "grace_months",
                "active_days", "smoothing")


def _add_source(p: argparse.ArgumentParser, default: str | None = None,
                optional: bool = False) -> None:
    if default:
        p.add_argument(
            "source",
            nargs="?",
            default=default,
            help="transactions file or URL (default: the bundled UCI data)",
        )
    elif optional:
        p.add_argument("source", nargs="?",
                       help="transactions file or URL (local path, file://, s3://); none: "
                       "the run folder's (--run-dir)")
    else:
        p.add_argument("source", help="transactions file or URL (local path, file://, s3://)")
    _add_params(p, *_section("Reading"))


def _section(name: str) -> list[str]:
    return [param for param, spec in PARAMS.items() if spec.section == name]


def _add_filter_options(p: argparse.ArgumentParser) -> None:
    _add_params(p, "anonymous_policy", "min_unit_price", "excluded_customers")
    _add_params(p.add_argument_group("data quality (lines quarantined, files refused)"),
                *_section("Data quality"))


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    _add_params(p, *_section("Engine"))


def _add_reference_date(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--reference-date",
        help="features as of this day (YYYY-MM-DD); default: "
        "the day of the last purchase in the data, never today's date",
    )
    _add_params(p, "max_staleness_days")


def _run_config(args: argparse.Namespace) -> RunConfig:
    """The run configuration from whichever of its flags this subcommand has (each flag's
    value is under its param's name)."""
    params = {name: getattr(args, name) for name in PARAMS if hasattr(args, name)}
    if params.get("thousands") == "none":
        params["thousands"] = ""
    if getattr(args, "k_range", None):
        params["k_min"], params["k_max"] = args.k_range
    return RunConfig.from_params(params)


@contextlib.contextmanager
def _run_folder(args: argparse.Namespace) -> Iterator[str]:
    """The run folder a file command works in: ``--run-dir`` when given (kept), else a
    temporary one for this command alone."""
    if getattr(args, "output", None) is None and not args.run_dir:
        raise InputError(f"insiders {args.command}: give -o FILE, --run-dir FOLDER or both")
    if args.run_dir:
        yield args.run_dir
        return
    with tempfile.TemporaryDirectory(prefix="insiders-") as folder:
        yield folder


def _through(args: argparse.Namespace, run_dir: str, stages: tuple[str, ...]) -> dict[str, Any]:
    """Run ``stages`` on the run folder as the pipeline does: from ingest when the command is
    given a source of transactions, from the folder's earlier stages when not."""
    from insiders import pipeline

    source = getattr(args, "source", None)
    if source and _is_filtered(source):  # lines 'insiders filter -o' wrote: every one kept
        pipeline.adopt_kept_lines(source, run_dir)
        stages = tuple(s for s in stages if s not in pipeline.stages_through("filter_lines"))
    elif source:
        stages = pipeline.stages_through(stages[-1])
    elif not args.run_dir:
        raise InputError(f"insiders {args.command}: give a source file, or --run-dir with the "
                         "earlier stages' files")
    else:  # the folder's own export layout, unless the flags name another
        _layout_of_folder(args, run_dir)
    return pipeline.run_all(source, run_dir, _run_config(args), stages=stages,
                            reference_date=getattr(args, "reference_date", None))


def _layout_of_folder(args: argparse.Namespace, run_dir: str) -> None:
    """The preset and column map the run folder was read with, when the flags leave them at
    their defaults: its data rules follow (another shop's lines get no study rule)."""
    try:
        facts = artifacts.load_json(run_folder.path(run_dir, "facts"))
    except FileNotFoundError:
        return
    if args.preset == _DEFAULTS["preset"] and not args.columns and facts.get("preset"):
        args.preset, args.columns = facts["preset"], facts.get("columns")


def _is_filtered(source: str) -> bool:
    """Whether ``source`` holds kept lines (``insiders filter -o``), not transactions."""
    if not source.endswith(".parquet"):
        return False
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(source).names)
    except (OSError, ValueError):
        return False
    return set(FILTERED_EXTRA) <= names


def _cmd_ingest(args: argparse.Namespace) -> int:
    with _run_folder(args) as run_dir:
        facts = _through(args, run_dir, ("ingest",))["ingest"]
        _copy_out(run_dir, "raw_lines", args.output)
    print(f"{facts['lines_read']:,} lines -> {args.output or run_dir}")
    return 0


def _cmd_filter(args: argparse.Namespace) -> int:
    from insiders.kept_lines import load_lines

    with _run_folder(args) as run_dir:
        _through(args, run_dir, ("check_quality", "filter_lines"))
        quarantine = artifacts.load_frame(run_folder.path(run_dir, "quarantine"))
        kept = load_lines(run_dir)
        if args.output:
            artifacts.save_frame(kept, args.output, index=False)
            q_out = args.quarantine_out or str(Path(args.output).with_suffix("")) + ".quarantine.csv"
            artifacts.save_frame(quarantine, q_out, index=False)
    print(quarantine.to_string(index=False))
    print(f"{len(kept):,} lines kept -> {args.output or run_dir}" +
          (f"; quarantine summary -> {q_out}" if args.output else ""))
    return 0


def _cmd_features(args: argparse.Namespace) -> int:
    with _run_folder(args) as run_dir:
        facts = _through(args, run_dir, ("features",))["features"]
        _copy_out(run_dir, "features", args.output)
    print(f"{facts['customers']:,} customers -> {args.output or run_dir}")
    return 0


def _copy_out(run_dir: str, name: str, output: str | None) -> None:
    """The run folder's file ``name`` also written to ``output`` (its format by its suffix)."""
    if output:
        frame = artifacts.load_frame(run_folder.path(run_dir, name))
        artifacts.save_frame(frame, output, index=name != "raw_lines")


def _cmd_embed(args: argparse.Namespace) -> int:
    from insiders import pipeline

    facts = pipeline.run_stage("embed", args.run_dir, _run_config(args),
                               reuse_spaces=args.reuse_spaces)
    print(f"spaces {', '.join(facts['spaces'])} -> {run_folder.path(args.run_dir, 'spaces')}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from insiders import pipeline

    pipeline.run_stage("compare", args.run_dir, _run_config(args))
    print(_best_rows(artifacts.load_frame(run_folder.path(args.run_dir, "scores"))))
    print(f"table -> {run_folder.path(args.run_dir, 'scores')}")
    return 0


def _cmd_select(args: argparse.Namespace) -> int:
    from insiders import pipeline

    config = _run_config(args)
    for name in ("segments", "tier"):
        facts = pipeline.run_stage(name, args.run_dir, config, previous_segments=args.previous)
    print(_selection_summary(facts))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from insiders import pipeline

    out = args.out_dir
    facts = pipeline.run_all(
        args.source, out, _run_config(args), reference_date=args.reference_date,
        previous_segments=args.previous, reuse_spaces=args.reuse_spaces,
    )["tier"]
    quarantine = artifacts.load_frame(run_folder.path(out, "quarantine"))
    scores = artifacts.load_frame(run_folder.path(out, "scores"))
    profiles = artifacts.load_frame(run_folder.path(out, "profiles"))
    print(_run_summary(out, quarantine, scores, profiles, facts))
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    import pandas as pd

    from insiders import synth

    if args.style != "copies":
        from insiders.synth import exports

        if args.factor is not None:
            raise InputError("--factor is for --style copies; an export style takes --customers")
        with stage(f"synth: a {args.style} export of {args.customers:,} customers of {args.source}"):
            made = exports.write_export(args.style, pd.read_parquet(args.source), args.out,
                                        customers=args.customers, seed=args.seed,
                                        drop_customers=FilterConfig().excluded_customers)
        quirks = ", ".join(f"{name} {count}" for name, count in sorted(made.quirks.items()))
        print(f"{made.customers:,} customers, {made.sale_lines:,} sales -> {made.export} "
              f"(clean twin {made.clean.name}; quirks: {quirks})")
        return 0
    if args.factor is None:
        raise InputError("--style copies needs --factor N (copies of every customer)")
    if args.factor < 1:
        raise InputError(f"--factor must be at least 1, got {args.factor}")
    with stage(f"synth: {args.factor} copies of {args.source}"):
        source = synth.prepare_source(pd.read_parquet(args.source),
                                      drop_customers=FilterConfig().excluded_customers)
        files = synth.write_monthly(synth.synthesize(source, args.factor, seed=args.seed),
                                    args.out)
    print(f"{source.n_known * args.factor:,} customers in {len(files)} monthly files -> {args.out}")
    return 0


def _cmd_backtest(args: argparse.Namespace) -> int:
    from insiders import pipeline

    facts = pipeline.run_stage("backtest", args.run_dir, _run_config(args))
    print(f"back-test: {facts['backtest_months']} earlier months replayed -> "
          f"{run_folder.path(args.run_dir, 'backtest')}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from insiders import pipeline

    facts = pipeline.run_stage("report", args.run_dir, _run_config(args))
    print(f"report -> {facts['report']}")
    return 0


def _cmd_metabase(args: argparse.Namespace) -> int:
    import json

    from insiders import metabase

    config = metabase.MetabaseConfig.from_env()
    done = metabase.provision(config) if args.action == "provision" else metabase.resync(config)
    print(json.dumps(done, indent=2, default=str))
    return 0


def _cmd_warehouse(args: argparse.Namespace) -> int:
    from insiders import warehouse

    if not args.dsn:
        raise InputError("no warehouse: pass --dsn or set INSIDERS_WAREHOUSE_DSN")
    with warehouse.connect(args.dsn) as conn:
        if args.action == "init":
            applied = warehouse.ensure_schema(conn)
            latest = warehouse.migrations()[-1].version
            if applied:
                names = {m.version: f"{m.version:04d}_{m.name}" for m in warehouse.migrations()}
                print("applied migrations: " + ", ".join(names[v] for v in applied))
                print(f"warehouse schema is now at version {latest}")
            else:
                print(f"warehouse schema is up to date (version {latest})")
        elif args.action == "create-reader":
            password = os.environ.get(args.password_env)
            if not password:
                raise InputError(f"set the reader's password in ${args.password_env}")
            warehouse.create_reader(conn, args.user, password)
            print(f"read-only login {args.user!r} can read schema {warehouse.SCHEMA!r}")
        else:
            print(warehouse.summary(conn))
    return 0


def _best_rows(scores: pd.DataFrame, n: int = 8) -> str:
    cols = ["candidate", "n_clusters", "noise_share", "silhouette", "davies_bouldin", "calinski_harabasz"]
    return "Model comparison, best silhouettes:\n" + scores[cols].head(n).to_string(
        index=False, float_format=lambda v: f"{v:.4f}"
    )


def _selection_summary(facts: dict) -> str:
    chosen, ins = facts["chosen"], facts["insiders"]
    return "\n".join(
        [
            f"Policy: {facts['policy_text']}",
            f"Chosen: {chosen['candidate']} ({chosen['n_clusters']} clusters), "
            f"silhouette {chosen['silhouette']:.4f}",
            f"Insiders: {facts['membership']['policy_text']}",
            *([f"Ranked by: {facts['membership']['ranking']['reason']}"]
              if facts["membership"].get("ranking") else []),
            f"Insiders: {ins['customers']:,} customers ({ins['share_customers']:.2%} of customers), "
            f"{ins['share_revenue']:.2%} of revenue; mean revenue {ins['mean_revenue']:,.2f}, "
            f"mean recency {ins['mean_recency_days']:.1f} days",
            "Since last month: " + ", ".join(
                f"{facts['membership'][k]:,} {k}" for k in ("new", "stayed", "left")),
        ]
    )


def _run_summary(
    out: str, quarantine: pd.DataFrame, scores: pd.DataFrame, profiles: pd.DataFrame, facts: dict
) -> str:
    removed = quarantine[quarantine["lines_removed"] > 0]
    width = max(map(len, run_folder.FILES))
    cols = [
        "segment_id",
        "segment_name",
        "n_customers",
        "share_customers",
        "share_revenue",
        "mean_gross_revenue",
        "mean_recency_days",
        "mean_n_lines",
        "mean_qty_returned",
    ]
    lines = [
        "",
        "Insiders — run summary",
        "Filters: " + ", ".join(f"{r.rule} {r.lines_removed:,}" for r in removed.itertuples()),
        f"Customers: {int(profiles['n_customers'].sum()):,}",
        "",
        _best_rows(scores),
        "",
        _selection_summary(facts),
        "",
        "Segments:",
        profiles[cols].to_string(index=False, float_format=lambda v: f"{v:,.3f}"),
        "",
        "Outputs:",
        *[f"  {name:<{width}}  {Path(run_folder.path(out, name)).resolve()}" for name in run_folder.FILES],
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
