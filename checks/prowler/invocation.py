"""One Prowler CLI run for one account: the command line, the environment, the process and its output.

Credentials travel only in the child's environment: a command line is
readable by every user of the machine (``ps``, ``/proc/PID/cmdline``) and
ends up in logs, an environment is not.
"""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote, quote_plus

from checks.prowler.settings import ProwlerSettings

#: Prowler's exit status when the scan worked and at least one check FAILed.
EXIT_FINDINGS = 3
EXIT_OK = 0

OUTPUT_FILENAME = "findings"
#: Prowler appends this to ``--output-filename`` for ``--output-formats json-ocsf``.
OCSF_SUFFIX = ".ocsf.json"

STDERR_TAIL_LINES = 20
STDERR_TAIL_CHARS = 2000
#: Distinct logged errors kept for an ERROR result; the count covers them all.
LOGGED_ERRORS_KEPT = 10
LOGGED_ERROR_CHARS = 300
#: Stderr read for logged errors; Prowler at --log-level ERROR writes little.
LOGGED_ERRORS_READ_BYTES = 4 * 1024 * 1024
#: One line of Prowler's log format (prowler/lib/logger.py):
#: "2026-11-28 21:36:50,205 [File: kms_service.py:64] \t[Module: kms_service]\t ERROR: us-east-1 -- KeyError..."
_LOG_LINE = re.compile(
    r"^\S.*? \[File: [^\]]*\]\s+\[Module: (?P<module>[^\]]*)\]\s+"
    r"(?P<level>ERROR|CRITICAL): (?P<message>.*)$"
)
#: Seconds a stopped Prowler gets to exit on SIGTERM before SIGKILL.
TERMINATE_GRACE_SECONDS = 10.0

#: Variables that choose or carry credentials. orgscan's own are removed, so that
#: Prowler can only use the account's assumed-role credentials and orgscan's
#: (often the management account's) never reach a process scanning a member.
CREDENTIAL_VARIABLES = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    }
)

#: Credential variables a check's context must hand over.
REQUIRED_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


