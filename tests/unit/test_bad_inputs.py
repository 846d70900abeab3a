"""Every bad input of the matrix (tests/bad_inputs.py) is refused clearly or read correctly."""

from __future__ import annotations

import pytest

from insiders.cli import main
from tests.bad_inputs import CASES, classify, sample, truth_lines


@pytest.fixture(scope="module")
def lines():
    return sample()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, lines, tmp_path, capsys, monkeypatch):
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    truth = None
    if case.expect == "read" and case.check is None:
        clean = tmp_path / "truth.parquet"
        truth_lines(case, lines).to_parquet(clean)
        truth = tmp_path / "truth-features.parquet"
        assert main(["-q", "features", str(clean), "-o", str(truth)]) == 0
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.replace("{out}", str(out)) for a in case.make(lines, tmp_path)]
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    outcome = classify(case, code, err, out, truth)
    assert outcome == ("refused clearly" if case.expect == "refused" else "read correctly"), err
