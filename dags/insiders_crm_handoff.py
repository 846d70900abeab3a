"""
### Insiders, hand-off to the CRM

Runs whenever `insiders_monthly` has loaded a month into the warehouse (the Asset
`insiders_month_loaded`): writes that month's `insiders.csv`, `joined.csv` and `left.csv` (the
add and remove lists a CRM or an email tool imports) into `<insiders_crm_outbox>/<YYYY-MM>/`.
An example of a downstream DAG: replace the task with the sync your tool needs.

| what | where | default |
|---|---|---|
| outbox | Variable `insiders_crm_outbox` (`s3://...` or a path) | `var/crm-outbox` beside this project |
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Asset, Variable, dag, task

from insiders.options import INSIDERS_LOADED_ASSET

PROJECT = Path(__file__).resolve().parent.parent
INSIDERS_LOADED = Asset(INSIDERS_LOADED_ASSET)


@dag(
    dag_id="insiders_crm_handoff",
    schedule=[INSIDERS_LOADED],
    start_date=pendulum.datetime(2011, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "data-engineering", "retries": 2},
    tags=["insiders", "crm"],
    doc_md=__doc__,
)
def insiders_crm_handoff():
    @task
    def publish(**context) -> dict[str, Any]:
        """Write the loaded month's hand-off files into the outbox."""
        from insiders.handoff import publish

        events = context["triggering_asset_events"][INSIDERS_LOADED]
        outbox = Variable.get("insiders_crm_outbox", default=str(PROJECT / "var" / "crm-outbox"))
        latest = events[-1].extra
        return {"run_month": latest["run_month"], "files": publish(latest["run_dir"], outbox)}

    publish()


insiders_crm_handoff()
