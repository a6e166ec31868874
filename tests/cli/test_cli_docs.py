"""The docs and the CLI agree (issue 18.17): every ``vislrp …`` example in README.md and docs/*.md parses as
written (with and without its ``[optional]`` parts), the cheap ones run, the exported zennit code runs as
printed, and every option of every command has help text."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from vislrp.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
CHEAP = {"models", "presets", "composites", "layers", "export"}
"""Commands that need no photo, no network download and finish in seconds: the tests run their examples."""
PLACEHOLDERS = {"N": "2", "S": "0", "P": "8", "W": "2", "C": "1", "F": "zero", "σ": "0.01", "IMAGE...": "IMAGE"}
"""Metavariables of the examples, as values the options' types take."""


def doc_commands() -> list[tuple[str, str]]:
    """Every ``vislrp …`` command in the docs' code blocks: (where, the command with its continuation lines,
    ``\\``-ended or indented; comments dropped)."""
    found = []
    for path in DOCS:
        for block in re.findall(r"```[a-z]*\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
            commands: list[list[str]] = []
            joined = False  # the line above ended in a backslash
            for line in block.split("\n"):
                text = re.sub(r"(^|\s)#\s.*$", "", line).rstrip()
                follows = joined or (line[:1].isspace() and not text.lstrip().startswith("vislrp ")
                                     and bool(commands) and not commands[-1][0].startswith("$ "))
                joined = text.endswith("\\")
                text = text.removesuffix("\\").rstrip()
                if follows:  # a continuation of the command above (a transcript's output is not)
                    commands[-1].append(text.strip())
                    continue
                # two commands side by side on one line (docs/start-rules.md)
                commands += [[part] for part in re.split(r"\s{2,}(?=vislrp )", text.strip())
                             if part.removeprefix("$ ").startswith("vislrp ")]
            for parts in commands:
                command = " ".join(p for p in parts if p).removeprefix("$ ")
                found.append((f"{path.relative_to(ROOT)}:{command[:50]}", command))
    return found


def variants(command: str) -> list[list[str]]:
    """The command's arguments without its ``[...]`` parts and with all of them (the first of ``a | b``
    alternatives, the first of ``x|y`` values), placeholders filled in."""
    def optional(match: re.Match[str]) -> str:
        return match.group(1).split(" | ")[0]

    out = []
    for text in (re.sub(r"\[[^\[\]]*\]", " ", command), re.sub(r"\[([^\[\]]*)\]", optional, command)):
        tokens = [PLACEHOLDERS.get(t, t.split("|")[0]) for t in shlex.split(text)[1:]]
        if tokens not in out:
            out.append(tokens)
    return out


COMMANDS = doc_commands()


def test_the_docs_have_examples() -> None:
    commands = {cmd.split()[1] for _, cmd in COMMANDS}
    assert {"models", "explain", "export", "sweep", "batch", "recommend", "bench", "serve"} <= commands


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_every_docs_example_parses(where: str, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Options that exclude each other, unknown flags, missing values: argparse refuses them (exit 2)."""
    parser = build_parser()
    for tokens in variants(command):
        if tokens[1:2] == ["..."]:  # an elided example ("vislrp sweep ... --start clrp")
            continue
        try:
            parser.parse_args(tokens)
        except SystemExit as exc:
            pytest.fail(f"{where}: `vislrp {shlex.join(tokens)}` exits {exc.code}: {capsys.readouterr().err}")


@pytest.mark.parametrize(("where", "command"), [(w, c) for w, c in COMMANDS if c.split()[1] in CHEAP],
                         ids=[w for w, c in COMMANDS if c.split()[1] in CHEAP])
def test_cheap_docs_examples_run(where: str, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    for tokens in variants(command):
        code = main(tokens)
        out = capsys.readouterr()
        assert code == 0, f"{where}: `vislrp {shlex.join(tokens)}` exits {code}: {out.err}"
        if tokens[0] == "export":  # the printed code runs as printed, in a fresh namespace
            namespace: dict = {}
            exec(compile(out.out, "<export>", "exec"), namespace)
            assert type(namespace["composite"]).__name__ == "MixedComposite"


def test_every_option_has_help_text() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {'/'.join(action.option_strings) or action.dest}"
               for name, command in sub.choices.items() for action in command._actions
               if not isinstance(action, argparse._HelpAction) and not (action.help or "").strip()]
    assert not missing, f"options without help text: {', '.join(missing)}"


def test_models_marks_the_default_once(capsys: pytest.CaptureFixture[str]) -> None:
    from vislrp.zoo import DEFAULT_MODEL

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "default" in line]
    assert len(lines) == 1 and lines[0].startswith(DEFAULT_MODEL) and lines[0].count("default") == 1, out
