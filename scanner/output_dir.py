"""The output directory, treated as a place someone else may have prepared: checked before anything is created.

orgscan writes ``results.json``, reports and its spool into ``--output-dir``.
Before a scan creates anything, :func:`check_output_dir` refuses (a
:class:`UsageError`, exit 2, one line) a path that is a file or below one,
lies under ``/proc``, ``/sys`` or ``/dev``, or is a directory not owned by the
user or writable by group or others (anyone who can write there could plant a
symbolic link or forge spool records). :func:`spool_key` is the secret that
authenticates the spool's records; it lives outside the output directory
(``$XDG_STATE_HOME/orgscan/spool.key``, by default
``~/.local/state/orgscan/spool.key``, mode 0600), so write access to the output
directory is not enough to forge a result.

:func:`remove_earlier_reports` and :func:`record_written` keep a list of the
files the last scan wrote (``.orgscan-reports``), so that a new scan removes
them before it starts: a scan that fails never leaves an earlier scan's
reports next to it looking current.
"""
from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path
from typing import Iterable

from scanner.errors import UsageError

#: File names (in the output directory) of the reports the last scan wrote.
REPORTS_MANIFEST = ".orgscan-reports"
#: Always written by a scan, whatever the manifest says.
DOCUMENT_NAME = "results.json"
SPOOL_KEY_FILE = "spool.key"
#: Pseudo-file systems: writing reports there fails late or does harm.
FORBIDDEN_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


def check_output_dir(path: Path | str, option: str = "--output-dir") -> None:
    """Nothing, or a UsageError naming why ``path`` cannot hold orgscan's output; creates nothing."""
    path = Path(path)
    resolved = Path(os.path.realpath(path))
    for root in FORBIDDEN_ROOTS:
        if resolved == root or root in resolved.parents:
            raise UsageError(f"{option} {path}: is under {root}, not a place for reports")
    try:
        status = os.stat(path)
    except FileNotFoundError:
        _check_creatable(path, option)
        return
    except NotADirectoryError:
        raise UsageError(f"{option} {path}: is below a file, not a directory") from None
    except OSError as error:
        raise UsageError(f"{option} {path}: cannot be used: {error.strerror or error}") from None
    if not stat.S_ISDIR(status.st_mode):
        raise UsageError(f"{option} {path}: is a file, not a directory")
    check_private(path, status, option)


def _check_creatable(path: Path, option: str) -> None:
    """The nearest existing ancestor of a missing ``path`` is a directory this user may create it in."""
    for ancestor in Path(os.path.abspath(path)).parents:
        try:
            status = os.stat(ancestor)
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            raise UsageError(f"{option} {path}: is below a file, not a directory") from None
        except OSError as error:
            raise UsageError(f"{option} {path}: cannot be created: {error.strerror or error}") from None
        if not stat.S_ISDIR(status.st_mode):
            raise UsageError(f"{option} {path}: is below a file ({ancestor}), not a directory")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise UsageError(f"{option} {path}: cannot be created: {ancestor} is not writable")
        return


def check_private(path: Path, status: os.stat_result, option: str) -> None:
    """A UsageError unless ``status`` (of ``path``) is owned by this user and writable by nobody else."""
    if status.st_uid != os.geteuid():
        raise UsageError(f"{option} {path}: is owned by another user (uid {status.st_uid}); use a directory of your own")
    if status.st_mode & 0o022:
        raise UsageError(
            f"{option} {path}: is writable by group or others (mode {stat.S_IMODE(status.st_mode):o}); "
            f"run `chmod go-w {path}` or use another directory"
        )


def make_private_dir(path: Path, option: str = "--output-dir") -> None:
    """Create ``path`` (and parents) owner-only if missing, then check it again: the checked directory is the used one."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise UsageError(f"{option} {path}: cannot be created: {error.strerror or error}") from None
    check_output_dir(path, option)


def check_private_subdir(path: Path, option: str) -> None:
    """A UsageError unless ``path`` is a real directory (not a symbolic link) owned by this user and private."""
    try:
        status = os.lstat(path)
    except OSError as error:
        raise UsageError(f"{option} {path}: cannot be used: {error.strerror or error}") from None
    if stat.S_ISLNK(status.st_mode):
        raise UsageError(f"{option} {path}: is a symbolic link; refusing to follow it")
    if not stat.S_ISDIR(status.st_mode):
        raise UsageError(f"{option} {path}: is not a directory")
    check_private(path, status, option)


# -- the spool key ------------------------------------------------------------------------------


def state_dir() -> Path:
    """Where orgscan keeps state outside any output directory: ``$XDG_STATE_HOME/orgscan`` or ``~/.local/state/orgscan``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "orgscan"


