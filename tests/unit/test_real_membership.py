"""The Insiders tier on the bundled data, chained month to month as the CLI runs it."""

from __future__ import annotations

import pandas as pd
import pytest

from insiders.cli import main
from tests.conftest import REAL_DATA

pytestmark = pytest.mark.slow
FAST = ["--spaces", "features", "umap", "--models", "ward", "--k-max", "8"]


@pytest.fixture(scope="module")
def two_months(tmp_path_factory):
    out = tmp_path_factory.mktemp("chained")
    nov, dec = out / "2011-11", out / "2011-12"
    assert main(["-q", "run", str(REAL_DATA), "--reference-date", "2011-11-14",
                 "--out-dir", str(nov), *FAST]) == 0
    assert main(["-q", "run", str(REAL_DATA), "--reference-date", "2011-12-09",
                 "--out-dir", str(dec), "--previous", str(nov / "segments.parquet"), *FAST]) == 0
    return nov, dec


def test_the_cli_contract_chains_months(two_months):
    nov, dec = two_months
    before = pd.read_parquet(nov / "segments.parquet")
    after = pd.read_parquet(dec / "segments.parquet")
    assert after.index.name == "customer_id" and after["is_insider"].dtype == bool
    was, now = set(before.index[before["is_insider"]]), set(after.index[after["is_insider"]])
    assert len(was & now) / len(was) >= 0.90  # members keep their place
    status = after["status"]
    assert (status == "new").sum() == len(now - was)
    assert (status == "left").sum() == len(was - now)
    assert (status == "stayed").sum() == len(was & now)
    assert after.loc[list(now), "reason"].str.match(r"^(entered|kept)").all()
    assert after.loc[list(was - now), "reason"].str.startswith("left").all()
    kept = after.loc[list(was & now), "member_since"]
    assert (kept <= pd.Timestamp("2011-11-01")).all()  # stayed since the first month
    # the hand-off files: the same members, the month's joiners and leavers
    csv = pd.read_csv(dec / "insiders.csv")
    assert set(csv["customer_id"]) == now
    assert set(pd.read_csv(dec / "joined.csv")["customer_id"]) == now - was
    assert set(pd.read_csv(dec / "left.csv")["customer_id"]) == was - now
    assert {"country", "status", "member_since", "last_purchase_date", "reason"} <= set(csv.columns)


def test_a_rerun_gives_the_same_members(two_months, tmp_path):
    nov, dec = two_months
    again = tmp_path / "again"
    assert main(["-q", "run", str(REAL_DATA), "--reference-date", "2011-12-09",
                 "--out-dir", str(again), "--previous", str(nov / "segments.parquet"), *FAST]) == 0
    first = pd.read_parquet(dec / "segments.parquet")
    second = pd.read_parquet(again / "segments.parquet")
    pd.testing.assert_frame_equal(first, second)


def test_the_crm_dag_publishes_the_months_hand_off_files(two_months, tmp_path):
    from insiders.handoff import publish

    _, dec = two_months
    written = publish(str(dec), str(tmp_path / "outbox"))
    assert sorted(written) == ["insiders.csv", "joined.csv", "left.csv"]
    for name in written:
        published = pd.read_csv(tmp_path / "outbox" / "2011-12" / name)
        pd.testing.assert_frame_equal(published, pd.read_csv(dec / name))
