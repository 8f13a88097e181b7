"""Cached, read-only access to AWS for one account: the inventory layer checks read from.

Gathering is separate from judging: every describe/list call is made once per
account, region and parameters, however many checks use its answer. A
:class:`TargetCache` holds the answers (and the errors, so a denied call is not
repeated); an :class:`AwsReader` is one check's view of it, which refuses any
action the check has not declared, so the least-privilege policy generated from
the declarations is always complete.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

import botocore.exceptions
from botocore import xform_name

from scanner.errors import AccessDenied, AwsError, ServiceNotAvailable, UndeclaredAction

#: IAM action prefixes where they differ from the botocore service name.
IAM_PREFIXES = {
    "resourcegroupstaggingapi": "tag",
    "devops-guru": "devops-guru",
    "logs": "logs",
    "cloudwatch": "cloudwatch",  # endpoint prefix "monitoring"
    "ecr": "ecr",  # "api.ecr"
    "ecr-public": "ecr-public",  # "api.ecr-public"
    "sagemaker": "sagemaker",  # "api.sagemaker"
    "ses": "ses",  # "email"
    "sesv2": "ses",  # "email"
    "s3control": "s3",  # "s3-control"
}

#: Error codes AWS services use to say "access denied".
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "AuthorizationErrorException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
    }
)

ClientGetter = Callable[[str, str], Any]
"""``(service, region) -> botocore client`` for one account."""

ActionNamer = Callable[[str, str], str]
"""``(service, operation) -> IAM action``; raises AttributeError for an operation the service lacks."""


def iam_prefix(service: str, endpoint_prefix: str) -> str:
    """The IAM action prefix of a botocore service (``tag`` for ``resourcegroupstaggingapi``)."""
    return IAM_PREFIXES.get(service, endpoint_prefix)


class ActionNames:
    """An :data:`ActionNamer` that reads botocore's full service models (of ``session``), once per service."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._names: dict[str, dict[str, str]] = {}
        # Held while naming: 32 threads starting at once would each read EC2's model.
        self._lock = threading.Lock()

    def __call__(self, service: str, operation: str) -> str:
        with self._lock:
            names = self._names.get(service)
            if names is None:
                model = self._session.get_service_model(service)
                prefix = iam_prefix(service, model.endpoint_prefix)
                names = self._names[service] = {xform_name(name): f"{prefix}:{name}" for name in model.operation_names}
        action = names.get(operation)
        if action is None:
            raise AttributeError(f"{service} has no operation {operation!r}")
        return action


def action_allowed(action: str, allowed: frozenset[str]) -> bool:
    """Whether ``allowed`` (lower-case actions, ``service:*`` wildcards) lets ``action`` through."""
    lowered = action.lower()
    return lowered in allowed or f"{lowered.split(':', 1)[0]}:*" in allowed


def translate_client_error(action: str, error: botocore.exceptions.ClientError) -> AwsError:
    """Turn a botocore ClientError into orgscan's error that names the IAM action."""
    info = error.response.get("Error", {})
    code = str(info.get("Code", "Unknown"))
    # One line, bounded: a 5xx may carry a whole HTML page as its message.
    message = " ".join(str(info.get("Message", "")).split())[:300]
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ACCESS_DENIED_CODES or status == 403:
        return AccessDenied(action, code, message)
    return AwsError(action, code, message)


