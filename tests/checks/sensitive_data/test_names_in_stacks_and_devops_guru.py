"""names_no_sensitive_data on CloudFormation stacks and DevOps Guru's resource-collection boundaries.

Ground truth: DevOps Guru's data-protection guidance
(https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html): "never put confidential or
sensitive information, such as your customers' email addresses, into tags or free-form text fields such as a
Name field". The fields judged, as AWS returns them:
- DescribeStacks (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html):
  each stack's ``StackName`` and ``Description`` (the template's Description), identified by ``StackId`` (an ARN).
- GetResourceCollection (https://docs.aws.amazon.com/devops-guru/latest/APIReference/API_GetResourceCollection.html):
  ``AWS_CLOUD_FORMATION`` gives ``CloudFormation.StackNames`` (``*`` is every stack, not a name); ``AWS_TAGS`` gives
  ``Tags``, each an ``AppBoundaryKey`` (``DevOps-Guru-*``) with its ``TagValues`` (``*`` is every value)
  (https://docs.aws.amazon.com/devops-guru/latest/APIReference/API_TagCollection.html).
Every planted value must be reported by kind with a masked preview and never appear in a finding.
"""
from __future__ import annotations

import json

from checks.sensitive_data.detector import mask
from checks.sensitive_data.names_no_sensitive_data import names_no_sensitive_data
from scanner.model import Status
from scanner.simulator import Faults, edit_json_answer
from scanner.testing import check_context

CLEAN, DIRTY = "320000000001", "320000000002"
STACKS_REGION, TAGS_REGION = "us-east-1", "eu-west-1"

OWNER_EMAIL = "jane.doe@example.com"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
BOUNDARY_EMAIL = "billing.owner@example.org"
PLANTED = [OWNER_EMAIL, ACCESS_KEY_ID, BOUNDARY_EMAIL]
SECRET_STACK = f"deploy-{ACCESS_KEY_ID}"
SECRET_STACK_SHOWN = f"deploy-{mask(ACCESS_KEY_ID)}"


def _account(account_id: str, name: str, **extra) -> dict:
    return {"id": account_id, "name": name, "email": f"{name}@example.com", "default_vpc": False, **extra}


SCENARIO = {
    "name": "names-in-stacks-and-devops-guru",
    "organization": {"management_account": CLEAN, "regions": [STACKS_REGION, TAGS_REGION]},
    "accounts": [
        _account(CLEAN, "clean",
                 cloudformation_stacks=[{"name": "web-tier", "region": STACKS_REGION, "description": "Web tier of the shop"}],
                 devops_guru=[{"region": STACKS_REGION, "stacks": ["web-tier", "*"]},
                              {"region": TAGS_REGION, "tags": {"DevOps-Guru-Application": ["shop", "*"]}}]),
        _account(DIRTY, "dirty",
                 cloudformation_stacks=[
                     {"name": "payments", "region": STACKS_REGION, "description": f"Payments; owner {OWNER_EMAIL}"},
                     {"name": SECRET_STACK, "region": STACKS_REGION},
                     {"name": "ledger", "region": STACKS_REGION, "description": "Ledger service"},
                 ],
                 devops_guru=[{"region": STACKS_REGION, "stacks": ["payments", SECRET_STACK]},
                              {"region": TAGS_REGION, "tags": {"DevOps-Guru-Owner": [BOUNDARY_EMAIL], "DevOps-Guru-App": ["billing"]}}]),
    ],
}


def run(sim, account: str, region: str) -> list:
    findings = list(names_no_sensitive_data(check_context(sim, account, region, names_no_sensitive_data)))
    text = json.dumps([{**f.__dict__, "status": f.status.value, "severity": None} for f in findings], default=str)
    for value in PLANTED:
        assert value not in text, f"planted value leaked: {value[:3]}..."
    return findings


def of_type(findings: list, resource_type: str) -> list:
    return [f for f in findings if f.resource_type == resource_type]


