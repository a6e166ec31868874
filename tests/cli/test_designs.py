"""vislrp.designs, the one resolver of design choices the CLI shares, and the CLI's wording of shared checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from torch import nn

from vislrp.cli import build_parser, main
from vislrp.cli.common import CliError, metric_options
from vislrp.designs import design_from_choices, resolve_design
from vislrp.lrp import ConfigError, LRPModel, build_graph
from vislrp.lrp.composites import COMPOSITES, DEFAULT_COMPOSITE, UnknownCompositeError

TESTS = Path(__file__).resolve().parents[1]
NET = ["--model", "lrp_nets:factory", "--weights", "none"]


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 5))
    return build_graph(net, (3, 8, 8))


def test_every_kind_of_choice_names_the_same_model(graph, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    default = COMPOSITES[DEFAULT_COMPOSITE].resolve(graph)
    assert resolve_design(None, graph) == default == design_from_choices(graph)
    assert resolve_design(DEFAULT_COMPOSITE, graph) == default
    assert resolve_design(COMPOSITES[DEFAULT_COMPOSITE], graph) == default
    assert resolve_design(default, graph) is default
    assert resolve_design(default.model_dump(mode="json"), graph) == default
    path = tmp_path / "design.json"
    path.write_text(default.model_dump_json())
    assert resolve_design(path, graph) == resolve_design(str(path), graph) == default
    assert design_from_choices(graph, config=str(path), composite="epsilon-plus") == default  # the file wins
    single = design_from_choices(graph, preset="epsilon", include_bias=True)
    assert single.include_bias and [(s.start, s.end, s.preset) for s in single.segments] == [(0, 3, "epsilon")]


def test_a_design_that_does_not_fit_is_refused_before_any_work(graph, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    short = LRPModel.single(graph.n_layers - 1, "epsilon")
    with pytest.raises(ConfigError, match="not covered"):
        resolve_design(short, graph)
    with pytest.raises(UnknownCompositeError, match="unknown composite 'nope'"):
        resolve_design("nope", graph)
    with pytest.raises(ConfigError, match="cannot read LRP model file"):
        design_from_choices(graph, config=str(tmp_path / "missing.json"))


def test_cli_config_that_does_not_fit_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TESTS / "lrp"))
    path = tmp_path / "short.json"
    path.write_text(json.dumps(LRPModel.single(3, "epsilon").model_dump(mode="json")))
    assert main(["export", *NET, "--config", str(path), "--zennit"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vislrp export: error: layers 3-") and "not covered" in err and err.count("\n") == 1


@pytest.mark.parametrize(("flags", "message"), [
    (["--fill", "grey"], "--fill must be one of zero, black, blur, mean, road, not 'grey'"),
    (["--steps", "0"], "--steps and --patch must be at least 1"),
    (["--patch", "0"], "--steps and --patch must be at least 1"),
])
def test_metric_option_errors_name_the_flag(flags: list[str], message: str) -> None:
    args = build_parser().parse_args(["recommend", "--images", "x.png", "--metric", "sparseness", *flags])
    with pytest.raises(CliError) as info:
        metric_options(args)
    assert str(info.value) == message


def test_noise_error_names_the_flag() -> None:
    args = build_parser().parse_args(["metrics", "x.png", "--metric", "sparseness", "--noise", "-1"])
    with pytest.raises(CliError, match=r"^--noise must be non-negative$"):
        metric_options(args, noise=args.noise)


def test_a_check_without_cli_wording_keeps_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from vislrp.analysis.metrics import MetricOptions

    def check(self: MetricOptions) -> None:
        raise ValueError("runs must be at least 1")

    monkeypatch.setattr(MetricOptions, "check", check)
    args = build_parser().parse_args(["metrics", "x.png", "--metric", "sparseness"])
    with pytest.raises(CliError, match=r"^runs must be at least 1$"):
        metric_options(args)