class TargetCache:
    """Answers of AWS calls for one account, shared by every check of that account.

    Thread-safe: concurrent checks asking the same question wait for one call.
    """

    def __init__(
        self,
        client_getter: ClientGetter,
        available_regions: Callable[[str], set[str] | None],
        action_namer: ActionNamer,
    ):
        self._client_getter = client_getter
        self._available_regions = available_regions
        self._action_namer = action_namer
        self._answers: dict[tuple, tuple[bool, Any]] = {}
        self._locks: dict[tuple, threading.Lock] = {}
        self._guard = threading.Lock()
        self.calls_made: dict[str, int] = {}

    def client(self, service: str, region: str) -> Any:
        regions = self._available_regions(service)
        if regions is not None and region not in regions:
            raise ServiceNotAvailable(service, region)
        return self._client_getter(service, region)

    def action(self, service: str, operation: str) -> str:
        """The IAM action of an operation, named without the account's client: that client may be built
        from a model that holds only the scan's declared operations."""
        return self._action_namer(service, operation)

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """The cached value for ``key``, computing it once; errors are cached too."""
        with self._guard:
            if key in self._answers:
                ok, value = self._answers[key]
                if ok:
                    return value
                raise value
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._answers:
                    ok, value = self._answers[key]
                    if ok:
                        return value
                    raise value
            try:
                value = compute()
            except (AwsError, ServiceNotAvailable) as error:
                with self._guard:
                    self._answers[key] = (False, error)
                raise
            with self._guard:
                self._answers[key] = (True, value)
            return value

    def count(self, action: str) -> None:
        with self._guard:
            self.calls_made[action] = self.calls_made.get(action, 0) + 1


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


class AwsReader:
    """One check's read-only view of one account's AWS answers.

    ``region`` is the default region of calls. ``allowed_actions`` is the check's
    declaration (``None`` allows anything: used by the host itself).
    """

    def __init__(
        self,
        cache: TargetCache,
        region: str,
        allowed_actions: frozenset[str] | None = None,
        check_id: str = "",
    ) -> None:
        self._cache = cache
        self.region = region
        self._allowed = None if allowed_actions is None else frozenset(a.lower() for a in allowed_actions)
        self._check_id = check_id
        self.actions_used: set[str] = set()

    def for_check(self, check_id: str, allowed_actions: tuple[str, ...], region: str | None = None) -> "AwsReader":
        """A view over the same cache, limited to a check's declared actions."""
        return AwsReader(self._cache, region or self.region, frozenset(allowed_actions), check_id)

    def _prepare(self, service: str, operation: str, region: str | None) -> tuple[Any, str, str]:
        region = region or self.region
        action = self._cache.action(service, operation)
        if self._allowed is not None and not action_allowed(action, self._allowed):
            raise UndeclaredAction(self._check_id, action)
        client = self._cache.client(service, region)
        if not hasattr(client, operation):
            # Only the host's own readers get here: a check's undeclared call was refused above.
            raise UndeclaredAction(self._check_id, action)
        self.actions_used.add(action)
        return client, action, region

    def call(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> dict:
        """The answer of one API call (snake_case operation, as in boto3), cached per target."""
        client, action, region = self._prepare(service, operation, region)

        def compute() -> dict:
            self._cache.count(action)
            try:
                response = getattr(client, operation)(**params)
            except botocore.exceptions.ClientError as error:
                raise translate_client_error(action, error) from None
            response.pop("ResponseMetadata", None)
            return response

        return self._cache.memo(("call", service, region, operation, _freeze(params)), compute)

    def pages(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> list[dict]:
        """Every page of a paginated call, cached per target."""
        client, action, region = self._prepare(service, operation, region)

        def compute() -> list[dict]:
            return list(self._fetch_pages(client, action, operation, params))

        return self._cache.memo(("pages", service, region, operation, _freeze(params)), compute)

    def collect(self, service: str, operation: str, result_key: str, *, region: str | None = None, **params: Any) -> list:
        """The items under ``result_key`` across every page, cached per target."""
        return [item for page in self.pages(service, operation, region=region, **params) for item in page.get(result_key, [])]

    def stream(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> Iterator[dict]:
        """Pages one at a time without caching them: for very large listings (tags of tens of thousands of resources)."""
        client, action, _ = self._prepare(service, operation, region)
        yield from self._fetch_pages(client, action, operation, params)

    def _fetch_pages(self, client: Any, action: str, operation: str, params: dict) -> Iterator[dict]:
        try:
            if client.can_paginate(operation):
                for page in client.get_paginator(operation).paginate(**params):
                    self._cache.count(action)
                    page.pop("ResponseMetadata", None)
                    yield page
            else:
                self._cache.count(action)
                page = getattr(client, operation)(**params)
                page.pop("ResponseMetadata", None)
                yield page
        except botocore.exceptions.ClientError as error:
            raise translate_client_error(action, error) from None
