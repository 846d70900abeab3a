"""A failed task mails the team through the SMTP connection `insiders_alerts`, and does
nothing (one log line) without it: real runs of the DAG (`dag.test()`) on a bad input file,
the mail received by an SMTP server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from tests.airflow_env import airflow_env, dag_test, migrate
from tests.e2e.conftest import BAD_CSV
from tests.smtp_sink import SmtpSink

DECEMBER = "2011-12-15T06:00:00+00:00"  # run month 2011-12


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    """An Airflow home and the conf of a run that fails in `ingest` (a quantity 'six')."""
    home = tmp_path_factory.mktemp("airflow-alerts")
    bad = home / "bad.csv"
    bad.write_text(BAD_CSV)
    env = airflow_env(home, AIRFLOW_VAR_INSIDERS_ARTIFACTS=(home / "runs").as_uri())
    env.pop("AIRFLOW_CONN_INSIDERS_ALERTS", None)
    migrate(env)
    return env, {"source": str(bad)}


def test_without_the_connection_a_failure_sends_nothing_and_raises_nothing(failing_run):
    env, conf = failing_run
    state, output = dag_test(env, DECEMBER, conf)
    assert state == "failed", output[-3000:]
    assert "not a number" in output  # it failed where the bad value is
    assert "no connection 'insiders_alerts': no failure mail sent" in output
    assert "Failed to send notification" not in output
    assert "Failed to run task callback" not in output


def test_a_failed_task_mails_the_dag_the_task_and_the_run_month(failing_run):
    env, conf = failing_run
    with SmtpSink() as sink:
        alerts = json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": sink.port,
            "extra": {"to": "data-team@example.com", "from_email": "airflow@example.com",
                      "disable_ssl": True, "disable_tls": True, "timeout": 10},
        })
        state, output = dag_test({**env, "AIRFLOW_CONN_INSIDERS_ALERTS": alerts}, DECEMBER, conf)
    assert state == "failed", output[-3000:]
    assert len(sink.messages) == 1, output[-3000:]  # one failed task, one mail
    sender, recipients, message = sink.messages[0]
    assert "airflow@example.com" in sender
    assert recipients == ["<data-team@example.com>"]
    subject = str(message["Subject"])
    assert subject == "Insiders: insiders_monthly failed at ingest for run month 2011-12", subject
    body = "".join(part.get_payload(decode=True).decode() for part in message.walk()
                   if part.get_content_type() == "text/html")
    assert "not a number" in body and "Quantity" in body  # the error itself
    assert "failure mail sent to data-team@example.com" in output
