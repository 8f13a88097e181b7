"""The fuzz suite's scan and its invariants: a scan of hostile answers finishes, accounts for everything, writes valid files.

Every example runs ``orgscan scan`` (the real command line, in this process)
against the simulated organization with hostile answers served by the
simulator, then checks the issue's invariants:

* the scan ends with a documented verdict (exit 0, 1 or 3: never 4, an internal error);
* every planned (account, region, check) has a result, and nothing unplanned does;
* every output file is written and valid: ``results.json`` against the shape
  ``docs/results.md`` documents, SARIF against the SARIF 2.1.0 schema (as
  ``tests/reports`` validates it), ASFF against Security Hub's
  ``BatchImportFindings`` input model, the CSV parses, the HTML and Markdown exist;
* no planted sensitive value and no credential appears in any file.

Hypothesis settings come from a profile chosen by ``ORGSCAN_FUZZ_PROFILE``:
``default`` (a few examples per test, deterministic: the bounded run of
``tox``) or ``long`` (``tox -e fuzz``).
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import botocore.session
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, Phase, settings
from jsonschema import Draft4Validator
from tests.sarif_schema import load_schema

from scanner.results_schema import schema_problem

from tests.reliability.harness import assert_accounts_for_everything

ACCOUNT = "111111111111"
REGION = "us-east-1"
FORMATS = ("html", "sarif", "asff", "csv", "markdown")
#: A value the sensitive-data detector flags (a GitHub token's format), planted in tags and names:
#: it must never appear unmasked in any output, whatever else the answers hold.
PLANTED_SECRET = "ghp_" + "Zq7Kx2Vd9Lm4Tn8Rb3Wc6Yh1Pf5Gs0Ju2Ea"
PLANTED_EMAIL = "jane.doe.fuzz@example.com"

_COMMON = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
# The bounded run does not shrink: a failure is reported with the example that failed, at the cost of one scan.
settings.register_profile("orgscan-fuzz-default", max_examples=6, derandomize=True,
                          phases=(Phase.explicit, Phase.reuse, Phase.generate), **_COMMON)
settings.register_profile("orgscan-fuzz-long", max_examples=60, **_COMMON)
PROFILE_NAME = os.environ.get("ORGSCAN_FUZZ_PROFILE", "default")
if PROFILE_NAME not in ("default", "long"):
    raise RuntimeError(f"ORGSCAN_FUZZ_PROFILE must be 'default' or 'long', not {PROFILE_NAME!r}")
#: The hypothesis settings of every fuzz test (a decorator).
FUZZ = settings.get_profile(f"orgscan-fuzz-{PROFILE_NAME}")
#: Per test, a backstop against a scan that never ends (pytest-timeout); never a timed assertion.
TEST_TIMEOUT = 240 if PROFILE_NAME == "default" else 3600

_OPEN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "DevOpsGuru", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:DescribeKey", "kms:CreateGrant"],
         "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "devops-guru.us-east-1.amazonaws.com",
                                                          "kms:CallerAccount": ACCOUNT}}},
    ],
}

SCENARIO: dict[str, Any] = {
    "name": "fuzz",
    "organization": {"management_account": ACCOUNT, "regions": [REGION]},
    "accounts": [
        {
            "id": ACCOUNT,
            "name": "fuzz",
            "email": "fuzz@example.com",
            "root_mfa": True,
            "kms_keys": [
                {"id": "0f0f0f0f-0000-4000-8000-000000000001", "description": f"token {PLANTED_SECRET}",
                 "policy": _OPEN_POLICY, "aliases": ["alias/devops-guru"], "rotation": True,
                 "tags": {"password": PLANTED_SECRET, "Owner": PLANTED_EMAIL}},
                {"id": "0f0f0f0f-0000-4000-8000-000000000002", "description": "second key"},
            ],
            "devops_guru": [{"encryption": {"type": "CUSTOMER_MANAGED_KEY", "kms_key": "alias/devops-guru", "opt_in_status": "ENABLED"},
                             "stacks": ["*"], "notification_topics": ["alerts"]}],
            # The second VPC reaches DevOps Guru through a Resolver rule and has a zone: Route 53's answers are read for it.
            "vpcs": [{"cidr": "10.7.0.0/16", "subnets": ["10.7.1.0/24"], "endpoints": [{"service": "devops-guru"}]},
                     {"cidr": "10.8.0.0/16", "subnets": ["10.8.1.0/24"], "hosted_zones": [{"name": "internal.example.com"}],
                      "resolver_rules": [{"name": "devops-guru-central"}]}],
            "hosted_zones": [{"name": "internal.example.com"}],
            "resolver_rules": [{"name": "devops-guru-central", "domain": "devops-guru.us-east-1.amazonaws.com", "target_ips": ["10.7.1.10"]}],
            "trails": [{"name": "fuzz-trail", "multi_region": True, "logging": True, "log_file_validation": True,
                        "tags": {"api_key": PLANTED_SECRET}}],
            "iam_roles": [{"name": "deployer", "description": f"uses {PLANTED_SECRET}", "tags": {"secret": PLANTED_SECRET}}],
            "iam_users": [{"name": "ci-bot", "tags": {"contact": PLANTED_EMAIL}}],
            "sns_topics": [{"name": "alerts", "tags": {"token": PLANTED_SECRET}, "kms_key": "alias/devops-guru",
                            "subscriptions": [{"protocol": "https", "endpoint": f"https://hooks.example.com/x?token={PLANTED_SECRET}"}]}],
            "api_destinations": [{"name": "webhook", "url": f"https://deploy:{PLANTED_SECRET}@api.example.com/hook"}],
            "s3_buckets": [{"name": "fuzz-bucket-0001", "tags": {"note": f"key {PLANTED_SECRET}"}}],
            "macie": [{"status": "ENABLED"}],
            "cloudformation_stacks": [{"name": "fuzz-stack", "description": f"deploys with {PLANTED_SECRET}"}],
        }
    ],
}

# -- results.json: validated by the one shipped schema (scanner/schemas/results.schema.json) ----------------------

_SARIF_VALIDATOR = Draft4Validator(load_schema())


def _asff_shape() -> Any:
    return botocore.session.get_session().get_service_model("securityhub").operation_model("BatchImportFindings").input_shape


_ASFF_SHAPE = _asff_shape()


@contextlib.contextmanager
def output_directory() -> Iterator[Path]:
    """A fresh output directory for one example (hypothesis runs many examples in one test)."""
    parent = Path(tempfile.mkdtemp(prefix="orgscan-fuzz-"))
    try:
        yield parent / "out"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def scan_with(simulation: Any, edits: Mapping[str, Any], checks: tuple[str, ...], output_dir: Path) -> int:
    """``orgscan scan`` of the fuzz account with ``edits`` served; the exit code."""
    from scanner.cli import main
    from scanner.simulator import Faults

    simulation.faults = Faults(answer_edits=dict(edits))
    try:
        return main(["scan", "--regions", REGION, "--checks", ",".join(checks), "--format", ",".join(FORMATS),
                     "--output-dir", str(output_dir), "--quiet", "--check-timeout", "120"])
    finally:
        simulation.faults = Faults()


def assert_scan_survived(code: int, output_dir: Path, checks: tuple[str, ...], secrets: set[str]) -> dict:
    """The invariants of the module docstring; returns the document."""
    assert code in (0, 1, 3), f"exit code {code}: the scan did not end with a verdict"
    document = json.loads((output_dir / "results.json").read_text(encoding="utf-8"))
    problem = schema_problem(document)
    assert problem is None, problem
    assert_accounts_for_everything(document)
    assert {r["check_id"] for r in document["results"]} == set(checks)

    sarif_files = sorted(output_dir.glob("results*.sarif"))
    assert sarif_files, "no SARIF file written"
    for path in sarif_files:
        log = json.loads(path.read_bytes())
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _SARIF_VALIDATOR.iter_errors(log)]
        assert not problems, (path.name, problems[:3])
    findings = json.loads((output_dir / "findings.asff.json").read_text(encoding="utf-8"))
    report = ParamValidator().validate({"Findings": findings}, _ASFF_SHAPE) if findings else None
    assert report is None or not report.has_errors(), report.generate_report()
    rows = list(csv.DictReader(io.StringIO((output_dir / "report.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(document["results"])
    assert (output_dir / "report.html").stat().st_size > 0
    assert (output_dir / "summary.md").read_text(encoding="utf-8").startswith("## orgscan results")

    for path in output_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes().decode("utf-8", "replace")
            leaked = [s for s in secrets if s in content]
            assert not leaked, f"{path.name} holds {len(leaked)} planted or credential value(s) unmasked"
    return document


def sensitive_values(simulation: Any) -> set[str]:
    """The planted values and every credential the simulator issued: none may reach an output file."""
    from tests.reliability.test_nothing_leaked import issued_credentials

    return {PLANTED_SECRET, PLANTED_EMAIL} | issued_credentials(simulation)
