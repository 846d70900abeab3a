"""Real shops' exports as they come (issue 30), made by ``insiders synth --style``: ``insiders
inspect`` proposes each one's layout from names and values; ``--preset auto`` runs with it,
sets the non-sale lines aside and counts them, and gives the Insiders the clean twin gives;
a layout in doubt is refused with its candidates shown; hostile keys stay inert in the
hand-off files."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from insiders import artifacts
from insiders.cli import main
from insiders.ingest import IngestError, read_transactions
from insiders.ingest.inspection import describe, inspect_source
from insiders.synth import exports
from tests.conftest import REAL_DATA

CUSTOMERS, SEED = 150, 3
#: Each style's quirks (``quirks.json``) by the reader's rule that sets them aside.
QUIRK_RULES = {"zero_line": "no_units", "void_line": "not_a_purchase",
               "coupon_line": "discount_line", "free_item": "zero_price",
               "repeated_header": "repeated_header", "total_row": "total_row",
               "cancelled_order": "not_a_purchase", "refunded_order": "not_a_purchase",
               "zero_order": "zero_price"}
#: Keys a spreadsheet would run as formulas (CSV injection).
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd"]
#: The run's choices that keep it short: the fixed policy's space and model only.
LIGHT = ["--spaces", "features", "umap", "--models", "kmeans", "ward", "--replay-months", "2"]


@pytest.fixture(scope="module")
def shops(tmp_path_factory):
    out = tmp_path_factory.mktemp("shops")
    source = pd.read_parquet(REAL_DATA)
    return {style: exports.write_export(style, source, out, customers=CUSTOMERS, seed=SEED)
            for style in exports.STYLES}


def expected_set_aside(quirks: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for quirk, n in quirks.items():
        if quirk in QUIRK_RULES:
            out[QUIRK_RULES[quirk]] = out.get(QUIRK_RULES[quirk], 0) + n
    return out


@pytest.mark.parametrize("style", list(exports.STYLES))
def test_inspect_proposes_a_layout_that_reads_every_style(shops, style, capsys):
    files = shops[style]
    look = inspect_source(str(files.export))
    assert look.runnable and look.preset == "custom", describe(look)
    assert {"customer", "date", "amount"} <= look.proposal.roles.keys()
    # with it, the sample (the whole small file) reads as the twin's lines, the rest set aside
    assert look.found["lines"] == files.sale_lines
    aside = {rule: n["lines"] for rule, n in look.found["set_aside"].items()}
    assert aside == expected_set_aside(files.quirks)
    assert main(["-q", "inspect", str(files.export)]) == 0
    printed = capsys.readouterr().out
    assert look.flags() in printed and "Set aside as not sales" in printed


def test_a_role_in_doubt_is_shown_with_its_candidates_and_never_picked(tmp_path, capsys):
    path = tmp_path / "two_totals.csv"
    path.write_text("order,customer,date,total,amount\n"
                    + "".join(f"{i},c{i % 25},2024-01-{1 + i % 28:02d},{i}.50,{i}.25\n"
                              for i in range(40)))
    look = inspect_source(str(path))
    assert not look.runnable and look.proposal.ambiguous == {"amount": ["total", "amount"]}
    assert main(["-q", "inspect", str(path)]) == 2
    printed = capsys.readouterr().out
    assert "Ambiguous: amount could be total (0.50, 1.50, 2.50); amount (0.25, 1.25, 2.25)" in printed
    assert "Proposal:" not in printed  # nothing runnable is offered
    with pytest.raises(IngestError, match=r"--preset auto cannot settle.*amount could be total"):
        read_transactions(path, preset="auto")
    assert main(["-q", "run", str(path), "--preset", "auto", "--out-dir",
                 str(tmp_path / "run")]) == 2
    assert not (tmp_path / "run" / "raw_lines.parquet").exists()


def test_a_name_that_says_one_thing_and_values_another_is_in_doubt(tmp_path):
    path = tmp_path / "misnamed.csv"
    path.write_text("order,customer,order_date,stamp,total\n"
                    + "".join(f"{i},c{i % 25},X{i},2024-01-{1 + i % 28:02d},{i}.50\n"
                              for i in range(40)))
    look = inspect_source(str(path))  # the column named a date holds none; another does
    assert look.proposal.ambiguous == {"date": ["stamp", "order_date"]}
    assert not look.runnable


def _insiders(run_dir, keys: dict[str, int] | None) -> set[int]:
    segments = artifacts.load_frame(f"{run_dir}/segments.parquet")
    members = segments[segments["is_insider"]]
    if keys is None:
        if "customer_key" in members:
            return {int(k) for k in members["customer_key"]}
        return set(members.index.astype(int))
    return {keys[k] for k in members["customer_key"]}


@pytest.mark.slow
@pytest.mark.parametrize("style", list(exports.STYLES))
def test_each_style_runs_with_auto_and_gives_its_clean_twins_insiders(shops, style, tmp_path):
    files = shops[style]
    keys = None
    if files.keys is not None:
        table = pd.read_csv(files.keys, dtype={"customer_key": str})
        keys = dict(zip(table["customer_key"], table["CustomerID"].astype(int), strict=True))
    run, twin = tmp_path / "export", tmp_path / "twin"
    assert main(["-q", "run", str(files.clean), "--out-dir", str(twin), *LIGHT]) == 0
    source = files.export
    if style == "seldom":  # hostile keys for three Insiders: inert in every hand-off file
        source, keys = _with_hostile_keys(files, keys, sorted(_insiders(twin, None))[:3], tmp_path)
    assert main(["-q", "run", str(source), "--preset", "auto", "--out-dir", str(run), *LIGHT]) == 0
    facts = json.loads((run / "facts.json").read_text())
    assert facts["layout_proposed"].startswith("--preset custom --columns ")
    assert facts["lines_read"] == files.sale_lines  # the twin's lines, the rest set aside
    quarantine = pd.read_csv(run / "quarantine.csv").set_index("rule")["lines_removed"]
    for rule, n in expected_set_aside(files.quirks).items():
        assert quarantine[rule] == n, rule
    assert _insiders(run, keys) == _insiders(twin, None)
    # what the export lacks is left out: no "units returned" for a shop without returns
    returns = files.quirks.get("return_line", 0) > 0
    assert ("Units returned" in (run / "report.md").read_text()) == returns
    if style == "seldom":
        _check_inert(run)


def _with_hostile_keys(files, keys, customers, tmp_path):
    """The export with three customers' e-mails replaced by keys a spreadsheet would run."""
    text = files.export.read_text()
    by_id = {v: k for k, v in keys.items()}
    for hostile, customer in zip(HOSTILE, customers, strict=True):
        text = text.replace(by_id[customer], hostile.replace('"', '""'))
        keys[hostile] = customer
    path = tmp_path / "seldom_hostile.csv"
    path.write_text("\n".join(_quote_cells(line) for line in text.split("\n")))
    return path, keys


