"""Malformed config and scenario files: one clear line naming the file and the place, exit code 2, no traceback."""
from __future__ import annotations

import contextlib
import io

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
