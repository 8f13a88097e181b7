"""Result documents for report tests, in the shape of results.json (schema version 1)."""
from __future__ import annotations

import copy
import itertools
from typing import Any, Iterable

from scanner.model import CheckMetadata, ComplianceMapping, Remediation, Scope, Severity, fingerprint

XSS_IMG = '"><img src=x onerror=window.__pwned=1>'
XSS_SCRIPT = "<script>window.__pwned=1</script>"

KMS_KEY_ROTATION = CheckMetadata(
    id="kms_key_rotation_enabled",
    title="KMS customer managed keys rotate yearly",
    severity=Severity.MEDIUM,
    service="kms",
    resource_type="AWS::KMS::Key",
    scope=Scope.REGIONAL,
    rationale="Rotating keys limits the data exposed if one key version leaks.",
    remediation=Remediation(
        text="Enable automatic rotation on the key.",
        cli="aws kms enable-key-rotation --key-id <key-id>",
        iac="EnableKeyRotation: true",
        url="https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
    ),
    iam_actions=("kms:ListKeys", "kms:GetKeyRotationStatus"),
    references=("https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",),
    compliance=(ComplianceMapping("CIS AWS Foundations Benchmark v3.0.0", "3.6"),),
)

TAGS_SENSITIVE = CheckMetadata(
    id="tags_no_sensitive_data",
    title="Resource tags hold no secrets or personal data",
    severity=Severity.HIGH,
    service="tagging",
    resource_type="AWS::::Resource",
    scope=Scope.REGIONAL,
    rationale="Tags are readable by anyone with tag:GetResources and appear in billing reports.",
    remediation=Remediation(text="Remove the value from the tag and store it in Secrets Manager."),
    iam_actions=("tag:GetResources",),
    references=("https://docs.aws.amazon.com/tag-editor/latest/userguide/best-practices-and-strats.html",),
)

ROOT_MFA = CheckMetadata(
    id="iam_root_mfa_enabled",
    title="The root user has MFA",
    severity=Severity.CRITICAL,
    service="iam",
    resource_type="AWS::::Account",
    scope=Scope.ACCOUNT,
    rationale="The root user can do anything in the account.",
    remediation=Remediation(text="Enable MFA for the root user.", cli="aws iam enable-mfa-device ..."),
    iam_actions=("iam:GetAccountSummary",),
    compliance=(ComplianceMapping("CIS AWS Foundations Benchmark v3.0.0", "1.5"),),
)

CHECKS = (KMS_KEY_ROTATION, TAGS_SENSITIVE, ROOT_MFA)
ACCOUNTS = (("111111111111", "management"), ("222222222222", "prod"), ("333333333333", "dev"))


def result(meta: CheckMetadata, status: str, account_id: str, region: str, resource_id: str,
           message: str = "", evidence: dict | None = None, resource_arn: str | None = None) -> dict[str, Any]:
    """One result record, the way the host writes it."""
    return {
        "check_id": meta.id,
        "status": status,
        "severity": meta.severity.value,
        "account_id": account_id,
        "region": region,
        "target_region": region,
        "resource_type": meta.resource_type,
        "resource_id": resource_id,
        "resource_arn": resource_arn,
        "message": message or f"{meta.title}: {status}",
        "evidence": evidence or {},
        "fingerprint": fingerprint(meta.id, account_id, region, resource_id),
        "title": meta.title,
        "service": meta.service,
    }


def document(results: Iterable[dict[str, Any]], accounts: Iterable[dict[str, Any]] | None = None,
             regions: tuple[str, ...] = ("us-east-1", "eu-west-1"), organization_id: str | None = "o-exampleorg1",
             checks: Iterable[CheckMetadata] = CHECKS) -> dict[str, Any]:
    """A whole result document around ``results``."""
    results = list(results)
    if accounts is None:
        accounts = [{"id": a, "name": n, "status": "scanned", "error": None} for a, n in ACCOUNTS]
    statuses = [r["status"] for r in results]
    return {
        "schema_version": 1,
        "tool": {"name": "orgscan", "version": "0.1.0"},
        "scan": {
            "id": "scan-20261128T210000Z-abc123",
            "started_at": "2026-11-28T21:00:00Z",
            "finished_at": "2026-11-28T21:05:00Z",
            "mode": "organization" if organization_id else "account",
            "organization_id": organization_id,
            "regions": list(regions),
            "checks": [meta.to_dict() for meta in checks],
            "accounts": list(accounts),
        },
        "results": results,
        "summary": {"total": len(results), **{s: statuses.count(s) for s in ("PASS", "FAIL", "ERROR", "NOT_APPLICABLE")}},
    }


