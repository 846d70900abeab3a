"""The Postgres warehouse (RDS in production): versioned schema and one transaction per run month.

Tables (schema ``insiders``), every one keyed by ``run_month`` (the first day of the month
the run answers for):

- ``runs``: one row per run month: reference date, source, chosen model, Insiders' figures.
- ``customer_segments``: every customer's features, segment and Insiders flag.
- ``segment_profiles``: the per-segment profile (size, shares, feature means).
- ``model_scores``: the whole model comparison table, the chosen row flagged.
- ``filter_counts``: lines removed or flagged per filter rule (the quarantine summary).
- ``membership_history``: who entered and who left Insiders against the previous run month.
- ``answers``: the report questions' numbers (and texts) of the run.
- ``forecasts``: the Insiders' expected revenue for the coming months, and the naive one.

Views ``insiders_by_month`` and ``current_insiders``; a NOLOGIN role ``insiders_reader``.

The schema is the numbered SQL files of :mod:`insiders.migrations`, applied once each by
:func:`migrate` (``ensure_schema``) and recorded in ``schema_migrations``; a load applies the
missing ones first and, when the warehouse is up to date, runs no DDL.

Loading a month deletes that month and inserts it again in one transaction: a rerun
replaces the month, never duplicates it, and a failure leaves every table as it was.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from insiders import artifacts, queries, run_folder
from insiders.options import FEATURE_DESCRIPTIONS
from insiders.schema import CUSTOMER_KEY, TIER_COLUMNS

logger = logging.getLogger(__name__)

SCHEMA, READER_ROLE = queries.SCHEMA, queries.READER_ROLE
MIGRATIONS_TABLE = "schema_migrations"
_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('insiders.schema'))"

TABLES = queries.TABLES
#: How loads serialise (migration 0004): self-conflicting, and LOCK TABLE in this mode needs
#: write privileges, so the read-only role cannot take it (anyone can take an advisory lock):
#: no reader can stop loads.
_LOAD_LOCK = f"LOCK TABLE {SCHEMA}.load_lock IN EXCLUSIVE MODE"
#: What migration 0004 added to a load: the data-quality counts and the runs' column.
QUALITY_TABLE: str | None = "quality_counts"
RUN_QUALITY_COLUMNS: tuple[str, ...] = ("lines_quarantined",)
#: What migration 0005 added to the model scores: why a candidate could not be fitted.
SCORE_MODEL_COLUMNS: tuple[str, ...] = ("left_out",)
#: The segment's "at least half Insiders" flag in ``segment_profiles`` (migration 0007 renamed
#: it from ``is_insider``, a customer's flag; run folders written before call it so too).
PROFILE_FLAG = "mostly_insiders"
#: What migration 0006 added to the customers' rows: the key the shop's export names them by;
#: and to the runs: the currency of the amounts (from the run's facts).
SEGMENT_KEY_COLUMNS: tuple[str, ...] = (CUSTOMER_KEY,)
RUN_SHOP_COLUMNS: tuple[str, ...] = ("currency",)
#: What migration 0005 added to the runs: the value model used and why it stepped down.
RUN_MODEL_COLUMNS: dict[str, str] = {"value_model": "value_model_used",
                                     "value_model_reason": "value_model_reason"}
#: What migration 0008 added to the runs: the ranking the tier followed, and why.
RUN_RANKING_COLUMNS: dict[str, str] = {"ranked_by": "ranked_by", "ranking_reason": "reason"}
#: What a segment's row says of the tier (migration 0003; with TIER_COLUMNS per customer).
PROFILE_TIER_COLUMNS = ("n_insiders", "share_insiders")


def connect(dsn: str = "", **params: Any) -> psycopg.Connection:
    """Open a connection: a libpq URI or ``key=value`` string, and/or keyword parameters
    (``host``, ``port``, ``user``, ``password``, ``dbname``; None values are left out).
    """
    return psycopg.connect(dsn, **{k: v for k, v in params.items() if v not in (None, "")})


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file of :mod:`insiders.migrations`."""

    version: int
    name: str
    sql: str


