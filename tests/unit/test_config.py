"""One run configuration: the CLI flags and the DAG params build the same object."""

from __future__ import annotations

import pytest

from insiders.cli import _run_config, build_parser
from insiders.config import PARAMS, RUN_PARAMS, RunConfig


def test_defaults_round_trip_through_flat_params():
    config = RunConfig()
    assert RunConfig.from_params(config.to_params()) == config
    assert set(config.to_params()) == set(PARAMS)


def test_every_param_has_a_title_a_section_and_a_description():
    for name, spec in PARAMS.items():
        assert spec.title and spec.section and len(spec.description) > 15, name
        assert "type" in spec.schema or "enum" in spec.schema, name


def test_a_mistyped_param_is_refused_not_defaulted():
    with pytest.raises(ValueError, match="unknown param"):
        RunConfig.from_params({"k_rnage": [4, 10]})
    with pytest.raises(ValueError, match="unknown model"):
        RunConfig.from_params({"models": ["kmeans", "spectral"]})
    with pytest.raises(ValueError, match="unknown space"):
        RunConfig.from_params({"spaces": ["pca"]})


def test_cli_flags_and_dag_params_give_the_same_config():
    argv = ["run", "--anonymous", "synthetic", "--min-unit-price", "0.1",
            "--exclude-customer", "1", "--exclude-customer", "2", "--features", "gross_revenue",
            "recency_days", "--spaces", "features", "umap", "--scaler", "robust",
            "--random-state", "7", "--models", "kmeans", "ward", "--k-max", "9",
            "--rule", "best_silhouette", "--k-range", "3", "6", "--value-score", "n_invoices",
            "--decimal", ",", "--thousands", "none", "--date-format", "%d/%m/%Y"]
    from_cli = _run_config(build_parser().parse_args(argv))
    params = {"anonymous_policy": "synthetic", "min_unit_price": 0.1,
              "excluded_customers": [1, 2], "features": ["gross_revenue", "recency_days"],
              "spaces": ["features", "umap"], "scaler": "robust", "random_state": 7,
              "models": ["kmeans", "ward"], "k_max_tried": 9, "selection_rule": "best_silhouette",
              "k_min": 3, "k_max": 6, "value_score": "n_invoices", "decimal": ",",
              "thousands": "", "date_format": "%d/%m/%Y"}
    from_dag = RunConfig.from_params(params)
    assert from_cli == from_dag
    assert from_dag.grid.k_values == tuple(range(2, 10))
    assert from_dag.read.thousands is None
    assert from_dag.filters.excluded_customers == (1, 2)
    assert from_dag.embed.random_state == from_dag.grid.random_state == 7


def test_every_cli_choice_is_a_dag_param():
    """What the CLI's run offers, the DAG's Trigger form offers too: each flag's value lands
    under its param's name (the fewest and most segments come as one --k-range)."""
    parser = build_parser()
    run = next(a for a in parser._subparsers._group_actions[0].choices.items() if a[0] == "run")[1]
    dests = {a.dest for a in run._actions} - {"help", "source", "out_dir", "previous",
                                             "reference_date", "reuse_spaces", "k_range"}
    assert dests == set(PARAMS) - {"k_min", "k_max"}
    assert {"source", "reference_date", "reuse_spaces"} == RUN_PARAMS


def test_a_choice_added_in_one_place_reaches_the_config_the_dag_and_the_cli():
    """active_days is declared once (PARAMS): the config, its flat params and the flag agree."""
    assert RunConfig().to_params()["active_days"] == RunConfig().membership.active_days
    config = RunConfig.from_params({"active_days": 200})
    assert config.membership.active_days == 200 == config.tier.membership.active_days
    from_cli = _run_config(build_parser().parse_args(["run", "--active-days", "200"]))
    assert from_cli == config
