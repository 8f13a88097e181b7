"""DevOps Guru still holds its grant on the customer managed key it is configured with (kms:ListGrants)."""
from __future__ import annotations

from checks.devopsguru.gather import (
    DESCRIBE_SERVICE_INTEGRATION,
    GET_RESOURCE_COLLECTION,
    UPDATE_INTEGRATION_CLI,
    customer_managed_key_or_finding,
)
from checks.kms.gather import DESCRIBE_KEY, LIST_GRANTS, GrantFacts, list_grants
from checks.kms_aliases import LIST_ALIASES
from checks.sensitive_data.detector import redact_identifier
from scanner.errors import AwsError, MalformedResponse
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

#: What DevOps Guru needs under its key: a data key to encrypt what it stores (GenerateDataKey) and Decrypt to read it.
REQUIRED_OPERATIONS = ("Decrypt", "GenerateDataKey")

METADATA = CheckMetadata(
    id="devopsguru_cmk_grant_present",
    title="DevOps Guru still holds its grant on its customer managed key",
    severity=Severity.HIGH,
    service="devops-guru",
    resource_type="AWS::KMS::Key",
    scope=Scope.REGIONAL,
    rationale=(
        "When DevOps Guru is configured with a customer managed key it creates a grant on the key (CreateGrant through "
        "kms:ViaService devops-guru) and uses it to encrypt and read the data it stores. AWS's guidance warns that revoking "
        "the grant leaves DevOps Guru unable to read that data. A key whose grant was revoked or retired, or a grant "
        "without Decrypt and GenerateDataKey, breaks DevOps Guru until the key is configured again."
    ),
    remediation=Remediation(
        text=(
            "Configure the key again with UpdateServiceIntegration, from a principal allowed kms:CreateGrant and "
            "kms:DescribeKey on it: DevOps Guru then creates its grant anew. Do not revoke DevOps Guru's grant "
            "(aws kms list-grants --key-id <key-arn> shows it)."
        ),
        cli="aws kms list-grants --key-id <key-arn>\n" + UPDATE_INTEGRATION_CLI,
        url="https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
    ),
    iam_actions=(GET_RESOURCE_COLLECTION, DESCRIBE_SERVICE_INTEGRATION, DESCRIBE_KEY, LIST_ALIASES, LIST_GRANTS),
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/kms/latest/developerguide/grants.html",
        "https://docs.aws.amazon.com/kms/latest/APIReference/API_ListGrants.html",
        "https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantListEntry.html",
    ),
)


def devops_guru_principals(region: str) -> frozenset[str]:
    """The spellings of DevOps Guru's service principal AWS documents (global, ``kms:ViaService`` and SNS topic policy forms)."""
    return frozenset({"devops-guru.amazonaws.com", f"devops-guru.{region}.amazonaws.com", f"{region}.devops-guru.amazonaws.com"})


def is_devops_guru_grant(grant: GrantFacts, region: str) -> bool:
    """Whether the grantee is DevOps Guru: ``GranteeServicePrincipal`` or ``GranteePrincipal`` names its service principal."""
    principals = devops_guru_principals(region)
    return any(p is not None and p.lower() in principals for p in (grant.grantee_service_principal, grant.grantee_principal))


def grant_evidence(grant: GrantFacts) -> dict:
    """One grant as evidence; the free-form name and principals are masked like resource names."""
    return {
        "GrantId": redact_identifier(grant.grant_id[:80]),
        "Name": redact_identifier(grant.name),
        "GranteePrincipal": redact_identifier(grant.grantee_principal),
        "GranteeServicePrincipal": redact_identifier(grant.grantee_service_principal),
        "Operations": [redact_identifier(op[:40]) for op in grant.operations[:30]],
        "has_constraints": grant.has_constraints,
    }


@check(METADATA)
def devopsguru_cmk_grant_present(ctx):
    key = customer_managed_key_or_finding(
        ctx,
        when_missing="DevOps Guru can hold no grant on its key",
        when_aws_managed="the configured key is AWS managed: DevOps Guru's grants are judged on customer managed keys only (devopsguru_cmk_key_usable fails it)",
    )
    if isinstance(key, Finding):
        yield key
        return
    arn = key.resource_arn
    evidence = key.evidence()
    try:
        grants = list_grants(ctx, key.facts.arn, region=key.facts.region)
    except (AwsError, MalformedResponse) as error:
        where = f" (the key is in account {key.facts.account_id}: scan that account, or allow kms:ListGrants to this one)" if key.facts.account_id != ctx.account_id else ""
        yield Finding(Status.ERROR, resource_id=arn, resource_arn=arn, message=f"cannot list the key's grants: {error}{where}", evidence=evidence)
        return
    ours = [g for g in grants if is_devops_guru_grant(g, ctx.region)]
    evidence["grant_count"] = len(grants)
    evidence["devops_guru_grants"] = [grant_evidence(g) for g in ours[:20]]
    evidence["required_operations"] = list(REQUIRED_OPERATIONS)
    evidence["devops_guru_principals"] = sorted(devops_guru_principals(ctx.region))
    complete = [g for g in ours if set(REQUIRED_OPERATIONS) <= set(g.operations)]
    if complete:
        yield Finding(
            Status.PASS,
            resource_id=arn,
            resource_arn=arn,
            message=f"DevOps Guru holds grant {redact_identifier(complete[0].grant_id[:80])} on its key with {', '.join(REQUIRED_OPERATIONS)}",
            evidence=evidence,
        )
        return
    if ours:
        missing = sorted(set(REQUIRED_OPERATIONS) - set().union(*(set(g.operations) for g in ours)))
        message = f"DevOps Guru's grant on its key lacks {', '.join(missing) or 'an operation it needs'} (no one grant allows {' and '.join(REQUIRED_OPERATIONS)})"
    else:
        message = (
            f"no grant on the key names DevOps Guru as grantee (of {len(grants)} grant(s)): its grant was revoked or retired, "
            "and DevOps Guru cannot read the data it encrypted"
        )
    yield Finding(Status.FAIL, resource_id=arn, resource_arn=arn, message=message, evidence=evidence)
