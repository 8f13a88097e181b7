"""``orgscan upload github RESULTS_DIR``: send the SARIF files of a scan to GitHub code scanning.

Without ``--commit-sha``, it first asks GitHub which commit ``--ref`` points at (``git/get-ref``): a
scheduled scan has no checkout of its own. Then, for each ``*.sarif`` file directly in ``RESULTS_DIR``
(sorted by name), it

1. checks it against code scanning's published limits (at most 10 MB gzip-compressed, 20 runs per
   file, 25,000 results and 25,000 rules per run) and refuses it locally when it is over them;
2. gzips and base64-encodes it and POSTs it to ``/repos/{owner}/{repo}/code-scanning/sarifs``
   (the REST API's "Upload an analysis as SARIF data");
3. polls ``/repos/{owner}/{repo}/code-scanning/sarifs/{sarif_id}`` until GitHub's processing is
   ``complete`` or ``failed``, and prints the status and GitHub's processing errors.

The token is read from ``GITHUB_TOKEN`` only, never from the command line, and is never printed or
logged. It is sent only over HTTPS (plain HTTP only to a loopback address, for tests), and redirects
are not followed, so the ``Authorization`` header never reaches another host.

The standard library's ``urllib`` is the HTTP client: two JSON calls do not justify a dependency.
Waiting goes through an injected clock and sleeper, so tests never sleep.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import ipaddress
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from scanner import __version__
from scanner.arguments import UsageErrorParser
from scanner.sanitizer import safe_text

DEFAULT_API_URL = "https://api.github.com"
#: The REST API version orgscan was written against (sent as ``X-GitHub-Api-Version``).
API_VERSION = "2022-11-28"
TOKEN_VARIABLE = "GITHUB_TOKEN"

# Code scanning's limits ("SARIF support for code scanning" and the upload-sarif operation's description).
#: 10 MB gzip-compressed, counted in decimal megabytes to stay on the safe side.
MAX_GZIPPED_BYTES = 10_000_000
MAX_RUNS_PER_FILE = 20
MAX_RESULTS_PER_RUN = 25_000
MAX_RULES_PER_RUN = 25_000

#: Seconds between two status polls: the first wait, the factor and the longest wait.
FIRST_POLL_DELAY = 2.0
POLL_BACKOFF = 1.5
MAX_POLL_DELAY = 15.0
DEFAULT_WAIT_TIMEOUT = 600.0
REQUEST_TIMEOUT = 60.0

# Exit codes of `orgscan upload github` (also in README.md and docs/reports.md).
EXIT_OK = 0
EXIT_PROCESSING_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 6
EXIT_UNREACHABLE = 7

PROG = "orgscan upload github"
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
# The request body schema's own patterns (commit_sha, ref) in GitHub's OpenAPI description.
_COMMIT_SHA = re.compile(r"^[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?$")
_REF = re.compile(r"^refs/(heads|tags|pull)/.+$")
_CATEGORY = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")


class UploadUsageError(Exception):
    """Bad input found before anything was sent: one line, exit code 2."""


class GitHubRefused(Exception):
    """GitHub answered a request with a 3xx or 4xx status: one line, exit code 6."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class GitHubUnreachable(Exception):
    """GitHub could not be reached, answered 5xx, or did not finish processing in time: exit code 7."""


@dataclass(frozen=True)
class PreparedSarif:
    """One SARIF file ready to upload: its name, the gzip+base64 payload and the categories of its runs."""

    path: Path
    payload: str
    gzipped_bytes: int
    categories: tuple[str, ...]


@dataclass
class FileOutcome:
    """What happened to one file: the upload id, GitHub's processing status and errors, or why it was refused."""

    path: Path
    sarif_id: str | None = None
    status: str | None = None
    errors: list[str] = field(default_factory=list)
    refused: str | None = None
    unreachable: str | None = None


def _one_line(value: Any, limit: int = 500) -> str:
    """``value`` (text from GitHub) as one safe, bounded line."""
    return " ".join(safe_text(value, limit).split())


def run_category(automation_id: str) -> str:
    """The category part of a run's ``automationDetails.id``: everything before the last ``/``."""
    return automation_id.rsplit("/", 1)[0] if "/" in automation_id else automation_id


