"""Read-only, least privilege, provably: every API call of a full scan is a declared read, and the generated policy suffices.

One full scan of the default simulated organization runs with the simulator's
IAM enforcement on and only the policy printed by ``orgscan iam-policy``
attached to the member accounts' role. The simulator's call log then says
which IAM actions were used, named as AWS authorizes the calls. "Read" is AWS's
own classification: the access level List or Read in the Service Authorization
Reference (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_understand-policy-summary-access-level-summaries.html).
Every built-in check scans, and so does the example third-party plugin of
docs/plugins.md (S3 bucket default encryption, whose IAM actions are not
named like its API operations).
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json

from tests.reliability.harness import FAKE_PLUGIN, comparable, errors_of, run_orgscan_in_process, unloadable_plugins

from scanner.iam_policy import HOST_CALLER_ACTIONS, HOST_MEMBER_ACTIONS
from scanner.iam_reference import iam_reference
from scanner.simulator import Faults, default_scenario

#: The example plugin of docs/plugins.md, loaded by file path as a plugin author would.
EXAMPLE_S3_PLUGIN = "docs/examples/s3_encryption/orgscan_s3_encryption"
#: Reaching a member account is the one call that is not a read (AWS: Write); the member role never has it.
ROLE_ASSUMPTION = "sts:AssumeRole"


def is_read(action: str) -> bool:
    """Whether AWS's IAM reference classifies the action (every action a ``*`` pattern names) as List or Read."""
    reference = iam_reference()
    named = reference.matching(action)
    return bool(named) and all(reference.access_level(each) in {"List", "Read"} for each in named)


def generated_policy(tmp_path) -> dict:
    from scanner.cli import main

    argv = ["iam-policy", "--plugin", EXAMPLE_S3_PLUGIN]
    for name in unloadable_plugins():
        argv += ["--disable-plugin", name]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert main(argv) == 0, stderr.getvalue()
    return json.loads(stdout.getvalue())


