"""Report formats: functions from the canonical result document to files."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

ReportWriter = Callable[[Mapping[str, Any], Path], Sequence[Path]]


@dataclass(frozen=True)
class ReportFormat:
    """A ``--format`` name and the writer that renders the document into ``output_dir``."""

    name: str
    description: str
    write: ReportWriter


def write_private_file(path: Path, data: bytes) -> Path:
    """Write ``data`` atomically (temporary file, fsync, rename) with owner-only permissions.

    Reports describe security weaknesses, so nobody but the owner reads them.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return path
