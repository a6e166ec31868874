"""Write the designer's OpenAPI document (the typed contract) to a JSON file.

Run by ``npm run api``; ``web/openapi.json`` is the committed snapshot the front-end build generates its
TypeScript types from, and ``tests/server/test_openapi.py`` fails when it drifts from the server.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path


def openapi_document() -> dict[str, object]:
    from vislrp.server import Settings, create_app

    with tempfile.TemporaryDirectory() as tmp:
        return create_app(Settings(data_dir=Path(tmp), static_dir=Path(tmp) / "none")).openapi()


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "openapi.json")
    out.write_text(json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