def spool_key(output_dir: Path, *, create: bool) -> bytes:
    """The secret authenticating spool records (created on first use with ``create``); UsageError when unusable."""
    directory = state_dir()
    key_path = directory / SPOOL_KEY_FILE
    where = "spool key"
    output = Path(os.path.realpath(output_dir))
    real_directory = Path(os.path.realpath(directory))
    if real_directory == output or output in real_directory.parents:
        raise UsageError(f"{where} {key_path}: must not be inside the output directory {output_dir} (set XDG_STATE_HOME)")
    if create:
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise UsageError(f"{where} {key_path}: cannot create {directory}: {error.strerror or error} (set XDG_STATE_HOME)") from None
    if not directory.is_dir():
        raise UsageError(f"{where} {key_path}: missing, so the spool cannot be verified; start a new scan instead of --resume")
    check_private_subdir(directory, where)
    key = _read_key(key_path)
    if key is None:
        if not create:
            raise UsageError(f"{where} {key_path}: missing, so the spool cannot be verified; start a new scan instead of --resume")
        key = _create_key(key_path)
    return key


def _read_key(key_path: Path) -> bytes | None:
    """The key in ``key_path``, ``None`` if there is none; UsageError if it is not a private file of this user."""
    try:
        fd = os.open(key_path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise UsageError(f"spool key {key_path}: cannot be read: {_reason(error)}") from None
    with os.fdopen(fd, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_uid != os.geteuid() or status.st_mode & 0o077:
            raise UsageError(f"spool key {key_path}: must be a regular file of yours with mode 0600")
        key = handle.read(1024)
    if len(key) < 32:
        raise UsageError(f"spool key {key_path}: too short; remove it and start a new scan")
    return key


def _create_key(key_path: Path) -> bytes:
    key = secrets.token_bytes(32)
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # another orgscan process created it a moment ago
        existing = _read_key(key_path)
        if existing is None:
            raise UsageError(f"spool key {key_path}: cannot be created") from None
        return existing
    except OSError as error:
        raise UsageError(f"spool key {key_path}: cannot be created: {_reason(error)} (set XDG_STATE_HOME)") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key


def _reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "is a symbolic link; refusing to follow it"
    return error.strerror or str(error)


# -- reports of an earlier scan -----------------------------------------------------------------


def remove_earlier_reports(output_dir: Path) -> list[str]:
    """Remove ``results.json`` and the reports the last scan listed in the manifest; the names removed.

    Only plain names directly in ``output_dir`` are removed, and a symbolic link
    is removed as a link (never followed).
    """
    output_dir = Path(output_dir)
    names = {DOCUMENT_NAME, *_manifest(output_dir)}
    removed = []
    for name in sorted(names):
        path = output_dir / name
        try:
            status = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISREG(status.st_mode) or stat.S_ISLNK(status.st_mode):
            os.unlink(path)
            removed.append(name)
    try:
        os.unlink(output_dir / REPORTS_MANIFEST)
    except FileNotFoundError:
        pass
    return removed


def record_written(output_dir: Path, written: Iterable[Path]) -> None:
    """Add the files just written directly in ``output_dir`` to its manifest (see :func:`remove_earlier_reports`)."""
    from scanner.reporting import write_private_file

    output_dir = Path(output_dir)
    names = set(_manifest(output_dir))
    for path in written:
        if Path(os.path.abspath(path)).parent == Path(os.path.abspath(output_dir)):
            names.add(Path(path).name)
    write_private_file(output_dir / REPORTS_MANIFEST, "".join(f"{name}\n" for name in sorted(names)).encode("utf-8"))


def _manifest(output_dir: Path) -> list[str]:
    """The plain file names listed in the manifest (anything else in it is ignored)."""
    try:
        fd = os.open(output_dir / REPORTS_MANIFEST, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return []
    with os.fdopen(fd, "rb") as handle:
        text = handle.read(1_000_000).decode("utf-8", "replace")
    return [
        name for name in (line.strip() for line in text.splitlines())
        if name and name not in (".", "..") and "/" not in name and "\\" not in name and "\x00" not in name
    ]
