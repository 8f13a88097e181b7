"""At least one multi-Region trail is logging read and write management events for the account."""
from __future__ import annotations

from checks.trails import (
    ANY_MANAGEMENT_SOURCE,
    EVENT_DATA_STORE_ACTIONS,
    TRAIL_ACTIONS,
    event_data_stores_unless_a_trail_qualifies,
    first_error,
    management_coverage,
    trails_covering_account,
)
from checks.sensitive_data.detector import redact_identifier
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

METADATA = CheckMetadata(
    id="cloudtrail_multi_region_logging",
    title="A multi-Region CloudTrail trail or event data store logs read and write management events",
    severity=Severity.HIGH,
    service="cloudtrail",
    resource_type="AWS::::Account",
    scope=Scope.ACCOUNT,
    rationale=(
        "CloudTrail is the record of API and user activity, and the only way to see how a customer managed key "
        "(such as DevOps Guru's) is used. Without a multi-Region trail that is logging and records both read and "
        "write management events, activity in some Regions or of some kinds leaves no trace. An organization trail "
        "in the management account covers every member account. A CloudTrail Lake event data store that is "
        "multi-Region, ingesting (ENABLED) and records the same events counts as well; an organization event data "
        "store covers every member account."
    ),
    remediation=Remediation(
        text=(
            "Create (or update) a multi-Region trail that records all management events and start logging; in an "
            "organization, prefer one organization trail created from the management account."
        ),
        cli=(
            "aws cloudtrail create-trail --name org-trail --s3-bucket-name <log-bucket> --is-multi-region-trail "
            "--is-organization-trail --enable-log-file-validation --kms-key-id <key-arn> && "
            "aws cloudtrail put-event-selectors --trail-name org-trail "
            "--event-selectors '[{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true}]' && "
            "aws cloudtrail start-logging --name org-trail"
        ),
        url="https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html",
    ),
    iam_actions=TRAIL_ACTIONS + EVENT_DATA_STORE_ACTIONS,
    references=(
        "https://docs.aws.amazon.com/securityhub/latest/userguide/cloudtrail-controls.html#cloudtrail-1",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/logging-using-cloudtrail.html",
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-lake-organizations.html",
    ),
)


@check(METADATA)
def cloudtrail_multi_region_logging(ctx):
    trails = trails_covering_account(ctx, ctx.api_region)
    coverage = {id(t): management_coverage(t, ANY_MANAGEMENT_SOURCE, redact_identifier) for t in trails}

    def qualifies(source) -> bool:
        return source.error is None and source.multi_region and source.is_logging and all(coverage[id(source)])

    stores, stores_read = event_data_stores_unless_a_trail_qualifies(ctx, ctx.api_region, trails, qualifies)
    coverage.update((id(s), management_coverage(s, ANY_MANAGEMENT_SOURCE, redact_identifier)) for s in stores)
    qualifying = [t for t in [*trails, *stores] if qualifies(t)]
    evidence_trails = [
        {
            **t.summary(),
            "trail_arn": redact_identifier(t.arn),
            "records_read_management_events": None if coverage[id(t)] is None else coverage[id(t)][0],
            "records_write_management_events": None if coverage[id(t)] is None else coverage[id(t)][1],
        }
        for t in trails
    ]
    evidence_stores = [
        {
            **s.summary(),
            "event_data_store_arn": redact_identifier(s.arn),
            "records_read_management_events": None if coverage[id(s)] is None else coverage[id(s)][0],
            "records_write_management_events": None if coverage[id(s)] is None else coverage[id(s)][1],
        }
        for s in stores
    ]
    evidence = {"trails": evidence_trails, "event_data_stores": evidence_stores, "event_data_stores_read": stores_read}
    if qualifying:
        chosen = qualifying[0]
        yield Finding(
            Status.PASS,
            resource_id=ctx.account_id,
            message=(
                f"{'organization ' if chosen.organization_trail else ''}{chosen.kind} {redact_identifier(chosen.name)} is "
                "multi-Region, logging, and records read and write management events"
            ),
            evidence={"qualifying_trails": [redact_identifier(t.arn) for t in qualifying], **evidence},
        )
        return
    error = first_error([*trails, *stores])
    if error is not None:
        # A trail or event data store we could not read might be the one that qualifies: not a FAIL.
        raise error
    if not trails and not stores:
        message = "no CloudTrail trail or event data store logs this account"
    else:
        message = (
            f"none of the {len(trails)} trail(s) and {len(stores)} event data store(s) is multi-Region, logging, "
            "and recording both read and write management events"
        )
    if ctx.scan_mode != "organization":
        # Members cannot see their organization's event data stores; only an organization scan reads them.
        message += " (an organization event data store is not visible from a member account)"
    yield Finding(Status.FAIL, resource_id=ctx.account_id, message=message, evidence=evidence)
