#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: the virtual environment at .venv with vislrp and its test
# dependencies (the pip build also builds the web front end), and Debian's chromium for browser tests.
# Re-running is cheap: the install (which also rebuilds the front end) is skipped while pyproject.toml,
# setup.py, constraints.txt and the web sources are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[ "${1:-}" = "--test" ] && want_browser=1

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.vislrp-installed
digest=$( (cat pyproject.toml setup.py constraints.txt; find web -path web/node_modules -prune -o -type f \
    ! -name schema.d.ts -print 2>/dev/null | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    # pyproject.toml holds ranges; constraints.txt the exact versions (torch 2.14.1 / torchvision 0.29.1 and
    # everything else), so every machine resolves the same set. zennit comes with the test extra in the same
    # resolve, so it cannot swap the torch build.
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
    # LXT, the transformer reference of the tests, without its heavy requirements (see pyproject's test extra)
    .venv/bin/python -m pip install -q --no-deps -c constraints.txt lxt
    echo "$digest" > "$stamp"
fi

if [ "$want_browser" = 1 ] && ! [ -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
fi
