#!/usr/bin/env bash
# Writes constraints.txt: the exact version of every package installed in .venv (vislrp itself, an editable
# install, left out). Run it after a deliberate upgrade of .venv (pip install -U ... without the old
# constraint for the upgraded packages), check the diff and commit it: setup.sh, CI and the wheel check
# install with `-c constraints.txt`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=constraints.txt
{
    echo "# Exact versions of every package in the development venv (.venv), as resolved on our machines:"
    echo "# scripts/setup.sh, CI and scripts/check_wheel.sh install with \`pip install -c constraints.txt\`."
    echo "# pyproject.toml holds the ranges users get; regenerate this file with scripts/freeze_constraints.sh."
    .venv/bin/python -m pip freeze --exclude-editable | grep -v '^#' | grep -v '^-e ' | grep -iv '^vislrp[=@ ]' || true
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(grep -vc '^#' "$out") packages)"
