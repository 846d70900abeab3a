"""Progress goes through logging at INFO (Airflow logs stderr at ERROR), never print."""

from __future__ import annotations

import io
import logging

import pytest

from insiders import progress


@pytest.fixture(autouse=True)
def plain_logger():
    """As in a task process: records propagate to the root's handlers (a CLI run in the same
    test session may have attached its terminal handler)."""
    saved = progress.logger.handlers[:], progress.logger.propagate, progress._enabled
    progress.logger.handlers.clear()
    progress.logger.propagate = True
    progress.set_enabled(True)  # a `-q` CLI run may have turned it off
    yield
    progress.logger.handlers[:], progress.logger.propagate, progress._enabled = saved


def test_stages_and_loops_log_at_info_and_print_nothing(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="insiders.progress"):
        with progress.stage("embed 10 customers"):
            pass
        assert list(progress.progress(range(3), desc="3 models")) == [0, 1, 2]
    records = [r for r in caplog.records if r.name == "insiders.progress"]
    assert [r.levelno for r in records] == [logging.INFO] * 4
    assert records[0].getMessage() == "» embed 10 customers ..."
    assert records[1].getMessage().startswith("  embed 10 customers: done in ")
    assert "3 models" in records[2].getMessage()
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_quiet_logs_nothing(caplog):
    progress.set_enabled(False)
    try:
        with caplog.at_level(logging.INFO, logger="insiders.progress"), progress.stage("x"):
            pass
    finally:
        progress.set_enabled(True)
    assert not [r for r in caplog.records if r.name == "insiders.progress"]


def test_the_terminal_shows_the_elapsed_time_once():
    stream = io.StringIO()
    progress.show_in_terminal(stream)
    handler = progress.show_in_terminal(stream)  # a second call replaces the first
    try:
        with progress.stage("features"):
            pass
    finally:
        progress.logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[") and lines[0].endswith("s] » features ...")
