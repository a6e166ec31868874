"""House rules the linters do not check: every ``type: ignore`` names its error code and says why."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "vislrp"
REASONED = re.compile(r"type: ignore\[[-a-z, ]+\]  # \S")


def test_every_type_ignore_has_a_code_and_a_reason() -> None:
    bare = [f"{path.relative_to(SRC.parent)}:{n}: {line.strip()}"
            for path in sorted(SRC.rglob("*.py"))
            for n, line in enumerate(path.read_text().splitlines(), start=1)
            if "type: ignore" in line and not REASONED.search(line)]
    assert not bare, "a type: ignore needs [code]  # reason:\n" + "\n".join(bare)
