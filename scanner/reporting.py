"""Report formats: functions from the canonical result document to files."""
from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Mapping, Sequence

ReportWriter = Callable[[Mapping[str, Any], Path], Sequence[Path]]


@dataclass(frozen=True)
class ReportFormat:
    """A ``--format`` name and the writer that renders the document into ``output_dir``."""

    name: str
    description: str
    write: ReportWriter


@contextlib.contextmanager
def private_file(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose content replaces ``path`` atomically, owner-only, when the block ends without error.

    Reports describe security weaknesses, so nobody but the owner reads them;
    a reader never sees half a file, and a failure leaves no temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def write_private_file(path: Path, data: bytes) -> Path:
    """Write ``data`` atomically (temporary file, fsync, rename) with owner-only permissions."""
    with private_file(path) as handle:
        handle.write(data)
    return Path(path)