class ProwlerRunError(Exception):
    """Prowler failed, timed out or wrote unreadable output; the message is fit for an ERROR result."""

    def __init__(self, message: str, exit_status: int | None = None, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.exit_status = exit_status
        self.stderr_tail = stderr_tail


@dataclass(frozen=True)
class ProwlerRun:
    """A finished run: its exit status, the OCSF records it wrote (an empty list when it found nothing)
    and the errors Prowler logged while it went on (a check whose service call failed writes no finding)."""

    exit_status: int
    records: list[Any] = field(default_factory=list)
    stderr_tail: str = ""
    logged_errors: tuple[str, ...] = ()
    logged_error_count: int = 0


def prowler_command(settings: ProwlerSettings, output_directory: str, regions: Sequence[str] = ()) -> list[str]:
    """The argv of one Prowler run; it never holds a credential."""
    command = [
        settings.executable,
        "aws",
        "--output-formats",
        "json-ocsf",
        "--output-directory",
        output_directory,
        "--output-filename",
        OUTPUT_FILENAME,
        "--no-banner",
        "--no-color",
        "--log-level",
        "ERROR",
    ]
    if settings.checks:
        command += ["--checks", *settings.checks]
    if settings.services:
        command += ["--services", *settings.services]
    if settings.compliance:
        command += ["--compliance", *settings.compliance]
    if regions:
        command += ["--region", *regions]
    return command


def prowler_environment(
    inherited: Mapping[str, str], credentials: Mapping[str, str], api_region: str
) -> dict[str, str]:
    """The child's environment: the parent's, minus its credentials, plus the account's.

    SDK settings such as ``AWS_ENDPOINT_URL``, ``AWS_CA_BUNDLE`` and
    ``AWS_CONFIG_FILE`` are inherited, so Prowler reaches AWS the way orgscan does.
    """
    missing = [name for name in REQUIRED_CREDENTIALS if not credentials.get(name)]
    if missing:
        raise ProwlerRunError(f"no credentials to hand to Prowler: {', '.join(missing)} missing")
    environment = {name: value for name, value in inherited.items() if name not in CREDENTIAL_VARIABLES}
    environment.update({name: value for name, value in credentials.items() if value})
    # Prowler's first calls (STS, global services) go to the default region; the
    # scan's API region keeps them in the account's partition.
    if api_region:
        environment["AWS_DEFAULT_REGION"] = api_region
        environment["AWS_REGION"] = api_region
    return environment


def run_prowler(settings: ProwlerSettings, environment: Mapping[str, str], regions: Sequence[str] = ()) -> ProwlerRun:
    """Run Prowler once and read its JSON-OCSF findings.

    Exit status 0 (all passed) and 3 (some checks failed) are success. Anything
    else, a timeout, or output that is not JSON raise :class:`ProwlerRunError`
    carrying the exit status and the tail of Prowler's stderr, with every
    credential value masked.
    """
    secrets = [value for name, value in environment.items() if name in CREDENTIAL_VARIABLES and len(value) >= 4]
    with tempfile.TemporaryDirectory(prefix="orgscan-prowler-") as workdir:
        output_directory = os.path.join(workdir, "output")
        stderr_path = Path(workdir, "stderr.log")
        command = prowler_command(settings, output_directory, regions)
        with open(stderr_path, "wb") as stderr_file:
            try:
                process = subprocess.Popen(
                    command,
                    env=dict(environment),
                    cwd=workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr_file,
                    # Its own process group, so a timeout stops Prowler and anything it started.
                    start_new_session=True,
                )
            except OSError as error:
                raise ProwlerRunError(f"could not start Prowler ({settings.executable}): {error.strerror}") from None
            try:
                exit_status = process.wait(timeout=settings.timeout_seconds)
            except subprocess.TimeoutExpired:
                _stop(process)
                tail = stderr_tail(stderr_path, secrets)
                raise ProwlerRunError(
                    f"Prowler did not finish within {settings.timeout_seconds:g} s and was stopped"
                    + (f"; stderr ends: {tail}" if tail else ""),
                    exit_status=None,
                    stderr_tail=tail,
                ) from None
            except BaseException:
                # The scan is being interrupted: do not leave Prowler running on its own.
                _stop(process)
                raise
        tail = stderr_tail(stderr_path, secrets)
        if exit_status not in (EXIT_OK, EXIT_FINDINGS):
            raise ProwlerRunError(
                _exit_description(exit_status) + (f"; stderr ends: {tail}" if tail else "; stderr was empty"),
                exit_status=exit_status,
                stderr_tail=tail,
            )
        records = _read_ocsf(Path(output_directory, OUTPUT_FILENAME + OCSF_SUFFIX), exit_status, tail)
        errors, error_count = logged_errors(stderr_path, secrets)
        return ProwlerRun(
            exit_status=exit_status,
            records=records,
            stderr_tail=tail,
            logged_errors=errors,
            logged_error_count=error_count,
        )


def _exit_description(exit_status: int) -> str:
    if exit_status < 0:
        try:
            name = signal.Signals(-exit_status).name
        except ValueError:
            name = f"signal {-exit_status}"
        # SIGKILL from outside is most often the kernel's out-of-memory killer: each run needs ~370 MB.
        hint = " (out of memory? lower --prowler-concurrency)" if -exit_status == signal.SIGKILL else ""
        return f"Prowler was killed by {name}{hint}"
    return f"Prowler exited with status {exit_status}"


def _read_ocsf(path: Path, exit_status: int, tail: str) -> list[Any]:
    if not path.exists():
        if exit_status == EXIT_FINDINGS:
            raise ProwlerRunError(
                f"Prowler exited with status {exit_status} (findings) but wrote no {OCSF_SUFFIX} file",
                exit_status=exit_status,
                stderr_tail=tail,
            )
        # Prowler writes no file when its selection produced no finding at all.
        return []
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProwlerRunError(
            f"Prowler's {OCSF_SUFFIX} output is not readable JSON: {error}", exit_status=exit_status, stderr_tail=tail
        ) from None
    if not isinstance(records, list):
        raise ProwlerRunError(
            f"Prowler's {OCSF_SUFFIX} output is a JSON {type(records).__name__}, not a list of findings",
            exit_status=exit_status,
            stderr_tail=tail,
        )
    return records


def _stop(process: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGTERM, TERMINATE_GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


#: Encoded forms shorter than this are not masked: they would mask ordinary text by chance.
MIN_MASKED_FORM = 8
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def _base64_cores(raw: bytes) -> Iterable[str]:
    """Base64 text that encodes ``raw`` wherever it sits in a longer payload (standard and URL-safe alphabets).

    Base64 works on 3-byte groups, so ``raw`` encodes differently at each of the
    three offsets it can start at inside, say, ``user:SECRET``. For each offset
    the characters made of ``raw``'s bytes only are kept; at most the two
    partial groups at either end (two bytes of the secret) stay unmasked.
    """
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        start = 4 if offset else 0
        end = 4 * ((offset + len(raw)) // 3)
        core = encoded[start:end]
        if offset == 0:
            yield encoded  # the whole value encoded on its own, padding included
            yield encoded.rstrip("=")
        yield core
        yield core.replace("+", "-").replace("/", "_")


def credential_forms(secret: str) -> set[str]:
    """Every form in which ``secret`` may appear in a log: itself, URL-encoded, JSON-escaped, base64 at any offset."""
    raw = secret.encode("utf-8")
    forms = {secret, quote(secret, safe=""), quote_plus(secret), secret.replace("/", "\\/")}
    forms |= {_PERCENT_ESCAPE.sub(lambda match: match.group().lower(), form) for form in list(forms)}
    forms |= set(_base64_cores(raw))
    return {form for form in forms if len(form) >= MIN_MASKED_FORM or form == secret}


def mask_credentials(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every credential value, and its URL-encoded and base64 forms, replaced by ``****``."""
    forms = sorted({form for secret in secrets for form in credential_forms(secret)}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, "****")
    return text


def stderr_tail(path: Path, secrets: Sequence[str]) -> str:
    """The last lines of Prowler's stderr, one line of text, with every credential value masked."""
    try:
        with open(path, "rb") as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            start = max(0, size - 16 * STDERR_TAIL_CHARS)
            stream.seek(start)
            text = stream.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = text.splitlines()
    if start > 0:
        # The first line was cut by the seek; a cut credential would escape masking.
        lines = lines[1:]
    lines = [line.strip() for line in lines if line.strip()]
    tail = mask_credentials(" | ".join(lines[-STDERR_TAIL_LINES:]), secrets)
    if len(tail) > STDERR_TAIL_CHARS:
        tail = "..." + tail[-STDERR_TAIL_CHARS:]
    return tail


def logged_errors(path: Path, secrets: Sequence[str]) -> tuple[tuple[str, ...], int]:
    """The distinct ERROR/CRITICAL lines Prowler logged (``"[module] message"``, masked) and how many there were."""
    try:
        with open(path, "rb") as stream:
            text = stream.read(LOGGED_ERRORS_READ_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return (), 0
    distinct: list[str] = []
    count = 0
    for line in text.splitlines():
        match = _LOG_LINE.match(line.strip())
        if match is None:
            continue
        count += 1
        message = mask_credentials(match["message"].strip(), secrets)
        if len(message) > LOGGED_ERROR_CHARS:
            message = message[:LOGGED_ERROR_CHARS] + "..."
        entry = f"[{match['module']}] {message}"
        if entry not in distinct and len(distinct) < LOGGED_ERRORS_KEPT:
            distinct.append(entry)
    return tuple(distinct), count
