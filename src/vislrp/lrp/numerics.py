"""The two numerical primitives of every LRP rule: the stabiliser and the guarded division.

stab(z) = z + ε·sign(z) with sign(0) = +1 (zennit's convention), so ε pushes a denominator away from
zero whatever its sign. A quotient that would not be finite (a denominator of exactly 0, or one so small
that the quotient overflows) passes no relevance instead of producing NaN or infinity.

Only those are dropped. A small but nonzero denominator is kept however small it is relative to the rest of
its row: with LRP-0 the quotient R_j / z_j is the gradient of the target at that neuron, finite and exact,
so dropping it would cut real gradient paths and break LRP-0 = gradient × input (an earlier relative floor
of 1e-7 × the row's largest denominator did: 1e-2 relative L∞ on a random VGG16 in float32). Relevance
that grows large where contributions cancel is the rule's property; the engine rescales rows that pass
``RESCALE_LIMIT`` and the warnings say where.
"""

from __future__ import annotations

import torch

RESCALE_LIMIT = 1e18
"""Relevance rows whose magnitude passes this are rescaled (by a power of two) to stay finite."""


def stabilize(z: torch.Tensor, epsilon: float) -> torch.Tensor:
    """z + ε·sign(z) with sign(0) = +1 (copysign is one fused op; layer outputs are never negative zero)."""
    if epsilon == 0:
        return z
    return z + torch.copysign(torch.tensor(epsilon, dtype=z.dtype, device=z.device), z)


def safe_divide(num: torch.Tensor, den: torch.Tensor, epsilon: float) -> torch.Tensor:
    """num / stab(den), 0 where that quotient is not finite (only possible with ε = 0: stab(z) ≠ 0 otherwise).

    With ε = 0 the quotient is computed as it is and only NaN/±inf entries (z = 0, or an overflow) become 0.
    """
    if epsilon == 0:  # in place on the fresh quotient: one pass (isfinite + where took ~40× a division here)
        out = num / den
        return torch.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0, out=out)
    # stab(den) in a fresh buffer, then the quotient written into that same buffer: one allocation, not three
    buf = torch.copysign(torch.tensor(epsilon, dtype=den.dtype, device=den.device), den).add_(den)
    if buf.shape == num.shape and buf.dtype == num.dtype:
        return torch.div(num, buf, out=buf)
    return num / buf
