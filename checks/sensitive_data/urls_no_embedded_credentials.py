"""No URL given to a service (SNS HTTP/S subscriptions, EventBridge API destinations) carries credentials."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from checks.sensitive_data import patterns
from checks.sensitive_data.detector import DETECTOR_OPTION_SCHEMAS, SensitiveDataDetector, detector_from_options, mask, redact_identifier
from scanner.errors import AwsError, MalformedResponse, ServiceNotAvailable
from scanner.findings import describe_failure, error_kind, judge_apart, one_line, resource_error
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check
from scanner.options import option_values

METADATA = CheckMetadata(
    id="urls_no_embedded_credentials",
    title="URLs given to services carry no credentials",
    severity=Severity.HIGH,
    service="multiple",
    resource_type="Other",
    scope=Scope.REGIONAL,
    rationale=(
        "A URL is configuration, shown in consoles, returned by list and describe calls, and written to CloudTrail; "
        "AWS's data-protection guidance says never to put credential information in a URL given to a service. "
        "user:password@ in an SNS HTTPS subscription or a token in an EventBridge API destination's query string is "
        "readable by everyone who can read that configuration."
    ),
    remediation=Remediation(
        text=(
            "EventBridge: keep the URL plain and put the credential in the API destination's connection (API key, basic "
            "or OAuth authorization, stored in Secrets Manager). SNS: subscribe the plain HTTPS URL and authenticate "
            "deliveries by verifying SNS's message signature at the endpoint. Then rotate the exposed credential."
        ),
        cli=(
            "aws events update-api-destination --name <name> --invocation-endpoint https://<host>/<path> "
            "--connection-arn <connection-with-auth>; aws sns unsubscribe --subscription-arn <arn> && "
            "aws sns subscribe --topic-arn <topic> --protocol https --notification-endpoint https://<host>/<path>"
        ),
        url="https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection.html",
    ),
    iam_actions=("sns:ListSubscriptions", "sns:GetSubscriptionAttributes", "events:ListApiDestinations"),
    option_schemas={
        **DETECTOR_OPTION_SCHEMAS,
        # Query parameters that are not credentials in your URLs.
        "allow_query_parameters": {"type": "array", "items": {"type": "string"}, "default": []},
    },
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html",
    ),
)

def credentials_in_url(url: str, detector: SensitiveDataDetector, allowed_parameters: frozenset[str]) -> list[dict[str, str]]:
    """Where a URL carries credentials: the userinfo password, credential query values, or known token formats."""
    found: list[dict[str, str]] = []
    spans: list[tuple[int, int]] = []
    for start, end, place in patterns.url_credential_parts(url):
        if place.startswith("query:") and patterns.normalise_name(place[6:]) in allowed_parameters:
            continue
        if detector.is_allowed(url) or detector.is_allowed(url[start:end]):
            continue
        spans.append((start, end))
        found.append({"location": place, "kind": "url_credentials", "preview": mask(url[start:end])})
    # A token in the path (a Slack webhook, a key in the path) is just as exposed.
    for start, end, kind in detector.spans(url):
        if kind in patterns.SECRET_KINDS and kind != "url_credentials" and not any(patterns.overlaps((start, end), s) for s in spans):
            found.append({"location": "path", "kind": kind, "preview": mask(url[start:end])})
    return found


def redact_url(url: str) -> str:
    """The URL with every credential replaced by its masked preview (for resource ids and evidence)."""
    pieces, cursor = [], 0
    for start, end, _place in sorted(patterns.url_credential_parts(url)):
        if start < cursor:
            continue
        pieces += [url[cursor:start], mask(url[start:end])]
        cursor = end
    pieces.append(url[cursor:])
    return redact_identifier("".join(pieces)) or ""


def _finding(resource_id: str, resource_arn: str | None, resource_type: str, region: str, url: str,
             detector: SensitiveDataDetector, allowed: frozenset[str], what: str) -> Finding:
    found = credentials_in_url(url, detector, allowed)
    shown_url = redact_url(url)
    evidence = {"url": shown_url}
    if not found:
        return Finding(Status.PASS, resource_id=resource_id, resource_arn=resource_arn, resource_type=resource_type,
                       region=region, message=f"{what} URL carries no credentials", evidence=evidence)
    places = ", ".join(sorted({f["location"] for f in found}))
    return Finding(Status.FAIL, resource_id=resource_id, resource_arn=resource_arn, resource_type=resource_type,
                   region=region, message=f"{what} URL carries credentials ({places})",
                   evidence={**evidence, "credentials": found})


def _sns_subscription(ctx: Any, subscription: Any, detector: SensitiveDataDetector, allowed: frozenset[str]) -> Finding | None:
    """The finding for one SNS subscription (``None``: not an HTTP/S one)."""
    if not isinstance(subscription, Mapping):
        raise MalformedResponse("ListSubscriptions returned a subscription that is not an object")
    if str(subscription.get("Protocol", "")).lower() not in ("http", "https"):
        return None
    arn, topic = subscription.get("SubscriptionArn"), subscription.get("TopicArn", "")
    endpoint = subscription.get("Endpoint")
    if isinstance(arn, str) and arn.startswith("arn:"):
        # The full HTTPS URL is only guaranteed from GetSubscriptionAttributes.
        try:
            attributes = ctx.aws.call("sns", "get_subscription_attributes", SubscriptionArn=arn).get("Attributes") or {}
        except AwsError as error:
            shown = redact_identifier(arn)
            return resource_error(shown, error, resource_arn=shown, resource_type="AWS::SNS::Subscription", region=ctx.region,
                                  doing="could not read the subscription's endpoint", redact_text=redact_identifier)
        endpoint = attributes.get("Endpoint", endpoint)
    if not isinstance(endpoint, str):
        raise MalformedResponse("an HTTP/S subscription without an Endpoint")
    if isinstance(arn, str) and arn.startswith("arn:"):
        resource_id = resource_arn = redact_identifier(arn)
    else:  # PendingConfirmation: no ARN yet
        resource_id, resource_arn = f"{redact_identifier(str(topic))}|pending|{redact_url(endpoint)}", None
    return _finding(resource_id, resource_arn, "AWS::SNS::Subscription", ctx.region, endpoint, detector, allowed,
                    "SNS subscription endpoint")


def _sns(ctx: Any, detector: SensitiveDataDetector, allowed: frozenset[str]) -> Iterator[Finding]:
    for page in ctx.aws.stream("sns", "list_subscriptions"):
        for position, subscription in enumerate(page.get("Subscriptions", [])):
            arn = subscription.get("SubscriptionArn") if isinstance(subscription, Mapping) else None
            shown = redact_identifier(arn) if isinstance(arn, str) and arn else f"Subscriptions[{position}]"
            yield from judge_apart(shown, lambda: _sns_subscription(ctx, subscription, detector, allowed),
                                   resource_arn=shown if shown.startswith("arn:") else None,
                                   resource_type="AWS::SNS::Subscription", region=ctx.region, redact_text=redact_identifier)


def _api_destinations(ctx: Any, detector: SensitiveDataDetector, allowed: frozenset[str]) -> Iterator[Finding]:
    # botocore has no paginator for ListApiDestinations: follow NextToken by hand.
    token = None
    seen_tokens: set[str] = set()
    while True:
        page = ctx.aws.call("events", "list_api_destinations", **({"NextToken": token} if token else {}))
        for position, destination in enumerate(page.get("ApiDestinations", [])):
            named = destination.get("ApiDestinationArn") or destination.get("Name") if isinstance(destination, Mapping) else None
            arn = redact_identifier(str(named)) if named else f"ApiDestinations[{position}]"

            def judge_destination(destination: Any = destination, arn: str = arn) -> Finding:
                if not isinstance(destination, Mapping) or not isinstance(destination.get("InvocationEndpoint"), str):
                    raise MalformedResponse("ListApiDestinations returned a destination without InvocationEndpoint")
                return _finding(arn, arn if arn.startswith("arn:") else None, "AWS::Events::ApiDestination", ctx.region,
                                destination["InvocationEndpoint"], detector, allowed, "EventBridge API destination")

            yield from judge_apart(arn, judge_destination, resource_arn=arn if arn.startswith("arn:") else None,
                                   resource_type="AWS::Events::ApiDestination", region=ctx.region, redact_text=redact_identifier)
        token = page.get("NextToken")
        if not token:
            return
        if token in seen_tokens:
            raise MalformedResponse("ListApiDestinations returned the same NextToken twice")
        seen_tokens.add(token)


@check(METADATA)
def urls_no_embedded_credentials(ctx):
    detector = detector_from_options(METADATA, ctx.options)
    allowed = frozenset(patterns.normalise_name(p) for p in option_values(METADATA, ctx.options)["allow_query_parameters"])
    for action, produce in (("sns:ListSubscriptions", _sns), ("events:ListApiDestinations", _api_destinations)):
        try:
            yield from produce(ctx, detector, allowed)
        except ServiceNotAvailable:
            continue
        except Exception as error:  # noqa: BLE001 - a source that cannot be read (or parsed) never hides the other source
            yield Finding(Status.ERROR, resource_id=action, region=ctx.region,
                          message=one_line(redact_identifier(f"could not read URLs through {action}: {describe_failure(error)}") or ""),
                          evidence={"source": action, "error_kind": error_kind(error)})
