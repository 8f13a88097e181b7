"""What the CloudTrail checks know about trails: which trails cover an account, and what they record.

Shared, so it lives beside the check groups rather than in one of them: the
``cloudtrail`` checks judge trails, and the ``sensitive_data`` checks read the
account's own trails for their names and tags (``own_trails_in_region``). The
groups then never import each other (``.importlinter``, checks-acyclic).

Gathering (``DescribeTrails``, ``GetTrailStatus``, ``GetEventSelectors``) goes
through the cached reader, so the four CloudTrail checks share one call per
trail. Judging what a trail records follows CloudTrail's own semantics for basic
event selectors (``IncludeManagementEvents``, ``ReadWriteType``,
``ExcludeManagementEventSources``) and advanced event selectors (field selectors
ANDed within a selector, selectors ORed, every operator).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from scanner.aws import AwsReader
from scanner.findings import describe_failure, one_line
from scanner.errors import AwsError, MalformedResponse

KMS_EVENT_SOURCE = "kms.amazonaws.com"
#: A stand-in event source for "management events in general": one that no
#: selector of CloudTrail can exclude (only KMS and RDS Data API events can be).
ANY_MANAGEMENT_SOURCE = "iam.amazonaws.com"

#: IAM actions the trail gathering needs (every CloudTrail check declares them).
TRAIL_ACTIONS = ("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors")


@dataclass
class Trail:
    """One trail as the checks need it; ``error`` is set when its status or selectors could not be read."""

    arn: str
    name: str
    home_region: str
    multi_region: bool
    organization_trail: bool
    log_file_validation: bool
    kms_key_id: str | None
    owner_account: str
    is_logging: bool | None = None
    basic_selectors: list[Mapping[str, Any]] = field(default_factory=list)
    advanced_selectors: list[Mapping[str, Any]] = field(default_factory=list)
    error: Exception | None = None

    kind = "trail"

    def covers_region(self, region: str) -> bool:
        return self.multi_region or self.home_region == region

    def records_management(self, event_source: str, read_only: bool) -> bool:
        """True when the trail records management events from ``event_source`` of this read/write kind."""
        if self.advanced_selectors:
            event = {"eventCategory": "Management", "eventSource": event_source, "readOnly": "true" if read_only else "false"}
            return any(advanced_selector_matches(selector, event) for selector in self.advanced_selectors)
        for selector in self.basic_selectors:
            if not selector.get("IncludeManagementEvents", True):
                continue
            if event_source in (selector.get("ExcludeManagementEventSources") or []):
                continue
            read_write = selector.get("ReadWriteType", "All")
            if read_write == "All" or read_write == ("ReadOnly" if read_only else "WriteOnly"):
                return True
        return False

    def records_all_management(self, event_source: str = ANY_MANAGEMENT_SOURCE) -> bool:
        return self.records_management(event_source, True) and self.records_management(event_source, False)

    def summary(self) -> dict[str, Any]:
        """Evidence about the trail (no sensitive values: ARNs and flags)."""
        return {
            "trail_arn": self.arn,
            "home_region": self.home_region,
            "is_multi_region_trail": self.multi_region,
            "is_organization_trail": self.organization_trail,
            "is_logging": self.is_logging,
            "selectors": "advanced" if self.advanced_selectors else "basic",
        }


_OPERATORS = ("Equals", "NotEquals", "StartsWith", "NotStartsWith", "EndsWith", "NotEndsWith")


def advanced_selector_matches(selector: Mapping[str, Any], event: Mapping[str, str]) -> bool:
    """True when every field selector of an advanced event selector accepts ``event``."""
    field_selectors = selector.get("FieldSelectors")
    if not isinstance(field_selectors, list):
        raise MalformedResponse("advanced event selector without a FieldSelectors list")
    for field_selector in field_selectors:
        if not isinstance(field_selector, Mapping) or not isinstance(field_selector.get("Field"), str):
            raise MalformedResponse("advanced field selector without a Field")
        value = event.get(field_selector["Field"])
        for operator in _OPERATORS:
            operands = field_selector.get(operator)
            if operands is None:
                continue
            if not isinstance(operands, list) or not all(isinstance(o, str) for o in operands):
                raise MalformedResponse(f"advanced field selector {field_selector['Field']}: {operator} is not a list of strings")
            if not _operator_accepts(operator, operands, value):
                return False
    return True


def _operator_accepts(operator: str, operands: list[str], value: str | None) -> bool:
    if value is None:
        # The event has no such field (e.g. resources.type on a management event):
        # positive operators cannot match it, negative ones let it through.
        return operator.startswith("Not")
    if operator == "Equals":
        return value in operands
    if operator == "NotEquals":
        return value not in operands
    if operator == "StartsWith":
        return any(value.startswith(o) for o in operands)
    if operator == "NotStartsWith":
        return not any(value.startswith(o) for o in operands)
    if operator == "EndsWith":
        return any(value.endswith(o) for o in operands)
    return not any(value.endswith(o) for o in operands)


def _parse_trail(raw: Any) -> Trail:
    if not isinstance(raw, Mapping):
        raise MalformedResponse("DescribeTrails returned a trail that is not an object")
    arn, name, home = raw.get("TrailARN"), raw.get("Name"), raw.get("HomeRegion")
    if not all(isinstance(v, str) and v for v in (arn, name, home)):
        raise MalformedResponse("DescribeTrails returned a trail without TrailARN, Name or HomeRegion")
    parts = arn.split(":")
    if len(parts) < 6 or not parts[0] == "arn":
        raise MalformedResponse("DescribeTrails returned a TrailARN that is not an ARN")
    return Trail(
        arn=arn,
        name=name,
        home_region=home,
        multi_region=bool(raw.get("IsMultiRegionTrail", False)),
        organization_trail=bool(raw.get("IsOrganizationTrail", False)),
        log_file_validation=bool(raw.get("LogFileValidationEnabled", False)),
        kms_key_id=raw.get("KmsKeyId") or None,
        owner_account=parts[4],
    )


def describe_trails(reader: AwsReader, region: str, include_shadow_trails: bool) -> list[Trail]:
    """The trails DescribeTrails shows in ``region`` (raises AwsError); a malformed entry is a trail whose ``error`` says why."""
    answer = reader.call("cloudtrail", "describe_trails", region=region, includeShadowTrails=include_shadow_trails)
    trail_list = answer.get("trailList")
    if not isinstance(trail_list, list):
        raise MalformedResponse("DescribeTrails answer has no trailList")
    trails = []
    for position, raw in enumerate(trail_list):
        try:
            trails.append(_parse_trail(raw))
        except MalformedResponse as error:
            # Kept as an unreadable trail: it may be the one that qualifies, but another may qualify anyway.
            trails.append(Trail(arn=f"trailList[{position}]", name=f"trailList[{position}]", home_region=region, multi_region=False,
                                organization_trail=False, log_file_validation=False, kms_key_id=None, owner_account="",
                                error=error))
    return trails


def own_trails_in_region(reader: AwsReader, region: str, account_id: str) -> list[Trail | MalformedResponse]:
    """The trails whose home is ``region`` and that this account owns; a malformed entry is kept as its error.

    Each trail is judged once, in its home region, by the account that owns it
    (an organization trail by the management account). The answer with shadow
    trails is read and filtered here, not one without them: it holds every trail
    the other answer would, and :func:`trails_covering_account` reads it anyway,
    so the target's cache answers both with one DescribeTrails.
    """
    answer = reader.call("cloudtrail", "describe_trails", region=region, includeShadowTrails=True)
    trail_list = answer.get("trailList")
    if not isinstance(trail_list, list):
        raise MalformedResponse("DescribeTrails answer has no trailList")
    trails: list[Trail | MalformedResponse] = []
    for raw in trail_list:
        try:
            trail = _parse_trail(raw)
        except MalformedResponse as error:
            trails.append(error)
            continue
        if trail.home_region == region and trail.owner_account == account_id:
            trails.append(trail)
    return trails


def load_state(reader: AwsReader, trail: Trail) -> Trail:
    """The trail with its logging status and event selectors read (in its home region); errors are kept on it."""
    try:
        status = reader.call("cloudtrail", "get_trail_status", region=trail.home_region, Name=trail.arn)
        logging = status.get("IsLogging")
        if not isinstance(logging, bool):
            raise MalformedResponse(f"GetTrailStatus of {trail.arn} has no boolean IsLogging")
        trail.is_logging = logging
        selectors = reader.call("cloudtrail", "get_event_selectors", region=trail.home_region, TrailName=trail.arn)
        basic = selectors.get("EventSelectors") or []
        advanced = selectors.get("AdvancedEventSelectors") or []
        if not isinstance(basic, list) or not isinstance(advanced, list) or not all(isinstance(s, Mapping) for s in basic + advanced):
            raise MalformedResponse(f"GetEventSelectors of {trail.arn} is not a list of selectors")
        trail.basic_selectors, trail.advanced_selectors = basic, advanced
    except Exception as error:  # noqa: BLE001 - an answer the SDK cannot even parse makes this trail unreadable, not the others
        trail.error = error
    return trail


def trails_covering_account(ctx: Any, region: str) -> list[Trail]:
    """Every trail that logs this account as seen from ``region``, with status and selectors.

    The account's own trails, including shadow copies of multi-Region trails and
    of organization trails that AWS shows a member. In organization mode the
    management account's organization trails are added from there, since they
    cover every member whatever the member itself is shown.
    """
    trails: dict[str, Trail] = {}
    for trail in describe_trails(ctx.aws, region, include_shadow_trails=True):
        trails.setdefault(trail.arn, trail if trail.error is not None else load_state(ctx.aws, trail))
    organization = getattr(ctx, "organization", None)
    if ctx.scan_mode == "organization" and organization is not None and organization.management is not None:
        management = organization.management
        try:
            management_trails = describe_trails(management, region, include_shadow_trails=True)
        except (AwsError, MalformedResponse) as error:
            # The member's own trails may still qualify; the gap only matters if none does.
            unreadable = Trail(
                arn=f"organization trails of {organization.management_account_id or 'the management account'}",
                name="organization trails", home_region=region, multi_region=False, organization_trail=True,
                log_file_validation=False, kms_key_id=None, owner_account=organization.management_account_id or "",
                error=error,
            )
            trails[unreadable.arn] = unreadable
            management_trails = []
        for trail in management_trails:
            if trail.organization_trail and trail.arn not in trails:
                trails[trail.arn] = load_state(management, trail)
    return list(trails.values())


def management_coverage(trail: Trail, event_source: str, redact: Callable[[str], str | None]) -> tuple[bool, bool] | None:
    """``(records read events, records write events)`` from ``event_source``; ``None`` when the trail cannot be judged.

    Selectors of a shape CloudTrail never returns (a number where a list
    belongs, say) make this trail unreadable, kept as its ``error``, instead of
    ending the judgement of every other trail: another trail may still qualify.
    ``redact`` masks sensitive data in the trail's ARN for that error (the
    caller's: this module imports no check group).
    """
    if trail.error is not None:
        return None
    try:
        return trail.records_management(event_source, True), trail.records_management(event_source, False)
    except Exception as error:  # noqa: BLE001 - one trail's malformed selectors never hide the others
        trail.error = MalformedResponse(f"event selectors of {redact(trail.arn)} cannot be judged: "
                                        f"{one_line(describe_failure(error), 200)}")
        return None


def first_error(trails: Iterable[Trail]) -> Exception | None:
    return next((t.error for t in trails if t.error is not None), None)


# -- CloudTrail Lake event data stores ---------------------------------------------------------------

#: IAM actions reading CloudTrail Lake event data stores (the two account-wide CloudTrail checks declare them).
EVENT_DATA_STORE_ACTIONS = ("cloudtrail:ListEventDataStores", "cloudtrail:GetEventDataStore")
#: botocore's EventDataStoreStatus; any other answer is reported as "unrecognised", never echoed.
EVENT_DATA_STORE_STATES = frozenset(
    {"CREATED", "ENABLED", "PENDING_DELETION", "STARTING_INGESTION", "STOPPING_INGESTION", "STOPPED_INGESTION"}
)


@dataclass
class EventDataStore:
    """A CloudTrail Lake event data store as the checks need it; ``error`` is set when it could not be read.

    It offers the same questions as :class:`Trail` (``covers_region``,
    ``records_management``, ``is_logging``, ``summary``) so a check can judge
    trails and stores alike. A store only has advanced event selectors.
    """

    arn: str
    name: str
    home_region: str
    multi_region: bool = False
    organization_trail: bool = False  # OrganizationEnabled; named as on Trail so checks read both alike
    status: str | None = None
    advanced_selectors: list[Mapping[str, Any]] = field(default_factory=list)
    error: Exception | None = None

    kind = "event data store"

    @property
    def is_logging(self) -> bool | None:
        """True only while the store ingests events: every other status (CREATED, STOPPED_INGESTION, ...) records nothing new."""
        return None if self.status is None else self.status == "ENABLED"

    def covers_region(self, region: str) -> bool:
        return self.multi_region or self.home_region == region

    def records_management(self, event_source: str, read_only: bool) -> bool:
        """True when an advanced selector of the store takes management events from ``event_source`` of this kind."""
        event = {"eventCategory": "Management", "eventSource": event_source, "readOnly": "true" if read_only else "false"}
        return any(advanced_selector_matches(selector, event) for selector in self.advanced_selectors)

    def records_all_management(self, event_source: str = ANY_MANAGEMENT_SOURCE) -> bool:
        return self.records_management(event_source, True) and self.records_management(event_source, False)

    def summary(self) -> dict[str, Any]:
        """Evidence about the store (no sensitive values: ARN, status and flags)."""
        return {
            "event_data_store_arn": self.arn,
            "home_region": self.home_region,
            "multi_region_enabled": self.multi_region,
            "organization_enabled": self.organization_trail,
            "status": self.status if self.status is None or self.status in EVENT_DATA_STORE_STATES else "unrecognised",
        }


def _read_event_data_store(reader: AwsReader, region: str, entry: Any, position: int) -> EventDataStore:
    """One listed store with its GetEventDataStore answer; a read that fails is kept on it as ``error``."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("EventDataStoreArn"), str):
        return EventDataStore(arn=f"EventDataStores[{position}] in {region}", name="", home_region=region,
                              error=MalformedResponse("ListEventDataStores returned a store without EventDataStoreArn"))
    arn = entry["EventDataStoreArn"]
    store = EventDataStore(arn=arn, name=str(entry.get("Name") or arn.rsplit("/", 1)[-1]), home_region=region)
    try:
        # ListEventDataStores no longer returns selectors, status or flags (deprecated members): read each store.
        answer = reader.call("cloudtrail", "get_event_data_store", region=region, EventDataStore=arn)
        selectors = answer.get("AdvancedEventSelectors") or []
        status = answer.get("Status")
        if not isinstance(selectors, list) or not all(isinstance(s, Mapping) for s in selectors) or not isinstance(status, str):
            raise MalformedResponse(f"GetEventDataStore of {arn} has no Status or no list of AdvancedEventSelectors")
        store.status = status
        store.advanced_selectors = selectors
        store.multi_region = answer.get("MultiRegionEnabled") is True
        store.organization_trail = answer.get("OrganizationEnabled") is True
        # A malformed selector is an unreadable store, found here rather than while judging.
        store.records_management(KMS_EVENT_SOURCE, True)
    except (AwsError, MalformedResponse) as error:
        store.error = error
    return store


