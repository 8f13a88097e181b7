"""`orgscan upload github` against a loopback server that holds every request to GitHub's OpenAPI description.

Ground truth: GitHub's REST reference for "Upload an analysis as SARIF data" and "Get information about
a SARIF upload" (https://docs.github.com/rest/code-scanning/code-scanning), as vendored in
data/code-scanning-openapi.json, and "SARIF support for code scanning"
(https://docs.github.com/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning)
for the limits: 10 MB gzip-compressed, 20 runs per file, 25,000 results and 25,000 rules per run.
"""
from __future__ import annotations

import base64
import gzip
import json
import os
import random
from pathlib import Path

import pytest

from github_contract import CONTRACT, CodeScanningServer, FakeCodeScanning
from scanner.cli import main as orgscan
from scanner.integrations import github

TOKEN = "ghp_" + "T0kenThatMustNeverBePrinted" + "x" * 9
SHA = "4b6472266afd7b471e86085a6659e8c7f2b119da"
REF = "refs/heads/main"


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def sarif_log(automation_id: str = "orgscan/o-exampleorg1/scan-1", results: int = 1, runs: int = 1) -> dict:
    run = {
        "tool": {"driver": {"name": "orgscan", "rules": [{"id": "kms_key_rotation_enabled"}]}},
        "automationDetails": {"id": automation_id},
        "results": [{"ruleId": "kms_key_rotation_enabled", "message": {"text": f"key {n}"}} for n in range(results)],
    }
    return {"version": "2.1.0", "runs": [json.loads(json.dumps(run)) for _ in range(runs)]}


def write(directory: Path, name: str, log: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(log))
    return path


def upload(directory: Path, fake: FakeCodeScanning, *extra: str, clock: FakeClock | None = None,
           environ: dict | None = None) -> int:
    clock = clock or FakeClock()
    with CodeScanningServer(fake) as server:
        return github.main(
            [str(directory), "--repository", "octo-org/cloud-audit", "--ref", REF, "--commit-sha", SHA,
             "--api-url", server.url, *extra],
            environ={"GITHUB_TOKEN": TOKEN} if environ is None else environ, clock=clock, sleep=clock.sleep,
        )


def test_the_contract_is_github_s_published_description():
    """The vendored operations are the ones the REST reference documents, from a named @octokit/openapi version."""
    assert CONTRACT["package_version"]
    assert CONTRACT["operations"]["upload-sarif"]["operationId"] == "code-scanning/upload-sarif"
    assert CONTRACT["operations"]["get-sarif"]["operationId"] == "code-scanning/get-sarif"
    assert CONTRACT["operations"]["get-ref"]["operationId"] == "git/get-ref"
    assert set(CONTRACT["operations"]["upload-sarif"]["responses"]) >= {"202", "403", "404", "413"}


def test_a_real_scan_s_sarif_is_uploaded_and_processed(simulated_org, run_orgscan, tmp_path, capsys):
    """The SARIF of a scan of the simulated organization reaches GitHub intact, gzip+base64, and is polled to completion."""
    code, document = run_orgscan("--org", "--format", "sarif", "--quiet")
    assert document is not None and code in (0, 1, 3)
    out_dir = tmp_path / "orgscan-out-1"
    fake = FakeCodeScanning(token=TOKEN, processing=["pending", "pending", "complete"])
    clock = FakeClock()
    capsys.readouterr()

    assert upload(out_dir, fake, clock=clock) == 0

    assert fake.violations == []
    uploads = [r for r in fake.requests if r.operation == "upload-sarif"]
    assert len(uploads) == 1
    assert uploads[0].path_params == {"owner": "octo-org", "repo": "cloud-audit"}
    assert uploads[0].body["commit_sha"] == SHA and uploads[0].body["ref"] == REF
    assert uploads[0].sarif == json.loads((out_dir / "results.sarif").read_text())
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    # three polls: two "pending" answers, each followed by one wait of the fake clock, then "complete"
    assert [r.operation for r in fake.requests].count("get-sarif") == 3
    assert clock.sleeps == [github.FIRST_POLL_DELAY, github.FIRST_POLL_DELAY * github.POLL_BACKOFF]
    out, err = capsys.readouterr()
    assert out.startswith("results.sarif: complete (upload ")
    assert TOKEN not in out + err