def key_arn(account_id: str, region: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account_id}:key/{key_id}"


def sample_document() -> dict[str, Any]:
    """A small organization: every status, an errored and a skipped account, hostile strings in the data."""
    kms, tags, root = KMS_KEY_ROTATION, TAGS_SENSITIVE, ROOT_MFA
    results = [
        result(kms, "FAIL", "111111111111", "us-east-1", "1234abcd-0000-0000-0000-000000000001",
               "Key rotation is disabled", {"KeyRotationEnabled": False},
               key_arn("111111111111", "us-east-1", "1234abcd-0000-0000-0000-000000000001")),
        result(kms, "PASS", "111111111111", "eu-west-1", "1234abcd-0000-0000-0000-000000000002",
               "Key rotation is enabled", {"KeyRotationEnabled": True},
               key_arn("111111111111", "eu-west-1", "1234abcd-0000-0000-0000-000000000002")),
        result(kms, "NOT_APPLICABLE", "222222222222", "eu-west-1", "222222222222", "no resources"),
        result(tags, "FAIL", "222222222222", "us-east-1", f"i-0abc{XSS_IMG}",
               f"Tag 'note' looks like a password: {XSS_SCRIPT}",
               {"tag_key": XSS_SCRIPT, "tag_value": "****(masked, 12 chars)", "note": XSS_IMG},
               f"arn:aws:ec2:us-east-1:222222222222:instance/i-0abc{XSS_IMG}"),
        result(tags, "PASS", "111111111111", "us-east-1", "bucket-logs", "No sensitive tag values",
               {}, "arn:aws:s3:::bucket-logs"),
        result(root, "FAIL", "222222222222", "global", "222222222222", "The root user has no MFA",
               {"AccountMFAEnabled": 0}, "arn:aws:iam::222222222222:root"),
        result(root, "PASS", "111111111111", "global", "111111111111", "The root user has MFA",
               {"AccountMFAEnabled": 1}, "arn:aws:iam::111111111111:root"),
        result(kms, "ERROR", "222222222222", "us-east-1", "222222222222",
               "access denied to kms:ListKeys (AccessDeniedException)"),
    ]
    for meta in CHECKS:
        results.append(result(meta, "ERROR", "333333333333", meta.scope == Scope.ACCOUNT and "global" or "us-east-1",
                              "333333333333", "could not assume role OrganizationAccountAccessRole: AccessDenied"))
    accounts = [
        {"id": "111111111111", "name": "management", "status": "scanned", "error": None},
        {"id": "222222222222", "name": f"prod {XSS_IMG}", "status": "scanned", "error": None},
        {"id": "333333333333", "name": "dev", "status": "error",
         "error": "could not assume role OrganizationAccountAccessRole: AccessDenied"},
        {"id": "444444444444", "name": "closed", "status": "skipped", "error": "account is SUSPENDED"},
    ]
    return document(results, accounts=accounts)


def large_document(count: int, accounts: int = 50, fail_ratio: int = 3) -> dict[str, Any]:
    """``count`` results spread over ``accounts`` accounts and two regions; one in ``fail_ratio`` fails."""
    account_ids = [f"{100000000000 + n:012d}" for n in range(accounts)]
    regions = ("us-east-1", "eu-west-1")
    combos = itertools.cycle(itertools.product(account_ids, regions))
    results = []
    for n in range(count):
        account_id, region = next(combos)
        meta = CHECKS[n % 2]
        status = "FAIL" if n % fail_ratio == 0 else "PASS"
        key_id = f"key-{n:07d}"
        results.append(result(meta, status, account_id, region, key_id,
                              f"Key {key_id} rotation is {'disabled' if status == 'FAIL' else 'enabled'}",
                              {"KeyRotationEnabled": status == "PASS", "n": n},
                              key_arn(account_id, region, key_id)))
    accounts_entries = [{"id": a, "name": f"account-{i}", "status": "scanned", "error": None}
                        for i, a in enumerate(account_ids)]
    return document(results, accounts=accounts_entries, regions=regions)


def copy_of(doc: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(doc)