def _quote_cells(line: str) -> str:
    """CSV cells holding a quote or a comma of a hostile key, quoted."""
    if not any(h.replace('"', '""') in line for h in HOSTILE):
        return line
    for hostile in HOSTILE:
        escaped = hostile.replace('"', '""')
        line = line.replace(escaped, f'"{escaped}"')
    return line


def _check_inert(run) -> None:
    seen = set()
    for name in ("insiders.csv", "joined.csv", "left.csv"):
        with open(run / name, newline="") as handle:
            for row in csv.DictReader(handle):
                for cell in row.values():
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")), (name, cell)
                seen.add(row["customer_key"])
    assert {"'" + h for h in HOSTILE} <= seen  # the hostile Insiders are there, as text


def test_a_later_month_that_no_longer_fits_the_kept_map_is_refused_saying_what_changed(tmp_path):
    kept = "invoice=order,customer=customer,date=date,amount=total"
    path = tmp_path / "2024-02.csv"  # the export's total renamed since the map was accepted
    path.write_text("order,customer,date,grand_total\n1,c1,2024-02-01,5.00\n")
    with pytest.raises(IngestError, match=r"no longer fits the column map: it has no column "
                                          r"'total' \(amount\); columns the map does not name: "
                                          r"grand_total"):
        read_transactions(path, preset="custom", columns=kept)