@functools.cache
def migrations() -> tuple[Migration, ...]:
    """Every migration shipped with the package, in order (versions 1, 2, ... without gaps)."""
    found = []
    for entry in resources.files("insiders.migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1, 2, ... without gaps or repeats: {versions}")
    return tuple(found)


def _table_exists(conn: psycopg.Connection, name: str) -> bool:
    """Whether ``insiders.<name>`` exists, by a scan of ``pg_class`` under the statement's snapshot:
    unlike ``to_regclass`` (the session's catalog cache) it sees what another session committed
    while this transaction waited for the schema lock."""
    query = ("SELECT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
             "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s)")
    return conn.execute(query, (SCHEMA, name)).fetchone()[0]


def applied_versions(conn: psycopg.Connection) -> set[int]:
    """The versions recorded in the warehouse (read-only; empty without a version table)."""
    if not _table_exists(conn, MIGRATIONS_TABLE):
        return set()
    return {row[0] for row in conn.execute(f"SELECT version FROM {SCHEMA}.{MIGRATIONS_TABLE}")}


def _recorded_versions(conn: psycopg.Connection) -> set[int]:
    """Under the schema lock: create the version table if missing, recognising a warehouse that
    the pre-migration ``ensure_schema`` made (``insiders.runs``, no version table) as version 1."""
    if not _table_exists(conn, MIGRATIONS_TABLE):
        legacy = _table_exists(conn, "runs")
        conn.execute(
            f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}; "
            f"CREATE TABLE {SCHEMA}.{MIGRATIONS_TABLE} (version integer PRIMARY KEY, name text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        if legacy:
            first = migrations()[0]
            conn.execute(
                f"INSERT INTO {SCHEMA}.{MIGRATIONS_TABLE} (version, name) VALUES (%s, %s)",
                (first.version, first.name),
            )
            logger.info("warehouse made before migrations: recorded at version %s", first.version)
    return applied_versions(conn)


def migrate(conn: psycopg.Connection, target: int | None = None, *,
            lock_timeout_s: float = 60) -> list[int]:
    """Apply the missing migrations in order (up to ``target``, default all); return their versions.

    Each runs in its own transaction with its record in ``insiders.schema_migrations``, under a
    transaction-level advisory lock: concurrent callers apply each migration once. An up-to-date
    warehouse costs a read of the version table and runs no DDL.
    """
    wanted = [m for m in migrations() if target is None or m.version <= target]
    with conn.transaction():
        recorded = applied_versions(conn)
    if recorded and max(recorded) > len(migrations()):
        logger.warning("the warehouse is at version %s, newer than this code's %s: upgrade the package",
                       max(recorded), len(migrations()))
    if {m.version for m in wanted} <= recorded:
        return []
    applied = []
    for migration in wanted:
        with conn.transaction(), _busy_as_error("migration", lock_timeout_s, 0):
            # DDL waits for readers' open transactions on its tables: not for ever
            conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
            conn.execute(_SCHEMA_LOCK)
            if migration.version in _recorded_versions(conn):
                continue  # applied before, or by a concurrent caller while this one waited
            conn.execute(migration.sql)
            conn.execute(
                f"INSERT INTO {SCHEMA}.{MIGRATIONS_TABLE} (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
        logger.info("applied warehouse migration %04d_%s", migration.version, migration.name)
        applied.append(migration.version)
    return applied


def ensure_schema(conn: psycopg.Connection, *, lock_timeout_s: float = 60) -> list[int]:
    """Bring the warehouse to the latest schema version (:func:`migrate`); return the versions applied."""
    return migrate(conn, lock_timeout_s=lock_timeout_s)


def create_reader(conn: psycopg.Connection, user: str, password: str) -> None:
    """Create (or update) a login that can only read the warehouse, e.g. for Metabase.

    The password comes from the caller (a secret store, an environment variable), never
    from code.
    """
    ensure_schema(conn)
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user), sql.Literal(password))
        )
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(READER_ROLE), sql.Identifier(user)))


