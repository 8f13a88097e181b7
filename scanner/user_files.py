"""Reading a file the user gave orgscan (a baseline, a suppression file, a framework file, a Prowler mute list).

One bounded read with one set of messages: the file is read up to a limit (a
file far beyond any real one is refused before it exhausts memory), and a file
that is missing, a directory, unreadable or too large is one line naming it.
"""
from __future__ import annotations

from pathlib import Path

from scanner.errors import UsageError


def read_bounded(path: str | Path, max_bytes: int, name: str, error: type[UsageError] = UsageError) -> bytes:
    """The bytes of the file at ``path``; ``error`` (one line starting with ``name``) when it cannot be read or is too large."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise error(f"{name}: no such file") from None
    except IsADirectoryError:
        raise error(f"{name}: is a directory, not a file") from None
    except OSError as failure:
        raise error(f"{name}: cannot read: {failure.strerror or failure}") from None
    if len(data) > max_bytes:
        raise error(f"{name}: larger than {max_bytes} bytes")
    return data
