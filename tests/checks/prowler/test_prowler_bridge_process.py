"""The prowler_bridge check's process handling, with a stand-in prowler executable run as a real subprocess.

Exit statuses (0 and 3 are success, anything else is ERROR with stderr's
tail), the timeout and credentials passed only through the environment. The
bound on concurrent Prowler runs is the runner's (test_prowler_bridge_scan.py).
"""
from __future__ import annotations

import os

import pytest

from checks.prowler.prowler_bridge import build_prowler_bridge
from checks.prowler.settings import ProwlerSettings
from prowler_fakes import CAPTURED_META, CAPTURED_OCSF, FakeProwler, account_context
from scanner.model import Status

ACCOUNT = CAPTURED_META["account_id"]
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIAFAKEMEMBERKEY0001",
    "AWS_SECRET_ACCESS_KEY": "fake-member-secret-8f1c2b7e",
    "AWS_SESSION_TOKEN": "fake-member-session-token-3d9a",
}
LOG_ERROR = (
    "\n2026-11-28 21:36:50,205 [File: kms_service.py:64] \t[Module: kms_service]\t "
    "ERROR: us-east-1 -- KeyError:61 -- 'MultiRegion'\n"
)


@pytest.fixture
def prowler(tmp_path):
    return FakeProwler(tmp_path)


