"""Every run month of the bundled data runs, from the shop's first month on (issue 24)."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from insiders import artifacts, pipeline
from insiders.config import RunConfig
from tests.conftest import REAL_DATA

pytestmark = pytest.mark.slow

#: A quick configuration: the raw features and K-Means; the Insiders tier as by default.
QUICK = RunConfig.from_params({"spaces": ["features"], "models": ["kmeans"], "space": "features",
                               "model": "kmeans", "k": 4, "k_max_tried": 5})
#: Every run month of the data: its first (13 days of purchases) to its last.
MONTHS = ["2010-12-14", *(f"2011-{m:02d}-14" for m in range(1, 13))]


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> dict[str, tuple[dict, pd.DataFrame]]:
    """The Insiders stage at each run month 2010-12 .. 2011-12, each month on the one before."""
    out, previous = {}, None
    for ref in MONTHS:
        run_dir = str(tmp_path_factory.mktemp(ref))
        facts = pipeline.run_all(str(REAL_DATA), run_dir, QUICK, reference_date=ref,
                                 stages=pipeline.stages_through("tier"),
                                 previous_segments=previous)
        previous = pipeline.path(run_dir, "segments")
        out[ref] = facts["tier"], artifacts.load_frame(previous)
    return out


def test_every_month_chooses_insiders_and_names_the_model_it_used(chain):
    used = {ref: facts["membership"]["value_model_used"] for ref, (facts, _) in chain.items()}
    for ref, (facts, segments) in chain.items():
        assert facts["insiders"]["customers"] == int(segments["is_insider"].sum()) > 0, ref
        reason = facts["membership"]["value_model_reason"]
        assert (reason is None) == (used[ref] == "blend"), ref  # a step down always says why
    # 13 days of data: past revenue; then, short of the trees' training window (30 + 91 days),
    # BG/NBD alone; then the default blend once a window fits, and never back
    assert used["2010-12-14"] == "past_revenue"
    assert used["2011-01-14"] == "bgnbd" and used["2011-12-14"] == "blend"
    order = [used[ref] for ref in MONTHS]
    assert order == sorted(order, key=["past_revenue", "bgnbd", "blend"].index)


def test_the_membership_chain_holds_month_to_month(chain):
    months = list(chain)
    for before, after in itertools.pairwise(months):
        last = chain[before][1]
        now = chain[after][1]
        members = set(last.index[last["is_insider"]])
        status = now["status"]
        assert set(now.index[status.isin(["stayed", "left"])]) == members, after
        assert not set(now.index[status == "new"]) & members, after
        assert set(now.index[now["is_insider"]]) == set(now.index[status.isin(["new", "stayed"])])
        counts = chain[after][0]["membership"]
        assert counts["stayed"] + counts["left"] == len(members), after