def prepare_sarif(path: Path, category: str | None = None) -> PreparedSarif:
    """The file at ``path`` checked against code scanning's limits, with ``category`` prefixed to each run's category.

    :class:`UploadUsageError` naming the file when it cannot be read, is not a SARIF log or is over a limit.
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UploadUsageError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        log = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise UploadUsageError(f"{path}: not JSON ({_one_line(error, 200)})") from None
    if not isinstance(log, dict) or not isinstance(log.get("runs"), list):
        raise UploadUsageError(f"{path}: not a SARIF log (no 'runs' list)")
    runs = log["runs"]
    if len(runs) > MAX_RUNS_PER_FILE:
        raise UploadUsageError(f"{path}: {len(runs)} runs, code scanning accepts at most {MAX_RUNS_PER_FILE} per file")
    categories = []
    for index, run in enumerate(runs):
        if not isinstance(run, dict):
            raise UploadUsageError(f"{path}: runs[{index}] is not an object")
        results = run.get("results") or []
        rules = ((run.get("tool") or {}).get("driver") or {}).get("rules") or []
        if len(results) > MAX_RESULTS_PER_RUN:
            raise UploadUsageError(f"{path}: runs[{index}] has {len(results)} results, "
                                   f"code scanning accepts at most {MAX_RESULTS_PER_RUN} per run")
        if len(rules) > MAX_RULES_PER_RUN:
            raise UploadUsageError(f"{path}: runs[{index}] has {len(rules)} rules, "
                                   f"code scanning accepts at most {MAX_RULES_PER_RUN} per run")
        details = run.get("automationDetails")
        automation_id = details.get("id") if isinstance(details, dict) and isinstance(details.get("id"), str) else ""
        if category:
            automation_id = f"{category}/{automation_id}" if automation_id else f"{category}/"
            run["automationDetails"] = {**(details if isinstance(details, dict) else {}), "id": automation_id}
        categories.append(run_category(automation_id))
    if category:
        raw = json.dumps(log, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    gzipped = gzip.compress(raw, mtime=0)
    if len(gzipped) > MAX_GZIPPED_BYTES:
        raise UploadUsageError(f"{path}: {len(gzipped) / 1_000_000:.1f} MB gzip-compressed, code scanning accepts at most "
                               f"{MAX_GZIPPED_BYTES // 1_000_000} MB (orgscan scan splits large scans into results-NNN.sarif)")
    return PreparedSarif(path, base64.b64encode(gzipped).decode("ascii"), len(gzipped), tuple(categories))


def sarif_files(results_dir: Path) -> list[Path]:
    """The ``*.sarif`` files directly in ``results_dir``, by name; :class:`UploadUsageError` when there is none."""
    if not results_dir.is_dir():
        raise UploadUsageError(f"{results_dir}: not a directory")
    files = sorted(p for p in results_dir.glob("*.sarif") if p.is_file())
    if not files:
        raise UploadUsageError(f"{results_dir}: no .sarif file (orgscan scan --format sarif writes results.sarif)")
    return files


def check_distinct_categories(prepared: Sequence[PreparedSarif]) -> None:
    """Refuses two files whose runs share a category: GitHub would let the later one replace the earlier one's alerts."""
    seen: dict[str, Path] = {}
    for sarif in prepared:
        for category in set(sarif.categories):
            if category in seen:
                raise UploadUsageError(
                    f"{seen[category].name} and {sarif.path.name} both hold category {category!r}: the later upload would "
                    "replace the earlier one's alerts (results.sarif and results-with-pass.sarif are alternatives, "
                    "upload one)")
            seen[category] = sarif.path