@pytest.fixture(autouse=True)
def parent_environment(monkeypatch):
    """orgscan's own environment: its credentials and profile must not reach Prowler, its SDK settings must."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-parent-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-parent-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing-parent-token")
    monkeypatch.setenv("AWS_PROFILE", "parent-profile")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")


def run_bridge(prowler, account_id=ACCOUNT, credentials=CREDENTIALS, scan_regions=(), **settings):
    bridge = build_prowler_bridge(ProwlerSettings(executable=str(prowler.executable), **settings))
    return list(bridge(account_context(account_id, credentials, scan_regions=scan_regions)))


def test_exit_status_3_means_findings_and_they_are_converted(prowler):
    prowler.behave(3, ocsf_source=CAPTURED_OCSF)
    findings = run_bridge(prowler)
    assert len(findings) == 19
    assert {f.status for f in findings} == {Status.PASS, Status.FAIL, Status.NOT_APPLICABLE}
    assert all(f.check_id.startswith("prowler.") for f in findings)


def test_exit_status_0_with_findings_is_success(prowler):
    prowler.behave(0, ocsf_source=CAPTURED_OCSF)
    assert len(run_bridge(prowler)) == 19


def test_no_output_file_on_exit_0_means_nothing_to_report(prowler):
    prowler.behave(0)
    assert run_bridge(prowler) == []


def test_credentials_reach_prowler_only_through_its_environment(prowler):
    prowler.behave(3, ocsf_source=CAPTURED_OCSF)
    run_bridge(prowler)
    [call] = prowler.calls()
    command_line = " ".join(call["argv"])
    for value in CREDENTIALS.values():
        assert value not in command_line
    environment = call["env"]
    assert {name: environment[name] for name in CREDENTIALS} == CREDENTIALS
    assert "AWS_PROFILE" not in environment
    assert environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert environment["AWS_CA_BUNDLE"] == "/etc/ssl/certs/ca-certificates.crt"
    assert environment["AWS_DEFAULT_REGION"] == "us-east-1"


def test_the_command_line_carries_the_selection_regions_and_ocsf_output(prowler):
    prowler.behave(0)
    run_bridge(prowler, compliance=("cis_4.0_aws",), scan_regions=("eu-west-1", "us-east-1"))
    [call] = prowler.calls()
    argv = call["argv"]
    assert argv[0] == "aws"
    assert argv[argv.index("--output-formats") + 1] == "json-ocsf"
    assert argv[argv.index("--compliance") + 1] == "cis_4.0_aws"
    assert argv[argv.index("--region") + 1 : argv.index("--region") + 3] == ["eu-west-1", "us-east-1"]
    assert "--checks" not in argv and "--services" not in argv


def test_without_planned_regions_prowler_scans_the_account_api_region(prowler):
    prowler.behave(0)
    run_bridge(prowler, checks=("kms_cmk_rotation_enabled",))
    [call] = prowler.calls()
    assert call["argv"][call["argv"].index("--region") + 1] == "us-east-1"
    assert call["argv"][call["argv"].index("--checks") + 1] == "kms_cmk_rotation_enabled"


def test_a_failed_run_is_error_with_exit_status_and_masked_stderr_tail(prowler):
    stderr = "".join(f"line {n}\n" for n in range(40)) + f"Invalid token {CREDENTIALS['AWS_SESSION_TOKEN']}\n"
    prowler.behave(1, stderr=stderr)
    [finding] = run_bridge(prowler)
    assert finding.status == Status.ERROR
    assert finding.check_id is None  # the bridge's own result
    assert finding.resource_id == ACCOUNT
    assert f"Prowler run for account {ACCOUNT} failed: Prowler exited with status 1; stderr ends: " in finding.message
    assert "Invalid token ****" in finding.message
    assert "line 39" in finding.message and "line 5 " not in finding.message
    assert finding.evidence["exit_status"] == 1
    for value in CREDENTIALS.values():
        assert value not in finding.message
        assert value not in str(finding.evidence)


def test_a_usage_error_of_prowler_is_reported_with_its_own_words(prowler):
    prowler.behave(2, stderr="prowler: error: argument --compliance: invalid choice: 'cis_9.9_aws'\n")
    [finding] = run_bridge(prowler, compliance=("cis_9.9_aws",))
    assert finding.status == Status.ERROR
    assert "status 2" in finding.message and "invalid choice: 'cis_9.9_aws'" in finding.message


def test_a_killed_prowler_is_an_error_that_names_the_signal(prowler, tmp_path):
    killer = tmp_path / "killed-prowler"
    killer.write_text("#!/bin/sh\necho 'loading compliance frameworks' >&2\nkill -KILL $$\n")
    killer.chmod(0o755)
    bridge = build_prowler_bridge(ProwlerSettings(executable=str(killer)))
    [finding] = bridge(account_context(ACCOUNT, CREDENTIALS))
    assert finding.status == Status.ERROR
    assert "Prowler was killed by SIGKILL (out of memory? lower --prowler-concurrency)" in finding.message
    assert finding.message.endswith("stderr ends: loading compliance frameworks")
    assert finding.evidence["exit_status"] == -9


def test_a_run_that_outlives_its_timeout_is_stopped_and_error(prowler):
    prowler.behave(0, hang=True, stderr="scanning slowly\n")
    [finding] = run_bridge(prowler, timeout_seconds=1.5)
    # Stopped by the bridge, not ended by itself: no exit status, and the process is gone.
    assert finding.status == Status.ERROR
    assert "did not finish within 1.5 s and was stopped; stderr ends: scanning slowly" in finding.message
    assert finding.evidence["exit_status"] is None
    [call] = prowler.calls()
    with pytest.raises(ProcessLookupError):
        os.kill(call["pid"], 0)


def test_findings_promised_by_exit_status_3_but_missing_are_an_error(prowler):
    prowler.behave(3)
    [finding] = run_bridge(prowler)
    assert finding.status == Status.ERROR
    assert "status 3 (findings) but wrote no .ocsf.json file" in finding.message


def test_unreadable_ocsf_output_is_an_error(prowler):
    prowler.behave(3, ocsf_text='[{"metadata": ')
    [finding] = run_bridge(prowler)
    assert finding.status == Status.ERROR
    assert "output is not readable JSON" in finding.message


def test_errors_prowler_logged_while_it_went_on_are_one_error_result(prowler):
    prowler.behave(3, ocsf_source=CAPTURED_OCSF, stderr=LOG_ERROR * 2)
    findings = run_bridge(prowler)
    assert len(findings) == 20
    error = findings[-1]
    assert error.status == Status.ERROR and error.check_id is None
    assert error.message == (
        f"Prowler logged 2 error(s) for account {ACCOUNT}; findings of the affected checks may be missing: "
        "[kms_service] us-east-1 -- KeyError:61 -- 'MultiRegion'"
    )


def test_logged_errors_never_quote_a_credential(prowler):
    leaky = LOG_ERROR.replace("KeyError:61 -- 'MultiRegion'", f"InvalidClientTokenId for {CREDENTIALS['AWS_ACCESS_KEY_ID']}")
    prowler.behave(0, stderr=leaky)
    [error] = run_bridge(prowler)
    assert error.status == Status.ERROR
    assert "InvalidClientTokenId for ****" in error.message
    assert CREDENTIALS["AWS_ACCESS_KEY_ID"] not in str(error.evidence)


def test_prowler_reporting_on_another_account_is_an_error_and_its_findings_are_dropped(prowler):
    prowler.behave(3, ocsf_source=CAPTURED_OCSF)
    [finding] = run_bridge(prowler, account_id="111122223333")
    assert finding.status == Status.ERROR
    assert finding.message == f"Prowler reported on account {ACCOUNT}, not on 111122223333; its findings were discarded"


def test_missing_credentials_are_an_error_without_running_prowler(prowler):
    [finding] = run_bridge(prowler, credentials={"AWS_ACCESS_KEY_ID": "ASIAONLYKEY"})
    assert finding.status == Status.ERROR
    assert "AWS_SECRET_ACCESS_KEY missing" in finding.message
    assert not (prowler.directory / "calls").exists()


def test_a_missing_executable_is_an_error(tmp_path):
    bridge = build_prowler_bridge(ProwlerSettings(executable=str(tmp_path / "gone" / "prowler")))
    [finding] = bridge(account_context(ACCOUNT, CREDENTIALS))
    assert finding.status == Status.ERROR
    assert "could not start Prowler" in finding.message


# Real AWS secrets and session tokens hold "/", "+" and "=": their URL-encoded forms differ from them.
SLASHED_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIAFAKEMEMBERKEY0002",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYFAKEKEY01",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEFAKE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+fake/token+value==",
}


def _encoded_forms(secret: str) -> dict[str, str]:
    """How a credential turns up in a tool's log other than verbatim (issue 15, finding 9)."""
    import base64
    from urllib.parse import quote, quote_plus

    raw = secret.encode()
    return {
        "url-encoded": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
        "url-encoded, lower-case hex": quote(secret, safe="").replace("%2F", "%2f").replace("%2B", "%2b").replace("%3D", "%3d"),
        "base64": base64.b64encode(raw).decode(),
        "base64 url-safe, unpadded": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        # An HTTP Basic header: the secret sits at an offset inside the encoded payload.
        "base64 inside user:secret": base64.b64encode(b"AKIDUSER:" + raw).decode(),
        "base64 inside a:secret": base64.b64encode(b"a:" + raw + b":x").decode(),
        "base64 inside ab:secret": base64.b64encode(b"ab:" + raw).decode(),
    }


