"""The one argparse class of every ``orgscan`` command: a usage error is one line, exit 2, through ``orgscan``'s handler."""
from __future__ import annotations

import argparse

from scanner.errors import UsageError

PROGRAM = "orgscan"


class UsageErrorParser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing its usage and exiting.

    ``orgscan``'s handler prints ``orgscan: error: <message>``, so the message names only the
    subcommand (``scan: unrecognized arguments: --bogus``), never the program a second time.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog.removeprefix(PROGRAM).strip()
        raise UsageError(f"{command}: {message}" if command else message)
