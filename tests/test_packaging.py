"""Packaging (issue 15, "installable by users"): ranges in pyproject.toml, exact versions in constraints.txt.

Runtime dependencies are ranges so vislrp installs next to a user's torch; constraints.txt pins what our
machines resolve, and setup.sh installs with it. Every third-party module that vislrp imports at module level
is a runtime dependency; one imported only inside a function belongs to the core or to an extra. The wheel
itself is checked end to end by scripts/check_wheel.sh (`make wheel-check`, run by CI).
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "vislrp"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

requirements = pytest.importorskip("packaging.requirements")
utils = pytest.importorskip("packaging.utils")


def _req(text: str):  # -> packaging.requirements.Requirement
    return requirements.Requirement(text)


def _name(text: str) -> str:
    return utils.canonicalize_name(_req(text).name)


def _constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in (ROOT / "constraints.txt").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert m, f"constraints.txt: {line!r} is not NAME==VERSION"
        pins[utils.canonicalize_name(m.group(1))] = m.group(2)
    return pins


CORE = {_name(d) for d in PROJECT["dependencies"]}
EXTRAS = {extra: {_name(d) for d in deps} for extra, deps in PROJECT["optional-dependencies"].items()}


def test_runtime_dependencies_are_ranges() -> None:
    for dep in PROJECT["dependencies"]:
        req = _req(dep)
        assert req.specifier, f"{dep}: give a lower bound"
        assert all(s.operator in (">=", ">", "<", "<=", "!=", "~=") for s in req.specifier), (
            f"{dep}: runtime dependencies are ranges; exact versions belong in constraints.txt"
        )


def test_constraints_pin_every_dependency_within_its_range() -> None:
    pins = _constraints()
    assert "vislrp" not in pins, "constraints.txt must not pin vislrp itself"
    assert pins.get("torch") and pins.get("torchvision")
    for dep in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"]]:
        req = _req(dep)
        name = utils.canonicalize_name(req.name)
        assert name in pins, f"{req.name} is a dependency but constraints.txt does not pin it"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]}, outside pyproject's {req.specifier}"
        )


def test_setup_installs_with_the_constraints() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert re.search(r"pip install .*-c constraints\.txt", setup)
    digest = next(line for line in setup.splitlines() if line.startswith("digest="))
    assert "constraints.txt" in digest, "a change of constraints.txt must re-run the install"


def test_the_test_extra_holds_every_other_extra() -> None:
    for extra, names in EXTRAS.items():
        assert names <= EXTRAS["test"], f"the test extra lacks {sorted(names - EXTRAS['test'])} of [{extra}]"


def _third_party_imports() -> tuple[set[str], set[str]]:
    """Top-level module names vislrp imports at module level, and those it imports inside functions."""
    eager: set[str] = set()
    lazy: set[str] = set()
    stdlib = set(sys.stdlib_module_names)
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        module_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in stdlib or top in ("vislrp", "__future__"):
                    continue
                (eager if id(node) in module_level else lazy).add(top)
    return eager, lazy - eager


@functools.cache
def _packages() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def _distributions(module: str) -> set[str]:
    return {utils.canonicalize_name(d) for d in _packages().get(module, [])}


def test_module_level_imports_are_runtime_dependencies() -> None:
    eager, _ = _third_party_imports()
    for module in sorted(eager):
        dists = _distributions(module)
        assert dists, f"{module} is imported at module level but no installed distribution provides it"
        assert dists & CORE, f"{module} ({', '.join(sorted(dists))}) is imported at module level but is not a " \
            "runtime dependency in pyproject.toml"


INSTALLED_APART = {"lxt": "pip install -q --no-deps -c constraints.txt lxt"}
"""Lazy imports no extra can declare, with the line scripts/setup.sh installs them by: LXT's own requirements
(bitsandbytes, open_clip_torch, accelerate) are not needed for the rules `vislrp bench` and the tests use, so it
is installed without them; bench marks LXT unavailable where it is missing."""


def test_lazy_imports_are_declared_somewhere() -> None:
    _, lazy = _third_party_imports()
    declared = CORE.union(*EXTRAS.values())
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    for module in sorted(lazy):
        if module in INSTALLED_APART:
            assert INSTALLED_APART[module] in setup, f"{module} is imported but scripts/setup.sh does not install it"
            continue
        dists = _distributions(module)
        assert dists & declared, f"{module} ({', '.join(sorted(dists)) or 'not installed'}) is imported but " \
            "declared neither as a runtime dependency nor in an extra"