def test_each_file_is_uploaded_on_its_own_and_processing_errors_are_reported(tmp_path, capsys):
    """Split output (results-001.sarif, ...) is one upload per file; a failed processing is printed with GitHub's errors, exit 1."""
    write(tmp_path, "results-001.sarif", sarif_log("orgscan/o-x/111111111111/scan-1"))
    write(tmp_path, "results-002.sarif", sarif_log("orgscan/o-x/222222222222/scan-1"))
    fake = FakeCodeScanning(token=TOKEN, processing=["failed"], processing_errors=["locationFromSarifResult: expected artifact location\n\x1b[31m"])

    assert upload(tmp_path, fake) == github.EXIT_PROCESSING_FAILED

    assert fake.violations == []
    assert [r.operation for r in fake.requests] == ["upload-sarif", "get-sarif", "upload-sarif", "get-sarif"]
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert out[0].startswith("results-001.sarif: failed (upload ")
    assert out[0].endswith(": locationFromSarifResult: expected artifact location \ufffd[31m")


def test_category_is_prefixed_to_every_run_s_category(tmp_path):
    """--category keeps the runs of one file apart and prefixes them (GitHub: the category is automationDetails.id up to the last '/')."""
    log = sarif_log("orgscan/o-x/111111111111/scan-1", runs=2)
    log["runs"][1]["automationDetails"]["id"] = "orgscan/o-x/222222222222/scan-1"
    write(tmp_path, "results.sarif", log)
    fake = FakeCodeScanning(token=TOKEN)

    assert upload(tmp_path, fake, "--category", "weekly") == 0

    sent = fake.requests[0].sarif
    assert [run["automationDetails"]["id"] for run in sent["runs"]] == [
        "weekly/orgscan/o-x/111111111111/scan-1", "weekly/orgscan/o-x/222222222222/scan-1"]


ERRORS = [
    # (status, what the one line must say) -- statuses from the upload-sarif operation and GitHub's generic answers
    (401, "GitHub refused the token (401)"),
    (403, "GitHub denied code scanning on octo-org/cloud-audit (403)"),
    (404, "octo-org/cloud-audit not found (404)"),
    (413, "too large (413 Payload Too Large)"),
    (422, "GitHub could not process the request (422): GitHub said: Validation Failed (ref is not a branch of this repository)"),
]


@pytest.mark.parametrize("status, said", ERRORS)
def test_each_refusal_is_one_line_and_exit_6(tmp_path, capsys, status, said):
    write(tmp_path, "results.sarif", sarif_log())
    fake = FakeCodeScanning(token=TOKEN, upload_answers=[status])

    assert upload(tmp_path, fake) == github.EXIT_REFUSED

    assert fake.violations == []
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and said in err and err.startswith("orgscan upload github: results.sarif: ")
    assert TOKEN not in err


def test_a_wrong_token_is_answered_401_by_the_server(tmp_path, capsys):
    """The 401 here comes from the server's own token check, not from a script."""
    write(tmp_path, "results.sarif", sarif_log())
    fake = FakeCodeScanning(token=TOKEN)

    assert upload(tmp_path, fake, environ={"GITHUB_TOKEN": "ghp_wrong"}) == github.EXIT_REFUSED
    assert "401" in capsys.readouterr().err


def test_a_refusal_of_one_file_does_not_stop_the_next_but_a_repository_refusal_does(tmp_path, capsys):
    write(tmp_path, "results-001.sarif", sarif_log("orgscan/o-x/1/scan"))
    write(tmp_path, "results-002.sarif", sarif_log("orgscan/o-x/2/scan"))
    write(tmp_path, "results-003.sarif", sarif_log("orgscan/o-x/3/scan"))
    fake = FakeCodeScanning(token=TOKEN, upload_answers=[413, None, 403])

    assert upload(tmp_path, fake) == github.EXIT_REFUSED

    out, err = capsys.readouterr()
    assert out.startswith("results-002.sarif: complete")
    assert "results-001.sarif: GitHub refused the SARIF data as too large" in err
    assert "results-003.sarif: GitHub denied code scanning" in err


