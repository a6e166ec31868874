"""Build hook: ``pip install`` (regular or editable) also builds the browser front end.

The metadata lives in pyproject.toml; this file only adds a ``build_py`` step that runs ``npm ci`` (or
``npm install`` without a lockfile) and ``npm run build`` in ``web/``. Vite writes the bundle to
``src/vislrp/server/static/``, which ships as package data. Set ``VISLRP_SKIP_WEB_BUILD=1`` to skip it
(the server then shows a page saying the front end is not built).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
STATIC = ROOT / "src" / "vislrp" / "server" / "static"


def build_web() -> None:
    if os.environ.get("VISLRP_SKIP_WEB_BUILD") == "1":
        print("vislrp: VISLRP_SKIP_WEB_BUILD=1, not building the web front end", flush=True)
        return
    if not (WEB / "package.json").is_file():
        if (STATIC / "index.html").is_file():
            return  # an sdist or wheel build without the web sources, but with the bundle
        raise RuntimeError("vislrp: web/package.json is missing, cannot build the front end")
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "vislrp: npm is needed to build the designer's front end (Node >= 18). Install Node.js, "
            "or set VISLRP_SKIP_WEB_BUILD=1 to install without it."
        )
    install = ["ci"] if (WEB / "package-lock.json").is_file() else ["install"]
    print(f"vislrp: building the web front end (npm {install[0]} && npm run build)", flush=True)
    for args in ([*install, "--no-audit", "--no-fund"], ["run", "build"]):
        subprocess.run([npm, *args], cwd=WEB, check=True)
    if not (STATIC / "index.html").is_file():
        raise RuntimeError(f"vislrp: the web build did not produce {STATIC / 'index.html'}")


class BuildPyWithWeb(build_py):
    """build_py that builds the front end first (editable installs run build_py too, PEP 660)."""

    def run(self) -> None:
        build_web()
        super().run()


setup(cmdclass={"build_py": BuildPyWithWeb})