def _secret_parts(secret: str) -> list[str]:
    """What must not survive of a masked encoded form: any 12 consecutive characters of the encoded secret alone."""
    forms = _encoded_forms(secret)
    own = [forms["url-encoded"], forms["base64"], forms["base64 url-safe, unpadded"]]
    return [form[i:i + 12] for form in own for i in range(4, len(form) - 16, 4)]


@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"])
def test_a_failed_run_masks_encoded_credentials_in_stderr(prowler, name):
    secret = SLASHED_CREDENTIALS[name]
    forms = _encoded_forms(secret)
    stderr = "".join(f"debug: request carried {label} {value}\n" for label, value in forms.items())
    prowler.behave(1, stderr=stderr)
    [finding] = run_bridge(prowler, credentials=SLASHED_CREDENTIALS)
    assert finding.status == Status.ERROR
    shown = finding.message + str(finding.evidence)
    for label, value in forms.items():
        assert value not in shown, label
    leaked = [part for part in _secret_parts(secret) if part in shown]
    assert not leaked, leaked[:3]
    assert "debug: request carried base64" in finding.message  # the rest of the line is still there to read


def test_logged_errors_mask_encoded_credentials(prowler):
    secret = SLASHED_CREDENTIALS["AWS_SESSION_TOKEN"]
    forms = _encoded_forms(secret)
    leaky = "".join(LOG_ERROR.replace("KeyError:61 -- 'MultiRegion'", f"bad token {label} {value}") for label, value in forms.items())
    prowler.behave(0, stderr=leaky)
    [error] = run_bridge(prowler, credentials=SLASHED_CREDENTIALS)
    shown = error.message + str(error.evidence)
    for label, value in forms.items():
        assert value not in shown, label
