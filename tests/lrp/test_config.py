"""The LRP-model contract: bad configs are rejected with a message that names the problem."""

from __future__ import annotations

import json

import pytest

from vislrp.lrp import PRESETS, ConfigError, LRPModel, parse_model


def cfg(**over) -> dict:
    base = {"name": "Config-4", "include_bias": False, "input_rule": None,
            "segments": [{"start": 0, "end": 9, "preset": "gamma", "rule": {"gamma1p": 0.25}},
                         {"start": 10, "end": 39, "rule": {}}]}
    base.update(over)
    return base


def test_issue_example_parses_and_fills_lrp0_defaults() -> None:
    model = parse_model(json.dumps(cfg()))
    model.check_layers(40)
    assert model.segments[1].rule == PRESETS["lrp-0"].params
    assert model.rule_for(3).gamma1p == 0.25 and model.rule_for(3).gamma1 == 1
    assert LRPModel.model_validate_json(model.model_dump_json()) == model


@pytest.mark.parametrize(("segments", "message"), [
    ([{"start": 0, "end": 9}, {"start": 9, "end": 39}], "overlap"),
    ([{"start": 0, "end": 8}, {"start": 10, "end": 39}], "gap"),
    ([{"start": 1, "end": 39}], "start at layer 0"),
    ([{"start": 5, "end": 2}], "before its start"),
    ([{"start": 0, "end": 39, "preset": "nope"}], "unknown preset"),
    ([{"start": 0, "end": 39, "rule": {"epsilon": -1}}], "segments.0.rule.epsilon"),
    ([{"start": 0, "end": 39, "rule": {"alpha": float("nan")}}], "NaN"),
    ([{"start": 0, "end": 39, "rule": {"gamma9": 1}}], "gamma9"),
    ([{"start": 0, "end": 39, "rule": {"theta1": 7}}], "theta1"),
    ([], "segments"),
])
def test_bad_segments_are_named(segments: list, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_model(cfg(segments=segments))


def test_layer_range_checked_against_network() -> None:
    model = parse_model(cfg())
    with pytest.raises(ConfigError, match="past the last layer"):
        model.check_layers(20)
    with pytest.raises(ConfigError, match="not covered"):
        model.check_layers(60)


def test_not_json_and_not_object() -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_model("{oops")
    with pytest.raises(ConfigError, match="JSON object"):
        parse_model("[1, 2]")


def test_zbox_bounds_validated() -> None:
    assert parse_model(cfg(input_rule={"kind": "zbox"})).input_rule is not None
    with pytest.raises(ConfigError, match="low must not be above high"):
        parse_model(cfg(input_rule={"kind": "zbox", "low": 2.0, "high": -1.0}))


def test_unusual_choices_warn() -> None:
    rule = PRESETS["alpha-beta"].params.model_copy(update={"alpha": 3.0})
    assert any("α − β" in w for w in rule.warnings())
    assert PRESETS["alpha-beta"].params.warnings() == []
