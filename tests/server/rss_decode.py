"""Upload a decompression-heavy PNG from several clients at once and report the server's peak RSS (run as a script by
the memory tests: ``python tests/server/rss_decode.py 8 1G``).

The PNG is 6000×6000 16-bit RGBA, all zeros: 273 KB on disk, 36 Mpx (under the 40 Mpx limit), 144 MB once Pillow
has decoded it and several times that through the conversion to RGB. The server runs in this process (uvicorn on a
thread, the small digits network), and a thread samples RSS every 2 ms while the uploads run. Prints one JSON object:
RSS before the uploads, the peak, the statuses and the budget.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from rss_stream import resident_bytes

from vislrp.server import Settings
from vislrp.server.memory import parse_size
from vislrp.server.testing import ServerThread
from vislrp.zoo import load_model

SIDE = 6000


def zeros_png(side: int = SIDE) -> bytes:
    """A ``side``×``side`` 16-bit RGBA PNG of zeros, compressed row by row (never the whole image in memory)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    z = zlib.compressobj(9)
    row = bytes(1 + side * 8)  # filter byte 0, then 4 channels of 2 bytes
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    header = struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def main(clients: int, budget: int) -> dict:
    png = zeros_png()
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), zoo_model=load_model("digits_cnn"), memory_budget=budget)
    with ServerThread(settings) as server, httpx.Client(base_url=server.url, timeout=300) as client:
        small = io.BytesIO()
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(small, "PNG")
        assert client.post("/api/images", files={"file": ("warm.png", small.getvalue())}).status_code == 200
        start = resident_bytes()
        peak = [start]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], resident_bytes())
                time.sleep(0.002)

        statuses: list[int] = []

        def upload(i: int) -> None:
            with httpx.Client(base_url=server.url, timeout=300) as c:
                r = c.post("/api/images", files={"file": (f"zeros{i}.png", png, "image/png")})
                statuses.append(r.status_code)

        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.perf_counter()
        threads = [threading.Thread(target=upload, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        sampler.join()
        return {"budget": budget, "file_bytes": len(png), "start": start, "peak": peak[0],
                "statuses": sorted(statuses), "seconds": round(time.perf_counter() - t0, 2)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), parse_size(sys.argv[2]))))