def test_without_commit_sha_the_commit_ref_points_at_is_asked_from_github(tmp_path, capsys):
    """A scheduled scan has no checkout: `git/get-ref` (https://docs.github.com/rest/git/refs#get-a-reference) names the commit."""
    write(tmp_path, "results.sarif", sarif_log())
    head = "aa218f56b14c9653891f9e74264a383fa43fefbd"
    fake = FakeCodeScanning(token=TOKEN, refs={"heads/main": ("commit", head)})
    clock = FakeClock()
    with CodeScanningServer(fake) as server:
        code = github.main([str(tmp_path), "--repository", "octo-org/cloud-audit", "--ref", REF, "--api-url", server.url],
                           environ={"GITHUB_TOKEN": TOKEN}, clock=clock, sleep=clock.sleep)
    assert code == 0
    assert fake.violations == []
    assert [r.operation for r in fake.requests][:2] == ["get-ref", "upload-sarif"]
    assert fake.requests[0].path_params["ref"] == "heads/main"
    assert fake.requests[1].body["commit_sha"] == head


@pytest.mark.parametrize("refs, said", [
    ({}, "refs/heads/main not found in octo-org/cloud-audit (404)"),
    ({"heads/main": ("tag", "aa218f56b14c9653891f9e74264a383fa43fefbd")}, "points at a tag, not a commit: give --commit-sha"),
])
def test_a_ref_github_cannot_resolve_is_one_line_and_exit_6(tmp_path, capsys, refs, said):
    write(tmp_path, "results.sarif", sarif_log())
    fake = FakeCodeScanning(token=TOKEN, refs=refs)
    with CodeScanningServer(fake) as server:
        code = github.main([str(tmp_path), "--repository", "octo-org/cloud-audit", "--ref", REF, "--api-url", server.url],
                           environ={"GITHUB_TOKEN": TOKEN})
    assert code == github.EXIT_REFUSED
    assert fake.violations == [] and [r.operation for r in fake.requests] == ["get-ref"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err


def test_waiting_gives_up_after_the_timeout_by_the_clock_not_by_sleeping(tmp_path, capsys):
    write(tmp_path, "results.sarif", sarif_log())
    fake = FakeCodeScanning(token=TOKEN, processing=["pending"])
    clock = FakeClock()

    assert upload(tmp_path, fake, "--wait-timeout", "60", clock=clock) == github.EXIT_UNREACHABLE

    assert sum(clock.sleeps) <= 60 and max(clock.sleeps) <= github.MAX_POLL_DELAY
    assert "had not finished processing upload" in capsys.readouterr().err


def test_a_5xx_while_waiting_is_polled_again(tmp_path):
    write(tmp_path, "results.sarif", sarif_log())
    fake = FakeCodeScanning(token=TOKEN, status_answers=[503], processing=["complete"])

    assert upload(tmp_path, fake) == 0
    assert fake.violations == []


def test_an_unreachable_github_is_exit_7(tmp_path, capsys):
    write(tmp_path, "results.sarif", sarif_log())
    with CodeScanningServer(FakeCodeScanning(token=TOKEN)) as server:
        url = server.url  # the server is gone after the block: its port refuses connections
    code = github.main([str(tmp_path), "--repository", "o/r", "--ref", REF, "--commit-sha", SHA, "--api-url", url],
                       environ={"GITHUB_TOKEN": TOKEN})
    assert code == github.EXIT_UNREACHABLE
    assert "cannot reach" in capsys.readouterr().err


@pytest.mark.parametrize("argv_tail, environ, said", [
    ((), {}, "GITHUB_TOKEN is not set"),
    ((), {"GITHUB_TOKEN": "  "}, "GITHUB_TOKEN is not set"),
    (("--repository", "not-a-repo"), None, "--repository 'not-a-repo': expected OWNER/NAME"),
    (("--ref", "main"), None, "--ref 'main': expected a full reference"),
    (("--commit-sha", "abc"), None, "--commit-sha 'abc'"),
    (("--api-url", "http://github.example.com/api/v3"), None, "the token is only sent over https"),
    (("--api-url", "ftp://x"), None, "not an http(s) URL"),
    (("--wait-timeout", "0"), None, "--wait-timeout"),
])
def test_bad_input_is_one_line_and_exit_2_before_anything_is_sent(tmp_path, capsys, argv_tail, environ, said):
    write(tmp_path, "results.sarif", sarif_log())
    argv = {"--repository": "octo-org/cloud-audit", "--ref": REF, "--commit-sha": SHA, "--api-url": "http://127.0.0.1:9"}
    argv.update(dict(zip(argv_tail[::2], argv_tail[1::2])))
    env = {"GITHUB_TOKEN": TOKEN} if environ is None else environ
    code = github.main([str(tmp_path), *[x for kv in argv.items() for x in kv]], environ=env)
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err and TOKEN not in err


def test_the_token_is_never_an_argument(tmp_path, capsys):
    """There is no --token option: argparse refuses it through orgscan's one-line usage error."""
    write(tmp_path, "results.sarif", sarif_log())
    code = orgscan(["upload", "github", str(tmp_path), "--repository", "o/r", "--ref", REF, "--commit-sha", SHA,
                    "--token", TOKEN])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments" in err


def test_a_missing_token_through_orgscan_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    write(tmp_path, "results.sarif", sarif_log())
    code = orgscan(["upload", "github", str(tmp_path), "--repository", "o/r", "--ref", REF, "--commit-sha", SHA])
    assert code == 2
    assert capsys.readouterr().err == ("orgscan upload github: GITHUB_TOKEN is not set: export a token with the "
                                       "security_events scope (in a workflow, ${{ secrets.GITHUB_TOKEN }} with "
                                       "security-events: write)\n")


@pytest.mark.parametrize("make, said", [
    (lambda d: write(d, "results.sarif", sarif_log(runs=21)), "21 runs, code scanning accepts at most 20 per file"),
    (lambda d: write(d, "results.sarif", sarif_log(results=25_001)), "has 25001 results, code scanning accepts at most 25000"),
    (lambda d: (d / "results.sarif").write_text("{not json"), "results.sarif: not JSON"),
    (lambda d: write(d, "results.sarif", {"version": "2.1.0"}), "not a SARIF log"),
    (lambda d: d.joinpath("other.txt").write_text("x"), "no .sarif file"),
    (lambda d: (write(d, "results.sarif", sarif_log("orgscan/o-x/scan-1")),
                write(d, "results-with-pass.sarif", sarif_log("orgscan/o-x/scan-1"))), "both hold category 'orgscan/o-x'"),
])
def test_files_over_github_s_limits_are_refused_before_upload(tmp_path, capsys, make, said):
    tmp_path.mkdir(exist_ok=True)
    make(tmp_path)
    fake = FakeCodeScanning(token=TOKEN)
    assert upload(tmp_path, fake) == 2
    assert fake.requests == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err


def test_over_10_mb_gzipped_is_refused(tmp_path, capsys):
    """Incompressible text past 10 MB gzipped (the published limit) never leaves the machine."""
    noise = base64.b64encode(random.Random(7).randbytes(10_500_000)).decode()
    log = sarif_log()
    log["runs"][0]["results"][0]["message"]["text"] = noise
    write(tmp_path, "results.sarif", log)
    assert len(gzip.compress((tmp_path / "results.sarif").read_bytes())) > 10_000_000
    fake = FakeCodeScanning(token=TOKEN)
    assert upload(tmp_path, fake) == 2
    assert fake.requests == []
    assert "MB gzip-compressed, code scanning accepts at most 10 MB" in capsys.readouterr().err


def test_redirects_are_not_followed_so_the_token_stays_with_the_api_host(tmp_path, capsys):
    """A 301 (a renamed repository) is reported, not followed: urllib would resend Authorization to the new URL."""
    write(tmp_path, "results.sarif", sarif_log())
    fake = FakeCodeScanning(token=TOKEN, upload_answers=[301])
    # 301 is not in the contract: answer it raw from a server of our own.
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    seen = []

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args):
            return

        def do_POST(self):
            seen.append(self.path)
            self.send_response(301)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code = github.main([str(tmp_path), "--repository", "o/r", "--ref", REF, "--commit-sha", SHA,
                            "--api-url", f"http://127.0.0.1:{server.server_address[1]}"], environ={"GITHUB_TOKEN": TOKEN})
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert code == github.EXIT_REFUSED
    assert seen == ["/repos/o/r/code-scanning/sarifs"]
    assert "redirects are not followed" in capsys.readouterr().err
    assert fake.requests == []


def test_the_token_is_not_in_the_client_s_repr():
    client = github.CodeScanningClient("https://api.github.com", "o/r", TOKEN)
    assert TOKEN not in repr(client) and TOKEN not in str(vars(client).get("_base"))
    assert os.environ.get("GITHUB_TOKEN") != TOKEN


def test_upload_without_a_target_names_both_targets(capsys):
    assert orgscan(["upload"]) == 2
    assert capsys.readouterr().err == "orgscan: error: upload: name a target: securityhub, github\n"
