"""Amazon Macie is enabled in the regions where DevOps Guru analyses resources."""
from __future__ import annotations

from typing import Any, Mapping

from checks.devopsguru.gather import GET_RESOURCE_COLLECTION, devops_guru_usage, integration_error, not_in_use_finding
from scanner.errors import AccessDenied, AwsError, MalformedResponse, ServiceNotAvailable
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

GET_MACIE_SESSION = "macie2:GetMacieSession"
SESSION_RESOURCE_ID = "macie-session"
SESSION_RESOURCE_TYPE = "AWS::Macie::Session"
#: The message AWS gives with AccessDeniedException to a caller whose account has no Macie session in the
#: region (never enabled, or disabled). Any other AccessDeniedException is the caller's own missing permission.
NOT_ENABLED_MESSAGE = "Macie is not enabled"
#: MacieStatus in the botocore macie2 model.
_STATUSES = frozenset({"ENABLED", "PAUSED"})

METADATA = CheckMetadata(
    id="macie_enabled",
    title="Amazon Macie is enabled where DevOps Guru analyses resources",
    severity=Severity.INFORMATIONAL,
    service="macie2",
    resource_type=SESSION_RESOURCE_TYPE,
    scope=Scope.REGIONAL,
    rationale=(
        "DevOps Guru's data-protection guidance recommends advanced managed security services such as Amazon Macie, "
        "which discovers and helps secure sensitive data stored in Amazon S3. A region whose applications DevOps Guru "
        "analyses is a region with workloads and their data; Macie works per account and region, so it has to be "
        "enabled (or the account added as a Macie member by the administrator account) in each of them. "
        "Informational: the guidance recommends Macie, it does not require it."
    ),
    remediation=Remediation(
        text=(
            "Enable Macie in the region, or, in an organization, let the delegated Macie administrator add the account as a "
            "member (which enables Macie for it); resume a suspended (PAUSED) Macie account."
        ),
        cli="aws macie2 enable-macie --region <region> --status ENABLED",
        url="https://docs.aws.amazon.com/macie/latest/user/getting-started.html",
    ),
    iam_actions=(GET_RESOURCE_COLLECTION, GET_MACIE_SESSION),
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/macie/latest/APIReference/macie.html",
        "https://docs.aws.amazon.com/macie/latest/user/accounts-mgmt-ao.html",
    ),
)


def _finding(status: Status, message: str, evidence: Mapping[str, Any]) -> Finding:
    return Finding(status, resource_id=SESSION_RESOURCE_ID, resource_type=SESSION_RESOURCE_TYPE, message=message, evidence=dict(evidence))


@check(METADATA)
def macie_enabled(ctx):
    try:
        usage = devops_guru_usage(ctx)
    except (MalformedResponse, AwsError) as error:
        yield integration_error(str(error))
        return
    if not usage.in_use:
        yield not_in_use_finding(usage)
        return
    evidence: dict[str, Any] = {"devops_guru": usage.evidence()}
    try:
        session = ctx.aws.call("macie2", "get_macie_session")
    except ServiceNotAvailable:
        yield _finding(Status.NOT_APPLICABLE, f"Amazon Macie is not offered in {ctx.region}", evidence)
        return
    except AccessDenied as error:
        if NOT_ENABLED_MESSAGE.lower() in str(error.detail).lower():
            evidence["GetMacieSession"] = f"{error.code}: {NOT_ENABLED_MESSAGE}"
            yield _finding(Status.FAIL, f"Amazon Macie is not enabled in {ctx.region}, where DevOps Guru analyses resources", evidence)
        else:
            yield _finding(Status.ERROR, f"cannot read the Macie session: {error}", evidence)
        return
    except AwsError as error:
        yield _finding(Status.ERROR, f"cannot read the Macie session: {error}", evidence)
        return
    status = session.get("status") if isinstance(session, Mapping) else None
    if status not in _STATUSES:
        yield _finding(Status.ERROR, f"GetMacieSession: unknown or missing status {status!r:.40}", evidence)
        return
    evidence["status"] = status
    frequency = session.get("findingPublishingFrequency")
    if isinstance(frequency, str):
        evidence["findingPublishingFrequency"] = frequency[:40]
    if status == "ENABLED":
        yield _finding(Status.PASS, f"Amazon Macie is enabled in {ctx.region}", evidence)
    else:
        yield _finding(Status.FAIL, f"Amazon Macie is suspended (PAUSED) in {ctx.region}, where DevOps Guru analyses resources", evidence)