def event_data_stores_in_region(reader: AwsReader, region: str) -> list[EventDataStore]:
    """The event data stores whose home is ``region`` in the reader's account (raises AwsError for the list).

    ListEventDataStores answers "all event data stores in the account, in the
    current Region": a multi-Region store is listed in its home region only.
    """
    stores: list[EventDataStore] = []
    token: str | None = None
    while True:
        params = {"NextToken": token} if token else {}
        answer = reader.call("cloudtrail", "list_event_data_stores", region=region, **params)
        entries = answer.get("EventDataStores") or []
        if not isinstance(entries, list):
            raise MalformedResponse("ListEventDataStores answer has no EventDataStores list")
        stores.extend(_read_event_data_store(reader, region, entry, len(stores)) for entry in entries)
        token = answer.get("NextToken")
        if not token:
            return stores


def event_data_stores_unless_a_trail_qualifies(ctx: Any, region: str, trails: Iterable[Trail],
                                               qualifies: Callable[[Trail], bool]) -> tuple[list[EventDataStore], bool]:
    """The event data stores covering the account in ``region``, and whether they were read at all.

    CloudTrail Lake is read only when no trail qualifies: a qualifying trail settles the verdict, and most
    organizations log with trails, so most accounts are spared the event data store reads.
    """
    if any(qualifies(trail) for trail in trails):
        return [], False
    return event_data_stores_covering_account(ctx, region), True


