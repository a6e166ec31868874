"""What every feature's schemas share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

SEED_MAX = 2**63 - 1
"""Seeds are signed 64-bit integers (torch's generator and JavaScript clients both handle that)."""


class Out(BaseModel):
    """A response: closed (``extra="forbid"``), so the generated TypeScript types list every field and no other."""

    model_config = ConfigDict(extra="forbid")


__all__ = ["SEED_MAX", "Out"]
