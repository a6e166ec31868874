"""One source for each fact (issue 15): every metric name, fill mode and composite name is written as a string
literal in exactly one module under src/, and in no hand-written TypeScript file (the front end reads them from
/api/info or the types generated from the OpenAPI document)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from vislrp.analysis.flip import FILL_MODES
from vislrp.analysis.metrics import METRIC_NAMES
from vislrp.lrp.composites import COMPOSITES
from vislrp.lrp.start import START_KINDS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "vislrp"
WEB = ROOT / "web" / "src"
GENERATED = {WEB / "api" / "schema.d.ts"}

HOMONYMS: dict[tuple[str, str], str] = {
    # (literal, file relative to the repository root): why this literal is another fact with the same spelling
    ("mean", "src/vislrp/lrp/graph.py"): "the name of torch's mean function in a traced graph",
    ("mean", "src/vislrp/sweep/table.py"): "pandas' mean aggregation and the sweep table's column",
    ("mean", "src/vislrp/sweep/driver.py"): "the key of a sweep's best mean in its JSON summary",
    ("mean", "src/vislrp/cli/sweep.py"): "the key of a sweep's best mean in its JSON summary",
    ("mean", "web/src/draw/landscape.ts"): "the legend entry of the landscape's mean line",
    ("blur", "web/src/views/modelManager.ts"): "the DOM event",
    ("attnlrp", "src/vislrp/lrp/params.py"): "the attention rule (Segment.attention) the composite is named after",
    ("mean", "src/vislrp/analysis/neurons.py"): "how a unit's map reduces its features (torch's mean)",
    ("logit", "web/src/views/comparisonView.ts"): "the comparison's colour scale option 'shared scale, ÷ logit'",
}


def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for kind, values in (("metric", METRIC_NAMES), ("fill", FILL_MODES), ("composite", tuple(COMPOSITES))):
        for v in values:
            names.setdefault(v, kind)
    return names


def _python_literals(path: Path) -> set[str]:
    """String constants of a module, leaving out ``__all__`` (names of Python objects) and docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and node.value is not None:
                skip |= {id(n) for n in ast.walk(node.value)}
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
    return {n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip}


_TS_STRING = re.compile(r"""(["'`])((?:\\.|(?!\1)[^\\\n])*)\1""")
_TS_COMMENT = re.compile(r"""//[^\n]*|/\*.*?\*/""", re.DOTALL)


def _ts_literals(path: Path) -> set[str]:
    """Quoted strings of a TypeScript file (comments removed first; a `//` inside a string is rare enough here)."""
    text = path.read_text(encoding="utf-8")
    out: set[str] = set()
    pos = 0
    while pos < len(text):
        s, c = _TS_STRING.search(text, pos), _TS_COMMENT.search(text, pos)
        if s is None:
            break
        if c is not None and c.start() < s.start():
            pos = c.end()
            continue
        out.add(s.group(2))
        pos = s.end()
    return out


def _where(names: dict[str, str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    py: dict[str, set[str]] = defaultdict(set)
    ts: dict[str, set[str]] = defaultdict(set)
    for path in sorted(SRC.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        for lit in _python_literals(path) & names.keys():
            if (lit, rel) not in HOMONYMS:
                py[lit].add(rel)
    for path in sorted(WEB.rglob("*.ts")):
        if path in GENERATED or path.name.endswith(".test.ts"):  # generated types; unit tests (tests aside)
            continue
        rel = str(path.relative_to(ROOT))
        for lit in _ts_literals(path) & names.keys():
            if (lit, rel) not in HOMONYMS:
                ts[lit].add(rel)
    return py, ts


def test_each_name_is_written_in_exactly_one_python_module() -> None:
    names = _names()
    py, _ = _where(names)
    wrong = {f"{names[n]} {n!r}": sorted(py.get(n, set())) for n in names if len(py.get(n, set())) != 1}
    assert not wrong, f"written in more (or fewer) than one module under src/: {wrong}"


def test_no_hand_written_typescript_spells_a_name() -> None:
    names = _names()
    _, ts = _where(names)
    wrong = {f"{names[n]} {n!r}": sorted(files) for n, files in ts.items()}
    assert not wrong, f"hand-written .ts files spell names the API provides: {wrong}"


def test_no_hand_written_typescript_spells_a_start_kind() -> None:
    """The designer's start-rule picker reads the kinds from /api/info (``start_kinds``), and knows which take a
    class from there too (issue 17)."""
    _, ts = _where(dict.fromkeys(START_KINDS, "start rule"))
    assert not ts, f"hand-written .ts files spell start kinds the API provides: {dict(ts)}"


@pytest.mark.parametrize(("literal", "path"), sorted(HOMONYMS))
def test_homonyms_still_exist(literal: str, path: str) -> None:
    """An exemption whose literal is gone is dead: remove it from HOMONYMS."""
    file = ROOT / path
    found = _python_literals(file) if file.suffix == ".py" else _ts_literals(file)
    assert literal in found
