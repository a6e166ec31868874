#!/usr/bin/env bash
# Wheel check (issue 15, "installable by users"): a wheel built from the repository carries the built front
# end, installs into a clean venv with no npm or node on PATH, and `vislrp serve` from that venv serves the
# designer.
#
#   1. copy the repository's files (tracked and untracked-but-not-ignored: no node_modules, no built
#      static/, no .venv) to a temporary directory, so the shared checkout is never touched;
#   2. `pip wheel --no-deps` there: setup.py's build_py runs `npm ci && npm run build` into
#      src/vislrp/server/static; the wheel must hold vislrp/server/static/index.html and the assets it names,
#      and the digits networks' weights (vislrp/zoo/weights/);
#   3. a new venv, the wheel installed with `-c constraints.txt` and PATH = that venv's bin/ only
#      (`command -v npm` / `node` must fail there);
#   4. `vislrp serve` from that venv on a free port on 127.0.0.1 with a temporary data directory and HOME:
#      `/` must be the designer's index.html with its built script, that script must load, and `/api/info`
#      must answer 200;
#   5. stop the server and remove everything (a trap; the venv is ~5.5 GB with torch's CUDA libraries).
#
# Usage: bash scripts/check_wheel.sh  (or make wheel-check). PYTHON picks the interpreter for the new venv
# (default python3, >= 3.11); VISLRP_WHEEL_KEEP=1 keeps the temporary directory for a look afterwards.
# Takes about 6 minutes on a busy 2-core machine: the wheel's npm build ~1.5, installing torch (5.7 GB with its
# CUDA libraries, from the local wheel cache) 2.5-5, the server's start and removing the venv ~1 each.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
t0=$(date +%s)
step_t=$t0

note() { printf '[wheel-check %4ss] %s\n' "$(($(date +%s) - t0))" "$*"; }
lap() { local now; now=$(date +%s); note "$1 ($((now - step_t)) s)"; step_t=$now; }
fail() { note "FAILED: $*" >&2; exit 1; }

