"""A logging trail covering the region records KMS management events (how key use is monitored)."""
from __future__ import annotations

from checks.trails import (
    EVENT_DATA_STORE_ACTIONS,
    KMS_EVENT_SOURCE,
    TRAIL_ACTIONS,
    event_data_stores_unless_a_trail_qualifies,
    first_error,
    management_coverage,
    trails_covering_account,
)
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
        "both must be recorded. A CloudTrail Lake event data store that is ingesting (ENABLED), covers the region "
        "and records those events counts as a trail does; an organization event data store covers every member."
    ),
    remediation=Remediation(
        text=(
            "On a logging trail that covers the region, record all management events without excluding "
            "kms.amazonaws.com (remove it from ExcludeManagementEventSources, or from the advanced selector's "
            "eventSource NotEquals list); or do the same on a CloudTrail Lake event data store "
            "(aws cloudtrail update-event-data-store --advanced-event-selectors ...)."
        ),
        cli=(
            "aws cloudtrail put-event-selectors --trail-name <trail> "
            "--event-selectors '[{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true,"
            "\"ExcludeManagementEventSources\":[]}]'"
        ),
        url="https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html",
    ),
    iam_actions=TRAIL_ACTIONS + EVENT_DATA_STORE_ACTIONS,
    references=(
        "https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html",
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-lake-organizations.html",
    ),
)


@check(METADATA)
def cloudtrail_kms_events_logged(ctx):
    trails = [t for t in trails_covering_account(ctx, ctx.region) if t.covers_region(ctx.region)]
    coverage = {id(t): management_coverage(t, KMS_EVENT_SOURCE, redact_identifier) for t in trails}

    def qualifies(source) -> bool:
        return source.error is None and source.is_logging and all(coverage[id(source)])

    stores, stores_read = event_data_stores_unless_a_trail_qualifies(ctx, ctx.region, trails, qualifies)
    coverage.update((id(s), management_coverage(s, KMS_EVENT_SOURCE, redact_identifier)) for s in stores)

    def described(source, arn_field: str) -> dict:
        entry = {**source.summary(), arn_field: redact_identifier(source.arn)}
        if coverage[id(source)] is not None:
            entry["records_kms_read_events"], entry["records_kms_write_events"] = coverage[id(source)]
        return entry

    evidence = {
        "trails": [described(t, "trail_arn") for t in trails],
        "event_data_stores": [described(s, "event_data_store_arn") for s in stores],
        "event_data_stores_read": stores_read,
    }
    qualifying = [t for t in [*trails, *stores] if qualifies(t)]
    if qualifying:
        yield Finding(
            Status.PASS,
            resource_id=ctx.account_id,
            message=f"{qualifying[0].kind} {redact_identifier(qualifying[0].name)} records KMS read and write events in {ctx.region}",
            evidence={"qualifying_trails": [redact_identifier(t.arn) for t in qualifying], **evidence},
        )
        return
    error = first_error([*trails, *stores])
    if error is not None:
        raise error
    if not trails and not stores:
        message = f"no trail or event data store covers {ctx.region}, so KMS key use there is not logged"
    elif not any(t.is_logging for t in [*trails, *stores]):
        message = f"no trail or event data store covering {ctx.region} is logging"
    else:
        message = (
            f"no logging trail or event data store covering {ctx.region} records both read and write management "
            f"events from {KMS_EVENT_SOURCE}"
        )
    if ctx.scan_mode != "organization":
        # Members cannot see their organization's event data stores; only an organization scan reads them.
        message += " (an organization event data store is not visible from a member account)"
    yield Finding(Status.FAIL, resource_id=ctx.account_id, message=message, evidence=evidence)
