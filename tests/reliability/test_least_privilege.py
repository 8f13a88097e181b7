"""Read-only, least privilege, provably: every API call of a full scan is a declared read, and the generated policy suffices.

One full scan of the default simulated organization runs with the simulator's
IAM enforcement on and only the policy printed by ``orgscan iam-policy``
attached to the member accounts' role. The simulator's call log then says
which operations were made.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json

from tests.reliability.harness import comparable, errors_of, run_orgscan_in_process, unloadable_plugins

from scanner.iam_policy import HOST_CALLER_ACTIONS, HOST_MEMBER_ACTIONS
from scanner.simulator import Faults, default_scenario

#: Reads whose names do not start with Describe, Get or List.
NAMED_READS = frozenset({"sts:AssumeRole"})
READ_VERBS = ("Describe", "Get", "List")


def is_read(action: str) -> bool:
    return action in NAMED_READS or action.split(":", 1)[1].startswith(READ_VERBS)


def generated_policy(tmp_path) -> dict:
    from scanner.cli import main

    argv = ["iam-policy"]
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
    unenforced = run_orgscan_in_process(simulation, tmp_path / "unenforced", plugins=())
    simulation.faults = Faults(iam_enforcement=True)
    simulation.interceptor.reset_counts()

    run = run_orgscan_in_process(simulation, tmp_path / "out", plugins=())

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
    calls = simulation.call_counts()
    assert calls, "the simulator saw no call"
    management = scenario.management_account_id
    for account_id, region, action in calls:
        assert is_read(action), f"{action} (in {account_id}/{region}) is not a read"
        allowed = allowed_for_caller if account_id == management else allowed_in_members | {"sts:assumerole"}
        assert action.lower() in allowed, f"{action} (in {account_id}/{region}) is declared by no check nor the host"
    # Every action the policy grants is a read too: the role can change nothing.
    statement_actions = [a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert all(is_read(a) and "*" not in a for a in statement_actions), statement_actions


def test_the_documented_deployment_scans_with_no_access_denied(org, clean_scan, tmp_path):
    """docs/security.md's flow: deploy the CloudFormation template to every member, scan through that role only."""
    from scanner.cli import main
    from tests.reliability.harness import FAKE_PLUGIN, MEMBERS, SmallOrgState, results_of

    argv = ["iam-policy", "--cloudformation", "--role-name", "OrgScanAudit", "--plugin", FAKE_PLUGIN]
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
    SmallOrgState.changed()
    org.faults = Faults(iam_enforcement=True)

    # Two attempts per call: a failure here must show quickly, not after the SDK's full backoff.
    run = run_orgscan_in_process(org, tmp_path / "out", "--role-name", "OrgScanAudit", "--external-id", "a-long-random-external-id",
                                 environment={"AWS_MAX_ATTEMPTS": "2"})

    document = run.document
    assert errors_of(document) == [], [(r["account_id"], r["check_id"], r["message"][:200]) for r in errors_of(document)][:5]
    # The same verdicts as the clean scan, plus those about the audit role itself (a new IAM role in each member;
    # summaries that count IAM roles count one more).
    def about_audit_role(result):
        return "OrgScanAudit" in f"{result['resource_id']} {result['resource_arn']}"

    def verdicts(results):
        return [(r["check_id"], r["region"], r["resource_id"], r["status"]) for r in results if not about_audit_role(r)]

    for member in MEMBERS:
        results = results_of(document, member)
        assert verdicts(results) == verdicts(results_of(clean_scan.document, member))
        assert all(r["status"] == "PASS" for r in results if about_audit_role(r))
