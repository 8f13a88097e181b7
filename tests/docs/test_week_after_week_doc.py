"""docs/week-after-week.md: every orgscan command on the page parses, and its suppression example is a valid file."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from scanner.suppressions import load_suppressions
from tests.orgscan_commands import parse_orgscan

DOC = Path(__file__).resolve().parents[2] / "docs" / "week-after-week.md"
#: The day the page's example dates were written against: the check must not depend on today's date.
WRITTEN_ON = date(2026, 11, 30)


def blocks(language: str) -> list[str]:
    return re.findall(r"^```" + language + r"\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_every_orgscan_command_on_the_page_parses():
    commands = [line.strip() for block in blocks("sh") for line in block.splitlines() if line.strip().startswith("orgscan ")]
    # Inline code that is a whole command (a mere name such as `orgscan upload github` is not run).
    inline = [c for c in re.findall(r"`(orgscan [^`]+)`", DOC.read_text(encoding="utf-8")) if len(c.split()) > 3]
    runnable = commands + inline
    assert len(runnable) >= 5
    for command in runnable:
        parse_orgscan(command)


def test_the_suppression_example_is_a_valid_suppression_file(tmp_path):
    (example,) = [block for block in blocks("toml") if "[[suppression]]" in block]
    path = tmp_path / "accepted-risks.toml"
    path.write_text(example, encoding="utf-8")
    loaded = load_suppressions(path, today=WRITTEN_ON)
    assert len(loaded.entries) == 1