@dataclass(frozen=True)
class LoadResult:
    """What a load wrote."""

    run_month: str
    rows: dict[str, int]
    previous_month: str | None
    #: run months already loaded after this one: their tiers were decided on the old one
    later_months: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for XCom and logs."""
        return {"run_month": self.run_month, "rows": self.rows, "previous_month": self.previous_month,
                "later_months": list(self.later_months)}

    @property
    def rebuild_advice(self) -> str | None:
        """What to do when a month was (re)loaded under later ones (None when it was not)."""
        if not self.later_months:
            return None
        return (f"run month {self.run_month} was loaded after the later run month(s) "
                f"{', '.join(self.later_months)}: their Insiders were chosen from the old "
                f"membership of {self.run_month} (members stay by hysteresis from month to month), "
                "so they still reflect it. To rebuild the chain, clear those runs in Airflow one "
                "after the other, oldest first (docs/airflow.md, 'Rerunning an earlier month')")


def _records(frame: pd.DataFrame) -> list[tuple]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [
        tuple(v.item() if isinstance(v, np.generic) else v for v in row)
        for row in clean.itertuples(index=False, name=None)
    ]


def _copy(conn: psycopg.Connection, table: str, frame: pd.DataFrame, month=None) -> int:
    if month is not None:
        frame = frame.assign(run_month=month)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    statement = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
        sql.Identifier(SCHEMA), sql.Identifier(table), columns
    )
    with conn.cursor().copy(statement) as copy:
        for record in _records(frame):
            copy.write_row(record)
    return len(frame)


@dataclass
class MonthTables:
    """One run month as the warehouse's tables hold it, read from a run folder."""

    month: Any  # the run month's first day (a date)
    run_row: dict[str, Any]
    customers: pd.DataFrame
    profiles: pd.DataFrame
    scores: pd.DataFrame
    filter_counts: pd.DataFrame
    quality: pd.DataFrame | None  # None: a folder made before the data-quality stage
    answers: pd.DataFrame | None  # None (and no forecasts): the report stage did not run
    forecasts: pd.DataFrame | None


#: The run-folder files a load needs, and those it loads when present.
LOADED_FILES = ("features", "segments", "profiles", "scores", "quarantine", "selection")
LOADED_IF_PRESENT = ("quality", "answers", "forecasts")
#: ``model_scores``' columns (migration 0005 added :data:`SCORE_MODEL_COLUMNS`).
SCORE_COLUMNS = ("candidate", "space", "model", "k", "params", "n_clusters", "noise_share",
                 "silhouette", "davies_bouldin", "calinski_harabasz", "silhouette_sampled",
                 "is_chosen")
FILTER_COLUMNS = ("rule", "description", "lines_removed", "lines_flagged", "revenue_removed",
                  "revenue_flagged")


def read_month(run_dir: str, run_month: str, run_id: str | None = None) -> MonthTables:
    """Read a run folder's outputs into the warehouse's tables (nothing is written)."""
    def frame(name: str) -> pd.DataFrame:
        return artifacts.load_frame(run_folder.path(run_dir, name))

    month = pd.Timestamp(run_month).to_period("M").to_timestamp().date()
    features = frame("features")
    selection = artifacts.load_json(run_folder.path(run_dir, "selection"))
    facts = artifacts.load_json(run_folder.path(run_dir, "facts"))
    customers = _customers(frame("segments"), features)
    scores = frame("scores")
    scores = scores.assign(
        is_chosen=scores["candidate"] == selection["chosen"]["candidate"],
        k=scores["k"].astype("Int64"),  # empty for density models, so read back as float
    )[[*SCORE_COLUMNS, *[c for c in SCORE_MODEL_COLUMNS if c in scores]]]  # older folders lack it
    profiles = frame("profiles").rename(
        columns={"is_insider": PROFILE_FLAG, "mostly_insiders": PROFILE_FLAG})
    profile_cols = ["segment_id", "segment_name", PROFILE_FLAG, "n_customers", "share_customers",
                    "revenue", "share_revenue", *[f"mean_{n}" for n in FEATURE_DESCRIPTIONS],
                    *PROFILE_TIER_COLUMNS]
    reported = "report" in facts  # the report stage ran: its answers load with the month
    return MonthTables(
        month=month, run_row=_run_row(month, run_dir, run_id, facts, selection, customers, features),
        customers=customers, profiles=profiles[profile_cols], scores=scores,
        filter_counts=frame("quarantine")[list(FILTER_COLUMNS)],
        quality=frame("quality") if artifacts.exists(run_folder.path(run_dir, "quality")) else None,
        answers=frame("answers") if reported else None,
        forecasts=frame("forecasts") if reported else None)


