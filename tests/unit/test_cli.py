"""The command line: help, the stage commands on the bundled data, errors that say what to do."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from insiders.cli import main
from tests.conftest import REAL_DATA, make_lines


def test_help_lists_every_subcommand_and_each_has_its_own_help(capsys):
    from insiders.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"ingest", "filter", "features", "embed", "compare", "select", "backtest", "report", "run",
            "warehouse", "metabase"} <= set(commands)
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    top = capsys.readouterr().out
    for name, sub in commands.items():
        assert name in top
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: insiders {name}")
        # every option the subcommand takes is explained
        for action in sub._actions:
            if action.option_strings and action.help:
                assert action.option_strings[-1] in out, (name, action.option_strings)


@pytest.mark.slow
def test_features_with_synthetic_policy_gives_5695(tmp_path, capsys):
    out = tmp_path / "features.parquet"
    assert main(["-q", "features", str(REAL_DATA), "--anonymous", "synthetic", "-o", str(out)]) == 0
    assert len(pd.read_parquet(out)) == 5_695
    assert "5,695 customers" in capsys.readouterr().out


@pytest.mark.slow
def test_stages_chain_through_files(tmp_path):
    lines, kept, feats = (tmp_path / n for n in ("lines.parquet", "kept.parquet", "f.csv"))
    assert main(["-q", "ingest", str(REAL_DATA), "-o", str(lines)]) == 0
    assert main(["-q", "filter", str(lines), "-o", str(kept)]) == 0
    assert (tmp_path / "kept.quarantine.csv").exists()
    assert main(["-q", "features", str(kept), "-o", str(feats), "--reference-date", "2011-12-09"]) == 0
    assert len(pd.read_csv(feats)) == 4_329


def test_bad_input_exits_2_with_the_message(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("InvoiceNo,Oops\n1,2\n")
    assert main(["-q", "ingest", str(bad), "-o", str(tmp_path / "x.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown column" in err and "column 'Oops'" in err
    assert not (tmp_path / "x.parquet").exists()


def test_run_prints_comparison_chosen_model_and_insiders(tmp_path, capsys):
    args = ["-q", "run", "--out-dir", str(tmp_path), "--spaces", "features", "umap",
            "--models", "kmeans", "ward"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Customers: 4,329" in out
    assert str(tmp_path / "features.parquet") in out
    assert "Model comparison, best silhouettes:" in out
    assert "Chosen: umap/ward/k=8 (8 clusters), silhouette 0." in out
    assert "Insiders: " in out and "of customers)" in out and "of revenue" in out
    for name in ("model_scores.csv", "segments.parquet", "profiles.csv", "selection.json"):
        assert (tmp_path / name).exists()
    # the bundled data is named as the project names it, not by this machine's path
    assert "Data: `data/online_retail.parquet`" in (tmp_path / "report.md").read_text()
    # the stage commands rerun a stage on the same folder; best_silhouette picks another model
    assert main(["-q", "select", "--run-dir", str(tmp_path), "--rule", "best_silhouette",
                 "--k-range", "3", "6"]) == 0
    assert "Policy: the best silhouette with 3 to 6 clusters" in capsys.readouterr().out


def test_faults_are_error_messages_with_exit_2(tmp_path, capsys):
    """No traceback reaches a user: a folder as input, an output under a regular file, a
    warehouse that does not answer."""
    folder = tmp_path / "exports.csv"
    folder.mkdir()
    assert main(["-q", "ingest", str(folder), "-o", str(tmp_path / "x.parquet")]) == 2
    assert "is a folder, not a file" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_text("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                    "1,A,x,1,2011-01-10 09:00,2.0,7,UK\n")
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["-q", "ingest", str(good), "-o", str(blocker / "out.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read or write") and "Check the path" in err
    assert main(["-q", "warehouse", "summary", "--dsn",
                 "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the warehouse cannot be reached") and "--dsn" in err
    assert "Traceback" not in err


def test_a_full_disk_is_an_error_message_with_exit_2(tmp_path):
    """Writes that fail half way (here: a file-size limit, which fails writes as a full disk
    does) leave no traceback and no half file."""
    import resource
    import subprocess
    import sys

    def limit() -> None:  # Python ignores SIGXFSZ: the write fails with an OSError
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    out = tmp_path / "lines.parquet"
    done = subprocess.run([sys.executable, "-m", "insiders.cli", "-q", "ingest", str(REAL_DATA),
                           "-o", str(out)], capture_output=True, text=True, preexec_fn=limit,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: cannot read or write") and "free space" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_a_defect_of_ours_says_so_keeps_the_traceback_and_exits_1(tmp_path, capsys, monkeypatch):
    """A library's ValueError inside a stage is not bad input: exit 1, not 2, and the message
    says where the traceback is (issue 25)."""
    from insiders import pipeline

    def broken(*args, **kwargs):
        raise ValueError("The 'eps' parameter of DBSCAN must be a float in the range (0.0, inf). "
                         "Got 0.0 instead.")

    monkeypatch.setattr(pipeline, "run_all", broken)
    lines = tmp_path / "lines.parquet"
    make_lines([("A", "X1", 1, "2011-01-05 10:00", 1.0, 1, "UK")]).to_parquet(lines)
    capsys.readouterr()
    assert main(["-q", "run", str(lines), "--out-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "This is a defect of insiders, not of your input" in err
    log = err.split("the traceback is in ")[1].split(":")[0]
    assert "in broken" in Path(log).read_text()


def test_a_bad_choice_is_input_and_exits_2(tmp_path, capsys):
    lines = tmp_path / "lines.parquet"
    make_lines([("A", "X1", 1, "2011-01-05 10:00", 1.0, 1, "UK")]).to_parquet(lines)
    capsys.readouterr()
    assert main(["-q", "run", str(lines), "--out-dir", str(tmp_path / "out"),
                 "--k-max", "1"]) == 2
    assert "defect" not in capsys.readouterr().err
