"""Where a run's time and memory go: every stage's seconds and peak memory in facts.json, and a
start and an end line for every stage that does not log its own steps."""

from __future__ import annotations

import logging

from insiders import artifacts, pipeline
from insiders.config import ReadConfig
from insiders.progress import set_enabled
from insiders.run_folder import path

EXPORT = ("ticket,client,day,qty,total\n"
          + "".join(f"{i},c{i % 9},2024-01-{1 + i % 28:02d},{1 + i % 3},{5 + i % 7}.50\n"
                    for i in range(60)))


def test_every_stage_records_its_seconds_and_peak_memory(tmp_path):
    source = tmp_path / "export.csv"
    source.write_text(EXPORT)
    run = str(tmp_path / "run")
    read = ReadConfig(preset="custom", columns="invoice=ticket,customer=client,date=day,"
                                               "quantity=qty,amount=total")
    from insiders.config import RunConfig

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # the progress logger's own records (it may not propagate)
    progress = logging.getLogger("insiders.progress")
    progress.addHandler(handler)
    level, progress.level = progress.level, logging.INFO
    set_enabled(True)  # an earlier command's --quiet may have turned progress off
    try:
        pipeline.run_all(str(source), run, RunConfig(read=read),
                         stages=pipeline.stages_through("features"))
    finally:
        progress.removeHandler(handler)
        progress.setLevel(level)
    costs = artifacts.load_json(path(run, "facts"))["stage_costs"]
    assert list(costs) == list(pipeline.stages_through("features"))
    for cost in costs.values():
        assert cost["seconds"] >= 0 and cost["peak_rss_mb"] > 0 and cost["workers_peak_rss_mb"] >= 0
    lines = [r.getMessage() for r in records]
    started = [m[2:].removesuffix(" ...") for m in lines if m.startswith("» ")]
    ended = [m.strip().split(": done in ")[0] for m in lines if ": done in " in m]
    assert len(started) >= len(costs) and sorted(started) == sorted(ended)  # each ends