def _customers(segments: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """``customer_segments``' rows: each customer's segment, tier and features."""
    customers = segments.join(features, how="inner").reset_index()
    customers = customers[
        ["customer_id", "segment_id", "segment_name", "is_insider", "cluster", *FEATURE_DESCRIPTIONS,
         *TIER_COLUMNS, *[c for c in SEGMENT_KEY_COLUMNS if c in customers]]  # older folders lack it
    ]
    for column in {"value_rank", "months_below"} & set(customers.columns):
        customers[column] = customers[column].astype("Int64")
    return customers


def _run_row(month, run_dir: str, run_id: str | None, facts: dict[str, Any],
             selection: dict[str, Any], customers: pd.DataFrame,
             features: pd.DataFrame) -> dict[str, Any]:
    """``runs``' row of the month: where it came from and its headline figures."""
    insiders = selection["insiders"]
    return {
        "run_month": month,
        "reference_date": facts.get("reference_date"),
        "source": facts.get("source", ""),
        "run_id": run_id,
        "lines_read": facts.get("lines_read"),
        "lines_kept": facts.get("lines_kept"),
        **{c: facts.get(c) for c in RUN_QUALITY_COLUMNS},
        **{c: facts.get(c) for c in RUN_SHOP_COLUMNS},
        "customers": len(customers),
        "revenue": float(features["gross_revenue"].sum()),
        "insiders": insiders["customers"],
        "insiders_share_customers": insiders["share_customers"],
        "insiders_share_revenue": insiders["share_revenue"],
        "insiders_segment_id": insiders["segment_id"],
        **{c: selection["membership"].get(key) for c, key in RUN_MODEL_COLUMNS.items()},
        **{c: (selection["membership"].get("ranking") or {}).get(key)
           for c, key in RUN_RANKING_COLUMNS.items()},
        "chosen_candidate": selection["chosen"]["candidate"],
        "silhouette": selection["chosen"]["silhouette"],
        "policy": json.dumps(selection["policy"]),
        "filter_config": json.dumps(facts.get("filter_config")),
        "artifacts": str(run_dir),
    }


def load_run(
    conn: psycopg.Connection,
    run_dir: str,
    *,
    run_month: str,
    run_id: str | None = None,
    lock_timeout_s: float = 60,
    statement_timeout_s: float = 600,
) -> LoadResult:
    """Replace one run month in the warehouse with a run folder's outputs, atomically.

    The folder's files must all come from its current run attempt
    (:func:`insiders.run_folder.check_one_attempt`): a folder mixed by a failed rerun is
    refused. Loads serialise on ``insiders.load_lock``, which the read-only role cannot lock;
    readers' own locks (a dashboard's open transaction) do not conflict with a load.

    Args:
        conn: an open connection.
        run_dir: the run folder (path or URL) written by :mod:`insiders.pipeline`.
        run_month: the month the run answers for (any date in it).
        run_id: the orchestrator's run id, for tracing.
        lock_timeout_s: longest wait for any lock (another load, a migration, a session
            holding a table); beyond it :class:`WarehouseBusy` (a retry may succeed).
        statement_timeout_s: longest any one statement of the load may run.

    Raises:
        insiders.errors.RunFolderError: the folder's files do not belong to one run.
        WarehouseBusy: a lock or statement timeout; nothing was changed.
    """
    run_folder.check_one_attempt(run_dir, LOADED_FILES, optional=LOADED_IF_PRESENT)
    tables = read_month(run_dir, run_month, run_id)
    timeouts = (f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'; "
                f"SET LOCAL statement_timeout = '{int(statement_timeout_s * 1000)}ms'")
    with _busy_as_error("load", lock_timeout_s, statement_timeout_s):
        ensure_schema(conn, lock_timeout_s=lock_timeout_s)
        rows, previous, later = _replace_month(conn, timeouts, tables)
    logger.info("loaded run month %s: %s", tables.month, rows)
    result = LoadResult(str(tables.month), rows, str(previous) if previous else None,
                        tuple(str(m) for m in later))
    if result.rebuild_advice:
        logger.warning("%s", result.rebuild_advice)
    return result


class WarehouseBusy(RuntimeError):
    """A load or migration waited longer than its lock or statement timeout: nothing changed,
    and a retry may succeed once the other session is done."""


@contextlib.contextmanager
def _busy_as_error(what: str, lock_timeout_s: float, statement_timeout_s: float):
    """Turn Postgres' lock and statement timeouts into :class:`WarehouseBusy` with advice."""
    try:
        yield
    except psycopg.errors.LockNotAvailable as exc:
        raise WarehouseBusy(
            f"the warehouse {what} waited more than {lock_timeout_s:g} s for a lock held by "
            "another session (another load, a migration, or a session holding a table); nothing "
            "was changed. Retry later, or find the session in pg_stat_activity"
        ) from exc
    except psycopg.errors.QueryCanceled as exc:
        raise WarehouseBusy(
            f"a statement of the warehouse {what} ran longer than {statement_timeout_s:g} s and was "
            "cancelled; nothing was changed. Retry, or raise the statement timeout"
        ) from exc


def _replace_month(conn, timeouts: str, tables: MonthTables) -> tuple[dict[str, int], Any, list]:
    """Delete the month and insert it again, in one transaction, under the load lock; return
    the rows per table, the run month before it and the run months after it."""
    month = tables.month
    rows: dict[str, int] = {}
    with conn.transaction():
        conn.execute(timeouts)
        conn.execute(_LOAD_LOCK)
        conn.execute(f"DELETE FROM {SCHEMA}.runs WHERE run_month = %s", (month,))  # cascades
        _copy(conn, "runs", pd.DataFrame([tables.run_row]))
        rows["customer_segments"] = _copy(conn, "customer_segments", tables.customers, month)
        rows["segment_profiles"] = _copy(conn, "segment_profiles", tables.profiles, month)
        rows["model_scores"] = _copy(conn, "model_scores", tables.scores, month)
        rows["filter_counts"] = _copy(conn, "filter_counts", tables.filter_counts, month)
        if tables.quality is not None and QUALITY_TABLE:
            rows[QUALITY_TABLE] = _copy(conn, QUALITY_TABLE, tables.quality, month)
        if tables.answers is not None:
            rows["answers"] = _copy(conn, "answers", tables.answers, month)
            rows["forecasts"] = _copy(conn, "forecasts", tables.forecasts, month)
        previous = conn.execute(
            f"SELECT max(run_month) FROM {SCHEMA}.runs WHERE run_month < %s", (month,)
        ).fetchone()[0]
        rows["membership_history"] = _record_membership(conn, month, previous)
        # a month loaded (or rerun) before existing later months changes the next one's
        # entries and exits: recompute them against this one
        later = [r[0] for r in conn.execute(
            f"SELECT run_month FROM {SCHEMA}.runs WHERE run_month > %s ORDER BY run_month", (month,))]
        if later:
            conn.execute(f"DELETE FROM {SCHEMA}.membership_history WHERE run_month = %s",
                         (later[0],))
            _record_membership(conn, later[0], month)
    return rows, previous, later


def _record_membership(conn: psycopg.Connection, month, previous) -> int:
    """Entries (Insiders now, not in the previous run month) and exits (the reverse)."""
    cur = conn.execute(
        f"""
        INSERT INTO {SCHEMA}.membership_history (run_month, customer_id, change, previous_month)
        SELECT %(month)s, customer_id, CASE WHEN was.customer_id IS NULL THEN 'entered'
                                            ELSE 'left' END, %(previous)s::date
        FROM (SELECT customer_id FROM {SCHEMA}.customer_segments
              WHERE run_month = %(month)s AND is_insider) AS is_
        FULL JOIN (SELECT customer_id FROM {SCHEMA}.customer_segments
                   WHERE run_month = %(previous)s AND is_insider) AS was USING (customer_id)
        WHERE is_.customer_id IS NULL OR was.customer_id IS NULL
        """,
        {"month": month, "previous": previous},
    )
    return cur.rowcount


def previous_run_dir(conn: psycopg.Connection, run_month: str) -> str | None:
    """The run folder of the latest run month before ``run_month`` in the warehouse, if any."""
    return queries.previous_run_dir(conn, pd.Timestamp(run_month).to_period("M").to_timestamp().date())


def summary(conn: psycopg.Connection) -> str:
    """The latest run month's Insiders, in a few lines, read from the warehouse (read-only)."""
    if not queries.schema_exists(conn):
        return "the warehouse holds no run yet (no schema: run `insiders warehouse init` or a load)"
    latest = queries.latest_months(conn, 1)
    if not latest:
        return "the warehouse holds no run yet"
    run = latest[0]
    month = run["run_month"]
    months = queries.run_count(conn)
    segments = sorted(queries.segment_profiles(conn, month),
                      key=lambda s: -(s["mean_gross_revenue"] or 0))
    best = queries.best_scores(conn, month, 6)
    n_models = queries.model_count(conn, month)
    name_width = max([len(s["segment_name"]) for s in segments] + [34]) + 2
    change = (f"{run['entered']:,} entered, {run['left_group']:,} left since the month before"
              if queries.previous_run_dir(conn, month) else
              "the warehouse's first month: no month before it to compare with")
    lines = [
        f"Run month {month:%Y-%m} (as of {run['reference_date']}); {months} month(s) in the warehouse",
        f"Model comparison: {n_models} candidates; best silhouettes "
        "(candidate, clusters, noise, silhouette, Davies-Bouldin, Calinski-Harabasz):",
        *[f"  {b['candidate']:<34}{b['n_clusters']:>4}{b['noise_share']:>7.1%}{b['silhouette']:>9.4f}"
          f"{b['davies_bouldin']:>9.3f}{b['calinski_harabasz']:>12,.0f}"
          f"{'  <- chosen' if b['is_chosen'] else ''}" for b in best],
        f"Chosen by policy: {run['chosen_candidate']}, silhouette {run['silhouette']:.4f}",
        f"Insiders: {run['insiders']:,} of {run['customers']:,} customers "
        f"({run['insiders_share_customers']:.2%}), {run['insiders_share_revenue']:.2%} of revenue; "
        f"{change}",
        "Segments (id, name, customers, revenue share, mean revenue, mean recency):",
        *[f"  {s['segment_id']:>2}  {s['segment_name']:<{name_width}}{s['n_customers']:>7,}"
          f"{s['share_revenue']:>9.2%}{s['mean_gross_revenue']:>12,.2f}{s['mean_recency_days']:>8.1f} d"
          for s in segments],
    ]
    return "\n".join(lines)


def snapshot(conn: psycopg.Connection) -> dict[str, pd.DataFrame]:
    """Every table's rows, sorted (for tests and checks), without the load audit columns."""
    out = {}
    for table in TABLES:
        cur = conn.execute(f"SELECT * FROM {SCHEMA}.{table}")
        frame = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
        frame = frame.drop(columns=[c for c in ("loaded_at", "run_id") if c in frame])
        out[table] = frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)
    return out
