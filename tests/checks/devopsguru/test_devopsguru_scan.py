"""The DevOps Guru and KMS checks through a real `orgscan scan --org` of a small simulated organization."""
from devopsguru_scenarios import MANAGEMENT, MEMBER, OTHER, OTHER_REGION, REGION, devops_guru, good_key, organization
from scanner.simulator import Faults

CHECKS = (
    "devopsguru_cmk_enabled",
    "devopsguru_cmk_key_usable",
    "devopsguru_cmk_rotation_enabled",
    "devopsguru_cmk_policy_grants_service",
    "kms_key_policy_no_public_access",
    "kms_key_policy_admin_restricted",
    "devopsguru_privatelink_endpoint",
    "devopsguru_endpoint_policy_restricted",
)


def test_organization_scan_covers_every_target_and_isolates_a_denied_action(make_org, run_orgscan):
    member = {
        "kms_keys": [good_key()],
        "devops_guru": [devops_guru()],
        "vpcs": [{"region": REGION, "endpoints": [{"service": "devops-guru"}]}],
    }
    other = {"kms_keys": [good_key(rotation=False)], "devops_guru": [devops_guru()]}
    make_org(organization(member, other), Faults(deny_actions={OTHER: ["kms:GetKeyPolicy"]}))
    code, document = run_orgscan("--org", "--regions", f"{REGION},{OTHER_REGION}", "--checks", ",".join(CHECKS), "--quiet")
    assert document is not None
    results = document["results"]
    planned = {(account, region, check) for account in (MANAGEMENT, MEMBER, OTHER) for region in (REGION, OTHER_REGION) for check in CHECKS}
    assert {(r["account_id"], r["target_region"], r["check_id"]) for r in results} == planned

    def statuses(account, region, check):
        return sorted(r["status"] for r in results if (r["account_id"], r["target_region"], r["check_id"]) == (account, region, check))

    # Where DevOps Guru is off every devopsguru_* check is NOT_APPLICABLE.
    for check in CHECKS:
        if check.startswith("devopsguru_"):
            assert statuses(MANAGEMENT, REGION, check) == ["NOT_APPLICABLE"]
            assert statuses(MEMBER, OTHER_REGION, check) == ["NOT_APPLICABLE"]
    assert statuses(MEMBER, REGION, "devopsguru_cmk_policy_grants_service") == ["PASS"]
    assert statuses(MEMBER, REGION, "devopsguru_endpoint_policy_restricted") == ["FAIL"]  # default full-access policy
    assert statuses(OTHER, REGION, "devopsguru_cmk_rotation_enabled") == ["FAIL"]
    # The denied action makes only the checks that read key policies ERROR, naming the action.
    for check in ("devopsguru_cmk_policy_grants_service", "kms_key_policy_no_public_access", "kms_key_policy_admin_restricted"):
        errors = [r for r in results if (r["account_id"], r["target_region"], r["check_id"]) == (OTHER, REGION, check)]
        assert [r["status"] for r in errors] == ["ERROR"] and "kms:GetKeyPolicy" in errors[0]["message"]
    assert statuses(OTHER, REGION, "devopsguru_cmk_key_usable") == ["PASS"]
    key = next(r for r in results if r["check_id"] == "devopsguru_cmk_key_usable" and r["account_id"] == MEMBER and r["target_region"] == REGION)
    assert key["resource_arn"] == f"arn:aws:kms:{REGION}:{MEMBER}:key/{good_key()['id']}"
    assert key["severity"] == "high" and key["fingerprint"]
    assert code == 1  # FAILs at or above the default --fail-on