def test_full_scan_makes_only_declared_reads_and_the_generated_policy_suffices(make_org, tmp_path):
    policy = generated_policy(tmp_path)
    scenario = dataclasses.replace(default_scenario(), role_policy=json.dumps(policy))
    simulation = make_org(scenario)
    # Without enforcement the member roles' policies are not evaluated: what the scenario itself denies
    # (a key policy shutting out another account, a role that cannot be assumed) is denied either way.
    unenforced = run_orgscan_in_process(simulation, tmp_path / "unenforced", plugins=(EXAMPLE_S3_PLUGIN,))
    simulation.faults = Faults(iam_enforcement=True)
    simulation.interceptor.reset_counts()

    run = run_orgscan_in_process(simulation, tmp_path / "out", plugins=(EXAMPLE_S3_PLUGIN,))

    document = run.document
    assert run.exit_code == unenforced.exit_code, run.stderr
    scanned_ids = {a["id"] for a in document["scan"]["accounts"] if a["status"] == "scanned"}
    assert len(scanned_ids) >= 3, document["scan"]["accounts"]
    newly_denied = [
        (r["account_id"], r["check_id"], r["message"]) for r in errors_of(document)
        if r not in unenforced.document["results"]
    ]
    assert not newly_denied, f"denied with only the generated policy attached: {newly_denied[:5]}"
    assert comparable(document) == comparable(unenforced.document)
    undeclared = [r for r in errors_of(document) if "does not declare" in r["message"]]
    assert not undeclared, undeclared[:5]

    declared = {action for check in document["scan"]["checks"] for action in check["iam_actions"]}
    allowed_in_members = {a.lower() for a in (*declared, *HOST_MEMBER_ACTIONS)}
    allowed_for_caller = allowed_in_members | {a.lower() for a in HOST_CALLER_ACTIONS}
    assert "s3:getencryptionconfiguration" in allowed_in_members and "s3:listallmybuckets" in allowed_in_members
    calls = simulation.call_counts()
    assert calls, "the simulator saw no call"
    management = scenario.management_account_id
    s3_results = [r for r in document["results"] if r["check_id"] == "s3_bucket_default_encryption_kms"]
    assert any(r["status"] == "FAIL" for r in s3_results), s3_results
    # The scenario's account whose role cannot be assumed is ERROR for every check; no bucket read is.
    assert [(r["account_id"], r["message"]) for r in s3_results
            if r["status"] == "ERROR" and r["account_id"] in scanned_ids] == [], s3_results
    for account_id, region, action in calls:
        assert action == ROLE_ASSUMPTION or is_read(action), f"{action} (in {account_id}/{region}) is not List or Read in AWS's IAM reference"
        allowed = allowed_for_caller if account_id == management else allowed_in_members | {"sts:assumerole"}
        assert action.lower() in allowed, f"{action} (in {account_id}/{region}) is declared by no check nor the host"
    # Every action the policy grants is a read too: the role can change nothing.
    statement_actions = [a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert all(is_read(a) and "*" not in a for a in statement_actions), statement_actions


def test_the_documented_deployment_scans_with_no_access_denied(org, clean_scan, tmp_path):
    """docs/security.md's flow: deploy the CloudFormation template to every member, scan through that role only."""
    from scanner.cli import main
    from tests.reliability.harness import MEMBERS, SmallOrgState, results_of

    argv = ["iam-policy", "--cloudformation", "--role-name", "OrgScanAudit", "--plugin", FAKE_PLUGIN, "--plugin", EXAMPLE_S3_PLUGIN]
    for name in unloadable_plugins():
        argv += ["--disable-plugin", name]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(argv) == 0
    scanner_arn = org.client("sts").get_caller_identity()["Arn"]
    for member in MEMBERS:
        org.client("cloudformation", account_id=member).create_stack(
            StackName="orgscan-audit-role",
            TemplateBody=stdout.getvalue(),
            Parameters=[
                {"ParameterKey": "ScannerPrincipalArn", "ParameterValue": scanner_arn},
                {"ParameterKey": "ExternalId", "ParameterValue": "a-long-random-external-id"},
            ],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )
    for member in MEMBERS:
        # A bucket per member, so the example plugin's S3 reads really happen under enforcement.
        s3 = org.client("s3", account_id=member)
        s3.create_bucket(Bucket=f"orgscan-example-{member}")
    SmallOrgState.changed()
    org.faults = Faults(iam_enforcement=True)

    # Two attempts per call: a failure here must show quickly, not after the SDK's full backoff.
    run = run_orgscan_in_process(org, tmp_path / "out", "--role-name", "OrgScanAudit", "--external-id", "a-long-random-external-id",
                                 plugins=(FAKE_PLUGIN, EXAMPLE_S3_PLUGIN), environment={"AWS_MAX_ATTEMPTS": "2"})

    document = run.document
    assert errors_of(document) == [], [(r["account_id"], r["check_id"], r["message"][:200]) for r in errors_of(document)][:5]
    # The same verdicts as the clean scan, plus those about the audit role itself (a new IAM role in each member;
    # summaries that count IAM roles count one more).
    def about_audit_role(result):
        # the role, and the stack that deployed it (names_no_sensitive_data judges stack names)
        return any(name in f"{result['resource_id']} {result['resource_arn']}" for name in ("OrgScanAudit", "stack/orgscan-audit-role/"))

    def verdicts(results):
        return [(r["check_id"], r["region"], r["resource_id"], r["status"]) for r in results
                if not about_audit_role(r) and r["check_id"] != "s3_bucket_default_encryption_kms"]

    s3_results = {(r["account_id"], r["resource_id"]): r["status"] for r in document["results"] if r["check_id"] == "s3_bucket_default_encryption_kms"}
    assert {(member, f"orgscan-example-{member}") for member in MEMBERS} <= set(s3_results), s3_results

    for member in MEMBERS:
        results = results_of(document, member)
        assert verdicts(results) == verdicts(results_of(clean_scan.document, member))
        assert all(r["status"] == "PASS" for r in results if about_audit_role(r))
