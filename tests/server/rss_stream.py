"""Stream distinct images through the designer API and report RSS (run as a script by the memory tests,
and by hand for the 500-image figure: ``python tests/server/rss_stream.py 500 2G``).

Each image is uploaded and explained with the default LRP model; every third one also gets the neuron
table (which keeps a full explanation). Prints one JSON object: RSS at start and after each image, the
caches' own accounting at the end, and the budget.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from vislrp.server import Settings, create_app
from vislrp.server.memory import parse_size
from vislrp.zoo import load_model


def resident_bytes() -> int:
    """Resident set size of this process (Linux: /proc/self/statm counts pages)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main(n: int, budget: int) -> dict:
    app = create_app(Settings(data_dir=Path(tempfile.mkdtemp()), zoo_model=load_model("efficientnet_lite0"),
                              memory_budget=budget))
    client = TestClient(app, base_url="http://127.0.0.1")
    model = client.get("/api/info").json()["default_model"]
    start = resident_bytes()
    rng = np.random.default_rng(0)
    rss = []
    for i in range(n):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(buf, "PNG")
        up = client.post("/api/images", files={"file": (f"img{i}.png", buf.getvalue(), "image/png")})
        assert up.status_code == 200, up.text
        body = {"image_id": up.json()["image_id"], "class_index": 1, "model": model}
        assert client.post("/api/explain", json=body).status_code == 200
        if i % 3 == 0:
            assert client.post("/api/neurons", json=body | {"layer_index": 4}).status_code == 200
        rss.append(resident_bytes())
    usage = app.state.memory_budget.usage(app.state.networks.loaded())
    return {"budget": budget, "start": start, "rss": rss, "caches": usage.total}


if __name__ == "__main__":
    out = main(int(sys.argv[1]), parse_size(sys.argv[2]))
    print(json.dumps(out))
