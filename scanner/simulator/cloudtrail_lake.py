"""CloudTrail Lake event data stores, which moto 5.2.1's CloudTrail does not have.

Only what orgscan reads is served: ``ListEventDataStores`` and ``GetEventDataStore``,
answered as AWS answers them:

- ``ListEventDataStores`` returns the stores of the caller's account in the
  current region only, with just ``EventDataStoreArn`` and ``Name``: AWS no
  longer returns the other members there (they are deprecated in the API
  reference), so a reader must call ``GetEventDataStore`` for each.
- An organization event data store lives in the management account and member
  accounts cannot see it ("Member accounts can't see the organization event
  data store", CloudTrail User Guide, "Understanding organization event data
  stores"), so a member's list never shows it and its ``GetEventDataStore``
  does not find it.
- A multi-Region store is still listed in its home region only (the API
  reference: "all event data stores in the account, in the current Region").

The stores are kept on moto's CloudTrail backend of the account and region, so
a simulator reset drops them with the rest.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError

#: The selector AWS gives an event data store created without any: every management event.
DEFAULT_ADVANCED_EVENT_SELECTORS = (
    {"Name": "Default management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
)


class EventDataStoreNotFoundException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("EventDataStoreNotFoundException", message)


class InvalidNextTokenException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("InvalidNextTokenException", message)


@dataclass
class StoredEventDataStore:
    arn: str
    name: str
    organization: bool
    multi_region: bool
    status: str
    advanced_event_selectors: list[dict[str, Any]] = field(default_factory=list)
    created: float = field(default_factory=time.time)

    def description(self) -> dict[str, Any]:
        """The store as GetEventDataStore returns it."""
        return {
            "EventDataStoreArn": self.arn,
            "Name": self.name,
            "Status": self.status,
            "AdvancedEventSelectors": self.advanced_event_selectors,
            "MultiRegionEnabled": self.multi_region,
            "OrganizationEnabled": self.organization,
            "BillingMode": "EXTENDABLE_RETENTION_PRICING",
            "RetentionPeriod": 366,
            "TerminationProtectionEnabled": True,
            "FederationStatus": "DISABLED",
            "CreatedTimestamp": self.created,
            "UpdatedTimestamp": self.created,
        }


def stores_of(backend: Any) -> dict[str, StoredEventDataStore]:
    """The event data stores kept on a moto CloudTrail backend (one account and region), by ARN."""
    stores = backend.__dict__.get("orgscan_event_data_stores")
    if stores is None:
        stores = backend.__dict__["orgscan_event_data_stores"] = {}
    return stores


def create_event_data_store(
    account_id: str, region: str, name: str, *, organization: bool, multi_region: bool, status: str,
    advanced_event_selectors: list[dict[str, Any]],
) -> StoredEventDataStore:
    """A new event data store in ``account_id``'s ``region``; the id is stable for the same name."""
    from moto.cloudtrail.models import cloudtrail_backends

    store_id = uuid.uuid5(uuid.NAMESPACE_URL, f"eventdatastore/{account_id}/{region}/{name}")
    store = StoredEventDataStore(
        arn=f"arn:aws:cloudtrail:{region}:{account_id}:eventdatastore/{store_id}",
        name=name,
        organization=organization,
        multi_region=multi_region,
        status=status,
        advanced_event_selectors=[dict(s) for s in advanced_event_selectors] or [dict(s) for s in DEFAULT_ADVANCED_EVENT_SELECTORS],
    )
    stores_of(cloudtrail_backends[account_id][region])[store.arn] = store
    return store


def list_event_data_stores(self: Any) -> str:
    """``ListEventDataStores`` on moto's CloudTrailResponse: ARN and name of this account's stores here."""
    stores = list(stores_of(self.cloudtrail_backend).values())
    max_results = self._get_param("MaxResults") or 1000
    token = self._get_param("NextToken")
    start = 0
    if token is not None:
        if not (isinstance(token, str) and token.startswith("page") and token[4:].isdigit()):
            raise InvalidNextTokenException("The NextToken is invalid.")
        start = int(token[4:])
    page = stores[start:start + int(max_results)]
    answer: dict[str, Any] = {"EventDataStores": [{"EventDataStoreArn": s.arn, "Name": s.name} for s in page]}
    if start + len(page) < len(stores):
        answer["NextToken"] = f"page{start + len(page)}"
    return json.dumps(answer)


def get_event_data_store(self: Any) -> str:
    """``GetEventDataStore`` on moto's CloudTrailResponse: by ARN or the ID suffix of the ARN."""
    wanted = self._get_param("EventDataStore") or ""
    for store in stores_of(self.cloudtrail_backend).values():
        if wanted in (store.arn, store.arn.rsplit("/", 1)[-1]):
            return json.dumps(store.description())
    raise EventDataStoreNotFoundException(f"The specified event data store {wanted} was not found.")


def install() -> None:
    """Teach moto's CloudTrail the two event data store reads."""
    from moto.cloudtrail.responses import CloudTrailResponse

    CloudTrailResponse.list_event_data_stores = list_event_data_stores  # type: ignore[attr-defined]
    CloudTrailResponse.get_event_data_store = get_event_data_store  # type: ignore[attr-defined]