py=${PYTHON:-python3}
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || fail "$py is older than Python 3.11"
[ -f constraints.txt ] || fail "constraints.txt is missing"
# The build may use any pip; the venv's, where there is one, has the same configuration as setup's.
build_py=$py
[ -x .venv/bin/python ] && build_py=.venv/bin/python

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vislrp-wheel-check.XXXXXX")
server_pid=""
cleanup() {
    local rc=$?
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    if [ "${VISLRP_WHEEL_KEEP:-0}" = 1 ]; then
        note "kept $tmp"
    else
        local t=$(date +%s)
        rm -rf "$tmp"
        note "removed the temporary directory ($(($(date +%s) - t)) s)"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
show_log() { [ -f "$1" ] && { echo "---- last lines of $1"; tail -n "${2:-40}" "$1"; echo "----"; } >&2 || true; }

# ------------------------------------------------------------------------------------------------ 1. copy
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || fail "not a git checkout: the sources are listed with git"
mkdir -p "$tmp/src" "$tmp/dist" "$tmp/run" "$tmp/home" "$tmp/data"
git ls-files -z -c -o --exclude-standard \
    | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$tmp/src"
[ ! -e "$tmp/src/src/vislrp/server/static/index.html" ] || fail "the copy already holds a built front end"
lap "copied the sources ($(du -sh "$tmp/src" | cut -f1))"

# ------------------------------------------------------------------------------------------------ 2. wheel
if ! "$build_py" -m pip wheel --no-deps -v -w "$tmp/dist" "$tmp/src" >"$tmp/build.log" 2>&1; then
    show_log "$tmp/build.log" 60
    fail "pip wheel"
fi
wheel=$(ls "$tmp"/dist/vislrp-*.whl)
lap "built $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"
"$py" - "$wheel" <<'EOF' || fail "the wheel does not hold the built front end"
import re, sys, zipfile

names = set(zipfile.ZipFile(sys.argv[1]).namelist())
index = "vislrp/server/static/index.html"
if index not in names:
    sys.exit(f"{index} is not in the wheel")
html = zipfile.ZipFile(sys.argv[1]).read(index).decode()
# Vite writes src="./assets/index-HASH.js" (relative base) or "/assets/...".
scripts = [re.sub(r"^\.?/", "", s) for s in re.findall(r'<script[^>]*\bsrc="([^"]+\.js)"', html)]
if not scripts:
    sys.exit("index.html has no built <script src=...js> (is it the unbuilt web/index.html?)")
missing = [s for s in scripts if f"vislrp/server/static/{s}" not in names]
if missing:
    sys.exit(f"index.html names scripts the wheel lacks: {missing}")
weights = [f"vislrp/zoo/weights/{n}" for n in ("digits_cnn.pt", "digits_vit.pt", "digits.json")]
if any(w not in names for w in weights):
    sys.exit(f"the wheel lacks the digits networks' weights: {[w for w in weights if w not in names]}")
print(f"  wheel: {index} with {', '.join(scripts)}; {sum(n.startswith('vislrp/server/static/') for n in names)} "
      "static files")
EOF

# ------------------------------------------------------------------------------------------------ 3. venv
"$py" -m venv "$tmp/venv"
bare_path="$tmp/venv/bin"
for tool in npm node npx; do
    if env PATH="$bare_path" /bin/sh -c "command -v $tool" >/dev/null 2>&1; then
        fail "$tool is on the install PATH ($bare_path)"
    fi
done
lap "created a clean venv; no npm, node or npx on PATH=$bare_path"
if ! env PATH="$bare_path" "$tmp/venv/bin/python" -m pip install --no-compile -c "$root/constraints.txt" "$wheel" \
        >"$tmp/install.log" 2>&1; then
    show_log "$tmp/install.log" 60
    fail "pip install of the wheel into a clean venv"
fi
lap "installed the wheel into a clean venv ($(du -sh "$tmp/venv" | cut -f1))"
(cd "$tmp/run" && env PATH="$bare_path" "$tmp/venv/bin/python" - "$tmp/venv" <<'EOF') || fail "the clean venv"
import importlib.metadata as md, pathlib, sys

import vislrp

venv = pathlib.Path(sys.argv[1]).resolve()
where = pathlib.Path(vislrp.__file__).resolve()
if venv not in where.parents:
    sys.exit(f"vislrp is imported from {where}, not from the clean venv")
if not (where.parent / "server" / "static" / "index.html").is_file():
    sys.exit("the installed package has no server/static/index.html")
from vislrp.zoo import load_model

digits = load_model("digits_cnn")  # the committed weights, read from the installed package
if len(digits.labels) != 10:
    sys.exit("digits_cnn from the installed package does not have 10 classes")
print(f"  clean venv: vislrp from {where.parent}; torch {md.version('torch')}, "
      f"torchvision {md.version('torchvision')}")
EOF

# ------------------------------------------------------------------------------------------------ 4. serve
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$tmp/run" && exec env PATH="$bare_path" HOME="$tmp/home" VISLRP_DATA="$tmp/data" \
    "$tmp/venv/bin/vislrp" serve --host 127.0.0.1 --port "$port" --data "$tmp/data") >"$tmp/serve.log" 2>&1 &
server_pid=$!
if ! (cd "$tmp/run" && env PATH="$bare_path" "$tmp/venv/bin/python" - "$port" "$server_pid" <<'EOF'); then
import json, os, re, sys, time, urllib.error, urllib.request

port, pid = int(sys.argv[1]), int(sys.argv[2])
base = f"http://127.0.0.1:{port}"


def get(path, timeout=30.0):
    with urllib.request.urlopen(base + path, timeout=timeout) as r:
        return r.status, r.headers.get("content-type", ""), r.read()


start, deadline = time.monotonic(), time.monotonic() + 300
while True:
    try:
        status, ctype, body = get("/api/info", timeout=5)
        break
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit("vislrp serve exited before it answered")
        if time.monotonic() > deadline:
            sys.exit("vislrp serve did not answer /api/info within 300 s")
        time.sleep(0.5)
info = json.loads(body)
if status != 200:
    sys.exit(f"/api/info answered {status}")
print(f"  /api/info: 200 after {time.monotonic() - start:.1f} s ({info.get('network')}, {info.get('n_layers')} layers)")

status, ctype, body = get("/")
html = body.decode()
if status != 200 or "text/html" not in ctype:
    sys.exit(f"/ answered {status} {ctype}")
if "front end is not built" in html:
    sys.exit("/ is the 'front end is not built' page")
if 'id="model-manager"' not in html:
    sys.exit("/ is not the designer's page (no #model-manager)")
scripts = ["/" + re.sub(r"^\.?/", "", s) for s in re.findall(r'<script[^>]*\bsrc="([^"]+\.js)"', html)]
if not scripts:
    sys.exit("/ has no built <script src=...js>")
for src in scripts:
    status, ctype, body = get(src)
    if status != 200 or "javascript" not in ctype or len(body) < 1000:
        sys.exit(f"{src} answered {status} {ctype} with {len(body)} bytes")
print(f"  /: the designer's index.html ({len(html)} bytes), {', '.join(scripts)} loads ({len(body)} bytes)")
EOF
    show_log "$tmp/serve.log" 40
    fail "vislrp serve from the clean venv"
fi
lap "vislrp serve from the clean venv answered / and /api/info"
kill -TERM "$server_pid"
for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$server_pid" 2>/dev/null && fail "vislrp serve did not stop within 10 s of SIGTERM"
wait "$server_pid" 2>/dev/null || true
server_pid=""
note "wheel check passed in $(($(date +%s) - t0)) s"
