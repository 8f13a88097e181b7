"""devopsguru_endpoint_policy_restricted against the simulated organization."""
import pytest

from checks.devopsguru.devopsguru_endpoint_policy_restricted import devopsguru_endpoint_policy_restricted
from devopsguru_scenarios import MEMBER, REGION, devops_guru, only
from scanner.model import Status
from scanner.simulator import Faults


def allow(condition=None, principal="*", action="devops-guru:*"):
    statement = {"Sid": "UseDevOpsGuru", "Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def member(policy, guru=None, **endpoint):
    spec = {"service": "devops-guru", **endpoint}
    if policy is not None:
        spec["policy"] = policy
    return {"devops_guru": [guru or devops_guru(None)], "vpcs": [{"region": REGION, "endpoints": [spec]}]}


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg01"}},
        {"StringEquals": {"aws:PrincipalAccount": [MEMBER]}},
        {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{MEMBER}:role/*"}},
    ],
    ids=["org", "account", "arn"],
)
def test_pass_when_everyone_is_limited_by_a_principal_condition(judge, condition):
    finding = only(judge(devopsguru_endpoint_policy_restricted, member(allow(condition))))
    assert finding.status is Status.PASS
    assert finding.resource_id.startswith("vpce-")
    assert finding.resource_arn == f"arn:aws:ec2:{REGION}:{MEMBER}:vpc-endpoint/{finding.resource_id}"


def test_pass_with_named_principals(judge):
    assert only(judge(devopsguru_endpoint_policy_restricted, member(allow(principal={"AWS": f"arn:aws:iam::{MEMBER}:role/Ops"})))).status is Status.PASS


def test_fail_with_the_default_full_access_policy(judge):
    # An endpoint created without a policy gets AWS's full-access one.
    finding = only(judge(devopsguru_endpoint_policy_restricted, member(None)))
    assert finding.status is Status.FAIL
    assert "default full access" in finding.message


def test_fail_when_the_policy_is_absent(judge):
    finding = only(judge(devopsguru_endpoint_policy_restricted, member(None, without_policy=True)))
    assert finding.status is Status.FAIL
    assert finding.message == "endpoint has no policy: full access to every principal"
    assert finding.evidence["PolicyDocument"] is None


@pytest.mark.parametrize(
    "condition",
    [
        None,
        # Every request through the endpoint comes from its own VPC: a network condition names no caller.
        {"StringLike": {"aws:SourceVpc": "vpc-*"}},
        {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-exampleorg01"}},
        {"StringNotEquals": {"aws:PrincipalAccount": "999999999999"}},
        {"StringLike": {"aws:PrincipalOrgID": "o-*"}},
    ],
    ids=["no-condition", "network-only", "ifexists", "negated", "wildcard"],
)
def test_fail_when_everyone_is_allowed_without_a_principal_condition(judge, condition):
    finding = only(judge(devopsguru_endpoint_policy_restricted, member(allow(condition))))
    assert finding.status is Status.FAIL
    assert "Sid 'UseDevOpsGuru'" in finding.message
    assert finding.evidence["public_statements"][0]["sid"] == "UseDevOpsGuru"


def test_pass_when_limited_to_an_organizational_unit(judge):
    # aws:PrincipalOrgPaths (reference_policies_condition-keys.html#condition-keys-principal-org-paths): only
    # principals of accounts in that OU; anonymous and unrelated callers are left out.
    condition = {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-exampleorg01/r-ab12/ou-ab12-11111111/*"]}}
    assert only(judge(devopsguru_endpoint_policy_restricted, member(allow(condition)))).status is Status.PASS


def test_deny_with_not_principal_closes_an_open_allow(judge):
    # A Deny with NotPrincipal is an exception list (reference_policies_elements_notprincipal.html): everyone but
    # the named role of the member account is denied, so the open Allow serves only that role.
    policy = allow()
    policy["Statement"].append(
        {"Sid": "OnlyOps", "Effect": "Deny", "NotPrincipal": {"AWS": [f"arn:aws:iam::{MEMBER}:root", f"arn:aws:iam::{MEMBER}:role/Ops"]}, "Action": "*", "Resource": "*"}
    )
    assert only(judge(devopsguru_endpoint_policy_restricted, member(policy))).status is Status.PASS


def test_unreadable_policy_of_one_endpoint_never_hides_another_endpoints_fail(judge):
    # Issue 15, finding 3: a 4,301-digit integer (beyond Python's int-conversion limit) in one endpoint's policy is
    # an ERROR for that endpoint only; the full-access endpoint next to it still FAILs.
    huge = '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"NumericLessThan": {"k": ' + "9" * 4301 + "}}}]}"
    spec = {"devops_guru": [devops_guru(None)], "vpcs": [{"region": REGION, "endpoints": [{"service": "devops-guru"}, {"service": "devops-guru"}]}]}
    corrupted = []

    def prepare(sim):
        from moto.ec2.models import ec2_backends

        endpoint = sorted(ec2_backends[MEMBER][REGION].vpc_end_points.values(), key=lambda e: e.id)[0]
        endpoint.policy_document = huge
        corrupted.append(endpoint.id)

    findings = {f.resource_id: f for f in judge(devopsguru_endpoint_policy_restricted, spec, prepare=prepare)}
    assert len(findings) == 2
    assert findings[corrupted[0]].status is Status.ERROR and "number too long" in findings[corrupted[0]].message
    (other,) = [f for endpoint_id, f in findings.items() if endpoint_id != corrupted[0]]
    assert other.status is Status.FAIL and "default full access" in other.message


def test_malformed_policy_is_error(judge):
    finding = only(judge(devopsguru_endpoint_policy_restricted, member({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": 7}]})))
    assert finding.status is Status.ERROR
    assert "Action must be a string or a list" in finding.message


def test_not_applicable_without_devops_guru_endpoints_or_use(judge):
    no_endpoint = {"devops_guru": [devops_guru(None)], "vpcs": [{"region": REGION}]}
    assert only(judge(devopsguru_endpoint_policy_restricted, no_endpoint)).status is Status.NOT_APPLICABLE
    off = member(allow(), guru=devops_guru(None, stacks=[]))
    finding = only(judge(devopsguru_endpoint_policy_restricted, off))
    assert finding.status is Status.NOT_APPLICABLE and "not in use" in finding.message


def test_access_denied_is_error_naming_the_action(judge):
    finding = only(judge(devopsguru_endpoint_policy_restricted, member(allow()), faults=Faults(deny_actions={MEMBER: ["ec2:DescribeVpcEndpoints"]})))
    assert finding.status is Status.ERROR
    assert "ec2:DescribeVpcEndpoints" in finding.message
