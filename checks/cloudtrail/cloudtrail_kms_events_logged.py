"""A logging trail covering the region records KMS management events (how key use is monitored)."""
from __future__ import annotations

from checks.cloudtrail.trails import KMS_EVENT_SOURCE, TRAIL_ACTIONS, first_error, management_coverage, trails_covering_account
from checks.sensitive_data.detector import redact_identifier
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

METADATA = CheckMetadata(
    id="cloudtrail_kms_events_logged",
    title="CloudTrail records AWS KMS events in the region",
    severity=Severity.HIGH,
    service="cloudtrail",
    resource_type="AWS::::Account",
    scope=Scope.REGIONAL,
    rationale=(
        "The use of a customer managed key (Decrypt, GenerateDataKey, CreateGrant by DevOps Guru and others) is only "
        "visible in CloudTrail's management events from kms.amazonaws.com. A trail can exclude them "
        "(ExcludeManagementEventSources, or an advanced selector on eventSource) to save cost; then nobody can "
        "see who used the key. Key use events are read-only events and key policy changes are write events, so "
        "both must be recorded."
    ),
    remediation=Remediation(
        text=(
            "On a logging trail that covers the region, record all management events without excluding "
            "kms.amazonaws.com (remove it from ExcludeManagementEventSources, or from the advanced selector's "
            "eventSource NotEquals list)."
        ),
        cli=(
            "aws cloudtrail put-event-selectors --trail-name <trail> "
            "--event-selectors '[{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true,"
            "\"ExcludeManagementEventSources\":[]}]'"
        ),
        url="https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html",
    ),
    iam_actions=TRAIL_ACTIONS,
    references=(
        "https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
    ),
)


@check(METADATA)
def cloudtrail_kms_events_logged(ctx):
    trails = [t for t in trails_covering_account(ctx, ctx.region) if t.covers_region(ctx.region)]
    coverage = {id(t): management_coverage(t, KMS_EVENT_SOURCE) for t in trails}
    evidence_trails = []
    for trail in trails:
        entry = {**trail.summary(), "trail_arn": redact_identifier(trail.arn)}
        if coverage[id(trail)] is not None:
            entry["records_kms_read_events"], entry["records_kms_write_events"] = coverage[id(trail)]
        evidence_trails.append(entry)
    qualifying = [t for t in trails if t.error is None and t.is_logging and all(coverage[id(t)])]
    if qualifying:
        yield Finding(
            Status.PASS,
            resource_id=ctx.account_id,
            message=f"trail {redact_identifier(qualifying[0].name)} records KMS read and write events in {ctx.region}",
            evidence={"qualifying_trails": [redact_identifier(t.arn) for t in qualifying], "trails": evidence_trails},
        )
        return
    error = first_error(trails)
    if error is not None:
        raise error
    if not trails:
        message = f"no trail covers {ctx.region}, so KMS key use there is not logged"
    elif not any(t.is_logging for t in trails):
        message = f"no trail covering {ctx.region} is logging"
    else:
        message = f"no logging trail covering {ctx.region} records both read and write management events from {KMS_EVENT_SOURCE}"
    yield Finding(Status.FAIL, resource_id=ctx.account_id, message=message, evidence={"trails": evidence_trails})
