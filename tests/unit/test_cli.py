"""The command line: help, the stage commands on the bundled data, errors that say what to do."""

from __future__ import annotations

import pandas as pd
import pytest

from insiders.cli import main
from tests.conftest import REAL_DATA


def test_help_lists_every_stage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("ingest", "filter", "features", "run"):
        assert command in out


def test_features_with_synthetic_policy_gives_5695(tmp_path, capsys):
    out = tmp_path / "features.parquet"
    assert main(["-q", "features", str(REAL_DATA), "--anonymous", "synthetic", "-o", str(out)]) == 0
    assert len(pd.read_parquet(out)) == 5_695
    assert "5,695 customers" in capsys.readouterr().out


def test_stages_chain_through_files(tmp_path):
    lines, kept, feats = (tmp_path / n for n in ("lines.parquet", "kept.parquet", "f.csv"))
    assert main(["-q", "ingest", str(REAL_DATA), "-o", str(lines)]) == 0
    assert main(["-q", "filter", str(lines), "-o", str(kept)]) == 0
    assert (tmp_path / "kept.quarantine.csv").exists()
    assert main(["-q", "features", str(kept), "-o", str(feats), "--reference-date", "2011-12-09"]) == 0
    assert len(pd.read_csv(feats)) == 4_329


def test_run_prints_summary_and_outputs(tmp_path, capsys):
    assert main(["-q", "run", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "customers                   4,329" in out
    assert str(tmp_path / "features.parquet") in out


def test_bad_input_exits_2_with_the_message(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("InvoiceNo,Oops\n1,2\n")
    assert main(["-q", "ingest", str(bad), "-o", str(tmp_path / "x.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown column" in err and "column 'Oops'" in err
    assert not (tmp_path / "x.parquet").exists()
