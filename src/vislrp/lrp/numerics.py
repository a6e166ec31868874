"""The two numerical primitives of every LRP rule: the stabiliser and the guarded division.

stab(z) = z + ε·sign(z) with sign(0) = +1 (zennit's convention), so ε pushes a denominator away from
zero whatever its sign. A quotient whose stabilised denominator carries no information passes no
relevance instead of producing NaN or infinity: exactly 0, or (only possible with ε = 0) smaller than
``RELATIVE_FLOOR`` times the largest denominator of the same row, below float32's resolution of the sums
that produced it.
"""

from __future__ import annotations

import torch

RELATIVE_FLOOR = 1e-7
"""With ε = 0, denominators under this fraction of the row's largest |denominator| count as zero."""

RESCALE_LIMIT = 1e18
"""Relevance rows whose magnitude passes this are rescaled (by a power of two) to stay finite."""


def stabilize(z: torch.Tensor, epsilon: float) -> torch.Tensor:
    """z + ε·sign(z) with sign(0) = +1 (copysign is one fused op; layer outputs are never negative zero)."""
    if epsilon == 0:
        return z
    return z + torch.copysign(torch.tensor(epsilon, dtype=z.dtype, device=z.device), z)


def safe_divide(num: torch.Tensor, den: torch.Tensor, epsilon: float) -> torch.Tensor:
    """num / stab(den), 0 where the stabilised denominator is 0 (or, with ε = 0, numerically 0)."""
    if epsilon == 0:
        mag = den.abs()
        if den.dim() > 1:
            floor = mag.flatten(1).amax(1).view(-1, *([1] * (den.dim() - 1))) * RELATIVE_FLOOR
        else:
            floor = mag.amax() * RELATIVE_FLOOR
        out = num / den
        return torch.where((mag <= floor) | (mag == 0), torch.zeros((), dtype=out.dtype, device=out.device), out)
    # stab(den) in a fresh buffer, then the quotient written into that same buffer: one allocation, not three
    buf = torch.copysign(torch.tensor(epsilon, dtype=den.dtype, device=den.device), den).add_(den)
    if buf.shape == num.shape and buf.dtype == num.dtype:
        return torch.div(num, buf, out=buf)
    return num / buf