def test_clean_stacks_and_boundaries_pass(make_org):
    sim = make_org(SCENARIO)
    stacks = run(sim, CLEAN, STACKS_REGION)
    (stack,) = of_type(stacks, "AWS::CloudFormation::Stack")
    assert stack.status is Status.PASS and stack.resource_arn.startswith(f"arn:aws:cloudformation:{STACKS_REGION}:{CLEAN}:stack/web-tier/")
    assert stack.evidence == {"fields": ["Description", "StackName"]}
    # "*" is every stack, not a name: only the named stack of the collection is judged
    assert [(f.status, f.resource_id) for f in of_type(stacks, "AWS::DevOpsGuru::ResourceCollection")] == [
        (Status.PASS, "devops-guru-resource-collection/AWS_CLOUD_FORMATION/web-tier")]
    boundaries = of_type(run(sim, CLEAN, TAGS_REGION), "AWS::DevOpsGuru::ResourceCollection")
    assert [(f.status, f.resource_id) for f in boundaries] == [(Status.PASS, "devops-guru-resource-collection/AWS_TAGS/DevOps-Guru-Application")]


def test_secrets_and_personal_data_in_stacks_and_boundaries_fail_per_resource(make_org):
    sim = make_org(SCENARIO)
    findings = run(sim, DIRTY, STACKS_REGION)
    stacks = {f.resource_arn.split("/")[1]: f for f in of_type(findings, "AWS::CloudFormation::Stack")}
    assert {name: f.status for name, f in stacks.items()} == {"payments": Status.FAIL, SECRET_STACK_SHOWN: Status.FAIL, "ledger": Status.PASS}
    assert [(e["field"], e["kind"]) for e in stacks["payments"].evidence["findings"]] == [("Description", "email_address")]
    assert [(e["field"], e["kind"]) for e in stacks[SECRET_STACK_SHOWN].evidence["findings"]] == [("StackName", "aws_access_key_id")]
    collection = {f.resource_id: f for f in of_type(findings, "AWS::DevOpsGuru::ResourceCollection")}
    assert {rid: f.status for rid, f in collection.items()} == {
        "devops-guru-resource-collection/AWS_CLOUD_FORMATION/payments": Status.PASS,
        f"devops-guru-resource-collection/AWS_CLOUD_FORMATION/{SECRET_STACK_SHOWN}": Status.FAIL,
    }
    boundaries = {f.resource_id: f for f in of_type(run(sim, DIRTY, TAGS_REGION), "AWS::DevOpsGuru::ResourceCollection")}
    assert {rid: f.status for rid, f in boundaries.items()} == {
        "devops-guru-resource-collection/AWS_TAGS/DevOps-Guru-Owner": Status.FAIL,
        "devops-guru-resource-collection/AWS_TAGS/DevOps-Guru-App": Status.PASS,
    }
    owner = boundaries["devops-guru-resource-collection/AWS_TAGS/DevOps-Guru-Owner"]
    assert [(e["field"], e["kind"]) for e in owner.evidence["findings"]] == [("TagValues[0]", "email_address")]
    assert "****" in owner.evidence["findings"][0]["preview"]


def test_access_denied_is_an_error_for_that_source_and_the_others_go_on(make_org):
    for action in ("cloudformation:DescribeStacks", "devops-guru:GetResourceCollection"):
        sim = make_org(SCENARIO, Faults(deny_actions={DIRTY: [action]}))
        findings = run(sim, DIRTY, STACKS_REGION)
        errors = [f for f in findings if f.status is Status.ERROR]
        assert [f.resource_id for f in errors] == [action], [f.message for f in errors]
        assert f"access denied to {action}" in errors[0].message
        assert any(f.status is Status.FAIL for f in findings)  # the other sources are still judged


def test_a_malformed_boundary_is_an_error_for_it_alone(make_org):
    def break_first_boundary(call, answer):
        tags = (answer.get("ResourceCollection") or {}).get("Tags")
        if tags:
            del tags[0]["AppBoundaryKey"]
        return answer

    sim = make_org(SCENARIO, Faults(answer_edits={"devops-guru:GetResourceCollection": edit_json_answer(break_first_boundary)}))
    boundaries = {f.resource_id: f.status for f in of_type(run(sim, DIRTY, TAGS_REGION), "AWS::DevOpsGuru::ResourceCollection")}
    # The first boundary (DevOps-Guru-Owner) lost its key: an ERROR for it alone; DevOps-Guru-App is still judged.
    assert boundaries == {"devops-guru-resource-collection/AWS_TAGS/Tags[0]": Status.ERROR,
                          "devops-guru-resource-collection/AWS_TAGS/DevOps-Guru-App": Status.PASS}
