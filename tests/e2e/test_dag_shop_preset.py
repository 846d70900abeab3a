"""The DAG end to end on another shop's export: a Shopify orders CSV in S3 (made from the
bundled data's purchases, customers keyed by e-mail), read with the preset as a param. It
gives the warehouse what the package gives on the same file, keeps the e-mails for the CRM,
and applies none of the study's rules and no currency of the study."""

from __future__ import annotations

import boto3
import pandas as pd

from insiders import artifacts, local_postgres, pipeline, warehouse
from insiders.config import RunConfig
from tests import exports
from tests.airflow_env import dag_test
from tests.e2e.conftest import BUCKET

CONF = {"spaces": ["features", "umap"], "models": ["kmeans", "ward"], "preset": "shopify_orders"}
NOVEMBER = "2011-11-15T06:00:00+00:00"
KEY = "raw/shopify/orders_export.csv"


def test_dag_runs_a_shopify_export_with_its_preset(airflow, s3_endpoint, postgres, real_lines,
                                                   tmp_path):
    # the customers' purchases as the UCI file holds them: no rule of the study applied
    bought = real_lines[(real_lines["quantity"] > 0) & real_lines["customer_id"].notna()]
    local = tmp_path / "orders_export.csv"
    exports.shopify_orders(bought).to_csv(local, index=False)
    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="testing",
                 aws_secret_access_key="testing", region_name="us-east-1").upload_file(
        str(local), BUCKET, KEY)
    dsn = local_postgres.ensure_database(postgres, "e2e_shop")  # its own warehouse
    env = {**airflow, "AIRFLOW_CONN_INSIDERS_WAREHOUSE": dsn}
    state, output = dag_test(env, NOVEMBER, {**CONF, "source": f"s3://{BUCKET}/{KEY}"})
    assert state == "success", output[-5000:]
    with warehouse.connect(dsn) as conn:
        tables = warehouse.snapshot(conn)
    segments = tables["customer_segments"].set_index("customer_id").sort_index()
    # the e-mails are kept whole for the CRM; the study's outlier is a customer like any other
    assert segments["customer_key"].str.endswith("@shop.example").all()
    assert "c16446@shop.example" in set(segments["customer_key"])
    assert not tables["answers"]["text"].fillna("").str.contains("£").any()
    filters = tables["filter_counts"].set_index("rule")["lines_removed"]
    assert filters[["excluded_customer", "non_product_stock_code", "unknown_country"]].eq(0).all()
    # the package on the same file, same settings: the same customers, segments and Insiders
    run_dir = str(tmp_path / "run")
    facts = pipeline.run_all(str(local), run_dir, RunConfig.from_params(CONF),
                             reference_date="2011-11-14",
                             stages=pipeline.stages_through("tier"))
    expected = artifacts.load_frame(pipeline.path(run_dir, "segments")).sort_index()
    assert segments.index.tolist() == expected.index.tolist()
    assert (segments["customer_key"] == expected["customer_key"]).all()
    assert (segments["is_insider"] == expected["is_insider"]).all()
    run = tables["runs"].iloc[0]
    assert run["currency"] == "GBP"  # the export's Currency column says
    assert run["insiders"] == facts["tier"]["insiders"]["customers"]
    assert pd.Timestamp(run["run_month"]) == pd.Timestamp("2011-11-01")