def api_base(url: str) -> str:
    """``url`` without a trailing slash, when it is HTTPS (or HTTP to a loopback address); else :class:`UploadUsageError`."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise UploadUsageError(f"--api-url {url!r}: not an http(s) URL (GitHub Enterprise Server: https://HOST/api/v3)")
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        raise UploadUsageError(f"--api-url {url!r}: the token is only sent over https (plain http only to a loopback address)")
    if parsed.query or parsed.fragment or parsed.username or parsed.password:
        raise UploadUsageError(f"--api-url {url!r}: no query, fragment or credentials allowed")
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turns every redirect into an error, so the token is never sent on to another URL."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class CodeScanningClient:
    """The two code-scanning REST operations orgscan uses, for one repository."""

    def __init__(self, api_url: str, repository: str, token: str, *, opener: urllib.request.OpenerDirector | None = None,
                 timeout: float = REQUEST_TIMEOUT) -> None:
        self._base = api_base(api_url)
        owner, name = repository.split("/", 1)
        self._repository_path = f"/repos/{urllib.parse.quote(owner, safe='')}/{urllib.parse.quote(name, safe='')}"
        self.repository = repository
        self._token = token
        self._timeout = timeout
        self._opener = opener or urllib.request.build_opener(_NoRedirect())

    def __repr__(self) -> str:  # never show the token
        return f"CodeScanningClient({self._base!r}, {self.repository!r})"

    def upload_sarif(self, *, commit_sha: str, ref: str, sarif: str) -> str:
        """The id GitHub gave the upload (``202 Accepted``)."""
        body = {"commit_sha": commit_sha, "ref": ref, "sarif": sarif}
        answer = self._call("POST", f"{self._repository_path}/code-scanning/sarifs", body)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str) or not answer["id"]:
            raise GitHubUnreachable("GitHub accepted the upload but its answer has no upload id")
        return answer["id"]

    def ref_commit(self, ref: str) -> str:
        """The commit ``ref`` (``refs/heads/main``) points at now (``git/get-ref``); an annotated tag is refused."""
        short = ref[len("refs/"):]
        answer = self._call("GET", f"{self._repository_path}/git/ref/{urllib.parse.quote(short, safe='/')}")
        target = answer.get("object") if isinstance(answer, dict) else None
        sha = target.get("sha") if isinstance(target, dict) else None
        if not isinstance(sha, str) or not _COMMIT_SHA.match(sha):
            raise GitHubUnreachable(f"GitHub's answer for {_one_line(ref, 200)} has no commit sha")
        if target.get("type") != "commit":
            raise GitHubRefused(422, f"{_one_line(ref, 200)} points at a {_one_line(target.get('type'), 40)}, "
                                     "not a commit: give --commit-sha")
        return sha

    def sarif_status(self, sarif_id: str) -> tuple[str, list[str]]:
        """``(processing_status, errors)`` of one upload."""
        answer = self._call("GET", f"{self._repository_path}/code-scanning/sarifs/{urllib.parse.quote(sarif_id, safe='')}")
        status = answer.get("processing_status") if isinstance(answer, dict) else None
        if status not in ("pending", "complete", "failed"):
            raise GitHubUnreachable(f"GitHub's status answer for upload {_one_line(sarif_id, 80)} has no known processing_status")
        errors = answer.get("errors") or []
        return status, [_one_line(e) for e in errors] if isinstance(errors, list) else [_one_line(errors)]

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(self._base + path, data=data, method=method)
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("X-GitHub-Api-Version", API_VERSION)
        request.add_header("User-Agent", f"orgscan/{__version__}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            with error:
                raise self._refusal(error.code, error.read(1_000_000), error.headers) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise GitHubUnreachable(f"cannot reach {self._base}: {_one_line(reason, 200)}") from None
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise GitHubUnreachable(f"{self._base} answered {method} {path} with something that is not JSON") from None

    def _refusal(self, status: int, raw: bytes, headers: Any) -> Exception:
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {}
        said = _one_line(answer.get("message", ""), 300) if isinstance(answer, dict) else ""
        details = answer.get("errors") if isinstance(answer, dict) else None
        if isinstance(details, list) and details:
            said += " (" + "; ".join(_one_line(d.get("message") or d.get("code") if isinstance(d, dict) else d, 200)
                                     for d in details[:5]) + ")"
        suffix = f": GitHub said: {said}" if said else ""
        repository = self.repository
        if status >= 500:
            return GitHubUnreachable(f"GitHub answered {status}{suffix}; try again later")
        if 300 <= status < 400:
            return GitHubRefused(status, f"GitHub answered a redirect ({status}) for {repository}; redirects are not "
                                         "followed: use the repository's current OWNER/NAME and the right --api-url")
        messages = {
            400: "GitHub rejected the SARIF data as invalid (400)",
            401: f"GitHub refused the token (401): check that {TOKEN_VARIABLE} holds a valid, unexpired token",
            403: (f"GitHub denied code scanning on {repository} (403): the token needs the security_events scope "
                  "(a workflow: permissions: security-events: write), and the repository must be public or have "
                  "GitHub Advanced Security (code scanning) enabled, and not be archived"),
            404: f"{repository} not found (404), or the token cannot see it (a private repository needs the repo scope)",
            413: "GitHub refused the SARIF data as too large (413 Payload Too Large)",
            422: "GitHub could not process the request (422)",
        }
        if status == 403 and str(headers.get("x-ratelimit-remaining", "")) == "0":
            return GitHubRefused(status, f"GitHub's rate limit is exhausted (403){suffix}; try again after the reset")
        if status == 429:
            return GitHubRefused(status, f"GitHub's rate limit is exhausted (429){suffix}; try again later")
        return GitHubRefused(status, messages.get(status, f"GitHub refused the request ({status})") + suffix)


def wait_for_processing(client: CodeScanningClient, sarif_id: str, *, timeout: float = DEFAULT_WAIT_TIMEOUT,
                        clock: Callable[[], float] = time.monotonic,
                        sleep: Callable[[float], None] = time.sleep) -> tuple[str, list[str]]:
    """``(processing_status, errors)`` once GitHub has processed the upload; :class:`GitHubUnreachable` after ``timeout``.

    A 5xx answer while waiting is treated as "not yet" (GitHub's processing is asynchronous anyway).
    """
    deadline = clock() + timeout
    delay = FIRST_POLL_DELAY
    while True:
        try:
            status, errors = client.sarif_status(sarif_id)
            if status != "pending":
                return status, errors
        except GitHubUnreachable:
            if clock() + delay > deadline:
                raise
        if clock() + delay > deadline:
            raise GitHubUnreachable(f"GitHub had not finished processing upload {_one_line(sarif_id, 80)} after "
                                    f"{timeout:g} s; look it up later in the repository's code scanning settings")
        sleep(delay)
        delay = min(delay * POLL_BACKOFF, MAX_POLL_DELAY)


def upload_directory(client: CodeScanningClient, prepared: Sequence[PreparedSarif], *, commit_sha: str, ref: str,
                     timeout: float = DEFAULT_WAIT_TIMEOUT, clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> list[FileOutcome]:
    """One outcome per file sent. A refusal that concerns the whole repository (401, 403, 404, redirect) stops the rest,
    and so does GitHub being unreachable; a refusal of one file (400, 413, 422) is recorded and the next file is sent.
    """
    outcomes = []
    for sarif in prepared:
        outcome = FileOutcome(sarif.path)
        outcomes.append(outcome)
        try:
            outcome.sarif_id = client.upload_sarif(commit_sha=commit_sha, ref=ref, sarif=sarif.payload)
            outcome.status, outcome.errors = wait_for_processing(client, outcome.sarif_id, timeout=timeout,
                                                                 clock=clock, sleep=sleep)
        except GitHubRefused as refused:
            outcome.refused = str(refused)
            if refused.status not in (400, 413, 422):
                break
        except GitHubUnreachable as unreachable:
            outcome.unreachable = str(unreachable)
            break
    return outcomes


def build_parser(parser_class: type[argparse.ArgumentParser] = UsageErrorParser) -> argparse.ArgumentParser:
    """The argument parser of ``orgscan upload github``."""
    parser = parser_class(
        prog=PROG,
        description="Upload the SARIF files of a scan to GitHub code scanning and wait for GitHub to process them. "
                    f"The token comes from the {TOKEN_VARIABLE} environment variable (never from the command line).",
    )
    parser.add_argument("results_dir", type=Path, metavar="RESULTS_DIR",
                        help="the scan's output directory; every *.sarif file directly in it is uploaded")
    parser.add_argument("--repository", required=True, metavar="OWNER/NAME", help="the repository to upload to")
    parser.add_argument("--ref", required=True, metavar="REF",
                        help="full Git reference the analysis belongs to: refs/heads/BRANCH, refs/tags/TAG or refs/pull/N/head")
    parser.add_argument("--commit-sha", metavar="SHA",
                        help="the commit the analysis belongs to (40 or 64 hex digits; default: the commit --ref points "
                             "at now, asked from GitHub, which needs read access to the repository's contents)")
    parser.add_argument("--category", metavar="NAME",
                        help="prefixed to each run's category (automationDetails.id), to keep several scans apart")
    parser.add_argument("--api-url", default=DEFAULT_API_URL, metavar="URL",
                        help=f"REST API root (default {DEFAULT_API_URL}; GitHub Enterprise Server: https://HOST/api/v3)")
    parser.add_argument("--wait-timeout", type=float, default=DEFAULT_WAIT_TIMEOUT, metavar="SECONDS",
                        help=f"how long to wait for GitHub to process each file (default {DEFAULT_WAIT_TIMEOUT:g})")
    return parser


def _validate(args: argparse.Namespace) -> None:
    if not _REPOSITORY.match(args.repository):
        raise UploadUsageError(f"--repository {args.repository!r}: expected OWNER/NAME")
    if not _REF.match(args.ref):
        raise UploadUsageError(f"--ref {args.ref!r}: expected a full reference: refs/heads/BRANCH, refs/tags/TAG or refs/pull/N/head")
    if args.commit_sha is not None and not _COMMIT_SHA.match(args.commit_sha):
        raise UploadUsageError(f"--commit-sha {args.commit_sha!r}: expected 40 (or 64) hexadecimal digits")
    if args.category is not None and not _CATEGORY.match(args.category):
        raise UploadUsageError(f"--category {args.category!r}: use letters, digits, '.', '_', '-' and '/' (at most 200)")
    if not 0 < args.wait_timeout <= 86_400:
        raise UploadUsageError("--wait-timeout must be above 0 and at most 86400 seconds")


def _token(environ: Mapping[str, str]) -> str:
    token = environ.get(TOKEN_VARIABLE, "")
    if not token.strip():
        raise UploadUsageError(f"{TOKEN_VARIABLE} is not set: export a token with the security_events scope "
                               "(in a workflow, ${{ secrets.GITHUB_TOKEN }} with security-events: write)")
    if not token.isprintable() or token != token.strip():
        raise UploadUsageError(f"{TOKEN_VARIABLE} holds whitespace or control characters")
    return token


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
         opener: urllib.request.OpenerDirector | None = None) -> int:
    """Run ``orgscan upload github``; returns the exit code (0, 1, 2, 6 or 7; see the module's docs)."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        _validate(args)
        token = _token(os.environ if environ is None else environ)
        client = CodeScanningClient(args.api_url, args.repository, token, opener=opener)
        prepared = [prepare_sarif(path, args.category) for path in sarif_files(args.results_dir)]
        check_distinct_categories(prepared)
    except UploadUsageError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return EXIT_USAGE
    commit_sha = args.commit_sha
    if commit_sha is None:
        try:
            commit_sha = client.ref_commit(args.ref)
        except (GitHubRefused, GitHubUnreachable) as error:
            if isinstance(error, GitHubRefused) and error.status == 404:
                error = GitHubRefused(404, f"{args.ref} not found in {args.repository} (404), or the token cannot read "
                                           "the repository's contents: give --commit-sha")
            print(f"{PROG}: {error}", file=sys.stderr)
            return EXIT_REFUSED if isinstance(error, GitHubRefused) else EXIT_UNREACHABLE
    outcomes = upload_directory(client, prepared, commit_sha=commit_sha, ref=args.ref,
                                timeout=args.wait_timeout, clock=clock, sleep=sleep)
    codes = set()
    for outcome in outcomes:
        problem = outcome.refused or outcome.unreachable
        if problem:
            print(f"{PROG}: {outcome.path.name}: {problem}", file=sys.stderr)
            codes.add(EXIT_REFUSED if outcome.refused else EXIT_UNREACHABLE)
            continue
        line = f"{outcome.path.name}: {outcome.status} (upload {_one_line(outcome.sarif_id, 80)})"
        if outcome.errors:
            line += ": " + "; ".join(outcome.errors)
        print(line)
        if outcome.status == "failed":
            codes.add(EXIT_PROCESSING_FAILED)
    skipped = len(prepared) - len(outcomes)
    if skipped:
        print(f"{PROG}: {skipped} file(s) not sent after that", file=sys.stderr)
    # A refusal needs the user to change something; unreachable needs a retry; a processing failure is GitHub's verdict.
    for code in (EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_PROCESSING_FAILED):
        if code in codes:
            return code
    return EXIT_OK
