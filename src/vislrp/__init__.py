"""vislrp: design, run and compare Layer-wise Relevance Propagation models for image CNNs.

The notebook API (:mod:`vislrp.api`, imported on first use so the CLI starts fast)::

    import vislrp
    e = vislrp.explain(model, x, composite="epsilon-gamma-box")
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["Result", "__version__", "composites", "explain", "to_zennit"]


def __getattr__(name: str) -> Any:
    if name in ("Result", "composites", "explain", "to_zennit"):
        from vislrp import api

        return getattr(api, name)
    raise AttributeError(f"module 'vislrp' has no attribute {name!r}")
