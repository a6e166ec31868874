"""Decoding uploads within the memory budget: each decode's memory is known before it starts and is counted.

A compressed image can be tiny and still decode huge: a 273 KB PNG of 6000×6000 16-bit RGBA zeros took 671 MB
to decode and turn into RGB, and eight concurrent uploads of it 4.8 GB, whatever ``--memory-budget`` said. Pillow
opens a file lazily, so its size, mode and format are known before a pixel is decoded; from them
:meth:`~vislrp.zoo.images.ImageHeader.decode_bytes` gives the memory the decode and the conversions to RGB take.

- **A share of the budget.** Decodes in flight together hold at most :attr:`MemoryBudget.decode_bytes
  <vislrp.server.memory.MemoryBudget.decode_bytes>` (a quarter of the budget; the caches share the rest).
- **Downscale what does not fit, refuse what still does not.** An image whose full decode does not fit that share is
  decoded shrunk by the smallest integer factor that fits (a JPEG by its decoder's own 1/2, 1/4, 1/8), as long as
  its shorter side keeps :data:`MIN_SIDE` pixels (the networks see 224-256); otherwise it is refused with 413.
- **Bounded concurrency.** At most :data:`MAX_DECODES` decodes run at once, and only while their estimates fit
  the share together; the others wait for their turn, up to :data:`DECODE_WAIT_S`, then get 503 (try again).

A reservation lasts until the decoded image has become the network's input (the full-size RGB image is dropped).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from vislrp.server.errors import DecodeBusy
from vislrp.server.upload import clean_name
from vislrp.zoo import ImageHeader, ImageTooLarge, load_image, read_header

if TYPE_CHECKING:
    from vislrp.server.service import DesignerService, ImageEntry

MAX_DECODES = 2
"""Decodes that run at once (each is CPU-bound; more would only share the cores)."""
DECODE_WAIT_S = 30.0
"""How long an upload waits for memory or a slot to decode in before it is answered 503."""
MIN_SIDE = 512
"""The shorter side an upload shrunk to fit the budget keeps, at least: twice what the networks take."""
MB = 1 << 20


class DecodeGate:
    """Admits decodes while their estimated memory fits ``capacity`` bytes together, at most ``slots`` at once."""

    def __init__(self, capacity: int, slots: int = MAX_DECODES, wait_s: float = DECODE_WAIT_S) -> None:
        self.capacity = int(capacity)
        self.slots = int(slots)
        self.wait_s = float(wait_s)
        self._cond = threading.Condition()
        self._reserved = 0
        self._running = 0
        self.peak_reserved = 0
        """The most bytes reserved at once so far (for tests and diagnostics)."""

    @property
    def reserved(self) -> int:
        """Bytes the decodes in flight have reserved."""
        return self._reserved

    def plan(self, header: ImageHeader, name: str = "the image") -> int:
        """The scale to decode ``header``'s image at (1: full size), or ImageTooLarge when even the smallest
        allowed one does not fit the decode share."""
        if header.decode_bytes(1) <= self.capacity:
            return 1
        largest = min(header.width, header.height) // MIN_SIDE
        for scale in range(2, largest + 1):
            if header.decode_bytes(scale) <= self.capacity:
                return scale
        smallest = header.decode_bytes(max(1, largest))
        shrunk = f" even shrunk to {MIN_SIDE} px" if largest > 1 else ""
        raise ImageTooLarge(
            f"{name} is {header.width}x{header.height} ({header.mode}); decoding it would take "
            f"{smallest / MB:,.0f} MB{shrunk}, over the {self.capacity / MB:,.0f} MB the server's memory budget "
            f"allows for decoding (a quarter of --memory-budget)"
        )

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold ``nbytes`` of the share and a slot while the block runs; wait for them up to ``wait_s`` (DecodeBusy)."""
        nbytes = min(int(nbytes), self.capacity)
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            while self._running >= self.slots or self._reserved + nbytes > self.capacity:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DecodeBusy(
                        f"the server is busy decoding other images ({self._reserved / MB:,.0f} of "
                        f"{self.capacity / MB:,.0f} MB in use); try again in a moment"
                    )
                self._cond.wait(left)
            self._running += 1
            self._reserved += nbytes
            self.peak_reserved = max(self.peak_reserved, self._reserved)
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._reserved -= nbytes
                self._cond.notify_all()

    def add_upload(self, service: DesignerService, data: bytes, filename: str) -> ImageEntry:
        """``service.add_upload`` within the budget: the header is read, the decode planned and admitted, and the
        reservation held until the network's input is made (the full-size image is dropped then)."""
        name = clean_name(filename)
        header = read_header(data)
        scale = self.plan(header, name)
        with self.reserve(header.decode_bytes(scale)):
            return service.add_image(load_image(data, scale=scale), name)


__all__ = ["DECODE_WAIT_S", "MAX_DECODES", "MIN_SIDE", "DecodeGate"]
