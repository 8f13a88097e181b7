"""Malformed config and scenario files: one clear line naming the file and the place, exit code 2, no traceback."""
from __future__ import annotations

import contextlib
import io
import json

import pytest

from scanner.cli import main


def _orgscan(*argv: str) -> tuple[int, str]:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, stderr.getvalue()


def _assert_one_clear_line(code: int, stderr: str, *expected: str) -> None:
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {stderr!r}"
    assert "Traceback" not in stderr
    for fragment in expected:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('concurrency = "many"\n', ("config.toml", "'concurrency'", "integer")),
        ('regoins = ["us-east-1"]\n', ("config.toml", "'regoins'", "regions")),
        ("org = true\n[checks\n", ("config.toml", "line 2")),
        ("[checks]\ninclude = 5\n", ("config.toml", "checks.include")),
        ("[checks]\nkms_key_policy_no_public_access = 3\n", ("config.toml", "checks.kms_key_policy_no_public_access")),
        ("accounts = [123456789012]\n", ("config.toml", "'accounts'")),
        ("\xff\xfe", ("config.toml",)),
    ],
    ids=["wrong-type", "unknown-key", "invalid-toml", "include-not-a-list", "check-options-not-a-table", "list-of-numbers", "not-utf8"],
)
def test_malformed_config_file(tmp_path, text, expected):
    path = tmp_path / "config.toml"
    path.write_bytes(text.encode("latin-1"))

    code, stderr = _orgscan("scan", "--config", str(path), "--output-dir", str(tmp_path / "out"))

    _assert_one_clear_line(code, stderr, *expected)
    assert not (tmp_path / "out" / "results.json").exists()


def test_missing_config_file(tmp_path):
    code, stderr = _orgscan("scan", "--config", str(tmp_path / "absent.toml"))

    _assert_one_clear_line(code, stderr, "absent.toml", "no such file")


SCENARIO_HEAD = '[organization]\nmanagement_account = "111111111111"\nregions = ["us-east-1"]\n'
MANAGEMENT = '[[accounts]]\nid = "111111111111"\nname = "management"\nemail = "m@example.com"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SCENARIO_HEAD + MANAGEMENT + '[[accounts.kms_keys]]\nrotation = "yes"\n', ("scenario.toml:accounts[0].kms_keys[0].rotation",)),
        (SCENARIO_HEAD + MANAGEMENT + "[[accounts.kms_keys]]\npolicy = '{not json'\n", ("scenario.toml:accounts[0].kms_keys[0].policy", "JSON")),
        (SCENARIO_HEAD + MANAGEMENT + 'colour = "blue"\n', ("scenario.toml:accounts[0].colour", "unknown key")),
        (SCENARIO_HEAD + MANAGEMENT.replace("111111111111", "1111"), ("scenario.toml:accounts[0].id",)),
        ("[organization\n", ("scenario.toml", "TOML", "line 1")),
        (SCENARIO_HEAD.replace('"us-east-1"', '"mars-north-1"') + MANAGEMENT, ("scenario.toml:organization.regions[0]", "mars-north-1")),
    ],
    ids=["wrong-type", "policy-not-json", "unknown-key", "bad-account-id", "invalid-toml", "unknown-region"],
)
def test_malformed_scenario_file(tmp_path, text, expected):
    path = tmp_path / "scenario.toml"
    path.write_text(text)

    code, stderr = _orgscan("demo", "--scenario", str(path), "--output-dir", str(tmp_path / "out"))

    _assert_one_clear_line(code, stderr, *expected)


# -- issue 15, finding 8: bad input that used to end as "internal error" (exit 4) or be accepted ----------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (("--check-timeout", "nan"), ("--check-timeout", "nan")),
        (("--check-timeout", "inf"), ("--check-timeout", "inf")),
        (("--check-timeout", "-1"), ("--check-timeout",)),
        (("--check-timeout", "0"), ("--check-timeout",)),
        (("--check-timeout", "1e300"), ("--check-timeout", "at most 604800")),
        (("--concurrency", "100000000"), ("--concurrency", "between 1 and 1024")),
        (("--accounts", "\uff11" * 12), ("--accounts", "not a 12-digit AWS account id")),  # fullwidth digits
        (("--accounts", "\u0661" * 12), ("--accounts", "not a 12-digit AWS account id")),  # Arabic-Indic digits
        (("--role-name", "../../x"), ("--role-name", "'../../x'", "not an IAM role name")),
        (("--role-name", "r" * 65), ("--role-name", "not an IAM role name")),
        (("--role-name", "r\u00f4le"), ("--role-name", "not an IAM role name")),
        (("--role-session-name", "a b"), ("--role-session-name",)),
        (("--external-id", "x"), ("--external-id",)),
    ],
    ids=["timeout-nan", "timeout-inf", "timeout-negative", "timeout-zero", "timeout-huge", "concurrency-huge",
         "fullwidth-digits", "arabic-indic-digits", "role-path", "role-too-long", "role-non-ascii",
         "session-name", "external-id-short"],
)
def test_bad_option_values(tmp_path, arguments, expected):
    output_dir = tmp_path / "out"

    code, stderr = _orgscan("scan", *arguments, "--output-dir", str(output_dir))

    _assert_one_clear_line(code, stderr, *expected)
    assert not output_dir.exists(), "nothing may be created before every option is valid"