def event_data_stores_covering_account(ctx: Any, region: str) -> list[EventDataStore]:
    """Every CloudTrail Lake event data store that may record this account's events in ``region``.

    The account's own stores, looked for in every scanned region (a store is
    listed only in its home region, and a multi-Region one covers the others).
    Member accounts cannot see their organization's event data stores (CloudTrail
    User Guide, "Understanding organization event data stores"), so in
    organization mode the management account's organization stores are added,
    read from there; a store a delegated administrator creates lives in the
    management account too. An unreadable list is kept as a store with ``error``.
    """
    regions = tuple(dict.fromkeys((region, *(getattr(ctx, "scan_regions", ()) or ()))))
    readers: list[tuple[Any, str, bool]] = [(ctx.aws, ctx.account_id, False)]
    organization = getattr(ctx, "organization", None)
    if (ctx.scan_mode == "organization" and organization is not None and organization.management is not None
            and organization.management_account_id != ctx.account_id):
        readers.append((organization.management, organization.management_account_id or "the management account", True))
    stores: dict[str, EventDataStore] = {}
    for reader, owner, organization_only in readers:
        for home in regions:
            try:
                found = event_data_stores_in_region(reader, home)
            except (AwsError, MalformedResponse) as error:
                unreadable = EventDataStore(arn=f"event data stores of {owner} in {home}", name="event data stores",
                                            home_region=home, error=error)
                stores[unreadable.arn] = unreadable
                continue
            for store in found:
                if organization_only and store.error is None and not store.organization_trail:
                    continue
                if store.error is not None or store.covers_region(region):
                    stores.setdefault(store.arn, store)
    return list(stores.values())
