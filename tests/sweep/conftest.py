"""Sweep tests run on the small networks of tests/lrp (``lrp_nets``), importable here and in Ray workers."""

from __future__ import annotations

import sys
from pathlib import Path

LRP_TESTS = Path(__file__).resolve().parents[1] / "lrp"
if str(LRP_TESTS) not in sys.path:
    sys.path.insert(0, str(LRP_TESTS))