def test_iam_role_names_that_are_valid_pass(tmp_path):
    from scanner.config import validate_role_name

    for name in ("OrgScanAudit", "a", "r" * 64, "audit+role=x,y.z@w-1_2"):
        assert validate_role_name(name) == name


@pytest.mark.parametrize("kind", ["file", "below-a-file", "proc", "sys"])
def test_unusable_output_directory(tmp_path, kind):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    output_dir = {"file": a_file, "below-a-file": a_file / "out", "proc": "/proc/self/orgscan-out", "sys": "/sys/orgscan-out"}[kind]
    expected = {"file": "is a file", "below-a-file": "below a file", "proc": "under /proc", "sys": "under /sys"}[kind]

    code, stderr = _orgscan("scan", "--output-dir", str(output_dir))

    _assert_one_clear_line(code, stderr, "--output-dir", str(output_dir), expected)
    assert a_file.read_text() == "x"


def test_resume_of_a_missing_directory_creates_nothing(tmp_path):
    missing = tmp_path / "nonexistent"

    code, stderr = _orgscan("scan", "--resume", str(missing))

    _assert_one_clear_line(code, stderr, "--resume", str(missing))
    assert not missing.exists()


@pytest.mark.parametrize("plan", ["{", '{"settings": {"plugin": ["x"]}}', "[]"], ids=["not-json", "no-hmac", "array"])
def test_resume_of_an_unauthenticated_plan(tmp_path, plan):
    spool = tmp_path / "out" / ".orgscan-spool"
    spool.mkdir(parents=True, mode=0o700)
    (tmp_path / "out").chmod(0o700)
    (spool / "plan.json").write_text(plan)

    code, stderr = _orgscan("scan", "--resume", str(tmp_path / "out"))

    _assert_one_clear_line(code, stderr, "plan")


# -- results.json of the wrong shape: orgscan report and orgscan upload securityhub --------------------------------

VALID_DOCUMENT = {
    "schema_version": 1,
    "tool": {"name": "orgscan", "version": "0.1.0"},
    "scan": {
        "id": "s1", "started_at": "2026-11-28T21:00:00.000Z", "finished_at": "2026-11-28T21:01:00.000Z", "mode": "account",
        "organization_id": None, "management_account_id": None, "regions": ["us-east-1"],
        "checks": [{"id": "c1", "title": "A check", "severity": "high"}],
        "accounts": [{"id": "111111111111", "name": "one", "status": "scanned", "error": None}],
    },
    "results": [{
        "check_id": "c1", "title": "A check", "service": "s", "status": "FAIL", "severity": "high", "account_id": "111111111111",
        "region": "us-east-1", "target_region": "us-east-1", "resource_type": "T", "resource_id": "r1", "resource_arn": None,
        "message": "m", "evidence": {}, "fingerprint": "0" * 32,
    }],
}


def _document_text(kind: str) -> str:
    document = json.loads(json.dumps(VALID_DOCUMENT))
    if kind == "tool-a-string":
        document["tool"] = "orgscan"
    elif kind == "accounts-not-objects":
        document["scan"]["accounts"] = ["111111111111"]
    elif kind == "regions-a-number":
        document["scan"]["regions"] = 5
    elif kind == "integer-account-id":
        document["results"][0]["account_id"] = 111111111111
    elif kind == "nan":
        return json.dumps(document).replace('"evidence": {}', '"evidence": {"x": NaN}')
    elif kind == "5000-digit-integer":
        return json.dumps(document).replace('"evidence": {}', '"evidence": {"x": ' + "9" * 5000 + "}")
    elif kind == "100000-deep":
        return json.dumps(document).replace('"evidence": {}', '"evidence": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    elif kind == "not-json":
        return "{"
    return json.dumps(document)


WRONG_SHAPES = ["tool-a-string", "accounts-not-objects", "regions-a-number", "integer-account-id", "nan",
                "5000-digit-integer", "100000-deep", "not-json"]


def test_a_valid_document_renders(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(_document_text("valid"))

    code, stderr = _orgscan("report", str(results), "--format", "csv", "--output-dir", str(tmp_path / "out"))

    assert code == 0, stderr
    assert (tmp_path / "out" / "report.csv").exists()


@pytest.mark.parametrize("kind", WRONG_SHAPES)
def test_report_on_a_document_of_the_wrong_shape(tmp_path, kind):
    results = tmp_path / "results.json"
    results.write_text(_document_text(kind))

    code, stderr = _orgscan("report", str(results), "--format", "csv,html", "--output-dir", str(tmp_path / "out"))

    _assert_one_clear_line(code, stderr, str(results))
    assert not (tmp_path / "out" / "report.csv").exists()


@pytest.mark.parametrize("kind", WRONG_SHAPES)
def test_upload_of_a_document_of_the_wrong_shape(tmp_path, kind):
    results = tmp_path / "results.json"
    results.write_text(_document_text(kind))

    code, stderr = _orgscan("upload", "securityhub", str(results))

    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and str(results) in lines[0] and "Traceback" not in stderr, stderr


def test_upload_refuses_a_role_name_iam_would_refuse(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(_document_text("valid"))

    code, stderr = _orgscan("upload", "securityhub", str(results), "--role-name", "../../x")

    assert code == 2 and "not an IAM role name" in stderr and len(stderr.strip().splitlines()) == 1, stderr
