"""Cached, read-only access to AWS for one account: the inventory layer checks read from.

Gathering is separate from judging: every describe/list call is made once per
account, region and parameters, however many checks use its answer. A
:class:`TargetCache` holds the answers (and the errors, so a denied call is not
repeated); an :class:`AwsReader` is one check's view of it, which refuses any
action the check has not declared, so the least-privilege policy generated from
the declarations is always complete.
"""
from __future__ import annotations

import fnmatch
import functools
import threading
from typing import Any, Callable, Iterator

import botocore.exceptions
from botocore import xform_name

from scanner.errors import AccessDenied, AwsError, ServiceNotAvailable, UndeclaredAction, UnmappedOperation
from scanner.iam_reference import IamReference, iam_reference, operation_actions

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

#: Error codes with which AWS says the credentials a request was signed with have expired: query and
#: XML services (STS, IAM, EC2, S3) say ExpiredToken, JSON services ExpiredTokenException (AWS's
#: "Common Errors"). Not RequestExpired: it names the request's date stamp (more than 15 minutes
#: off, a skewed clock), which new credentials do not change, and botocore signs every request anew.
EXPIRED_CREDENTIAL_CODES = frozenset({"ExpiredToken", "ExpiredTokenException"})

ClientGetter = Callable[[str, str], Any]
"""``(service, region) -> botocore client`` for one account."""

ActionNamer = Callable[[str, str], tuple[str, ...]]
"""``(service, snake_case operation) -> the IAM actions it needs``; raises AttributeError for an operation
the service lacks and :class:`scanner.errors.UnmappedOperation` for one with no known IAM action."""


class ActionNames:
    """An :data:`ActionNamer` over botocore's full service models (of ``session``) and AWS's IAM reference.

    Each (service, operation) is resolved once (:func:`scanner.iam_reference.required_actions`) and kept.
    """

    def __init__(self, session: Any, reference: IamReference | None = None) -> None:
        self._session = session
        self._reference = reference or iam_reference()
        self._operations: dict[str, dict[str, str]] = {}
        self._actions: dict[tuple[str, str], tuple[str, ...]] = {}
        # Held while naming: 32 threads starting at once would each read EC2's model.
        self._lock = threading.Lock()

    def __call__(self, service: str, operation: str) -> tuple[str, ...]:
        with self._lock:
            actions = self._actions.get((service, operation))
            if actions is not None:
                return actions
            names = self._operations.get(service)
            model = None
            if names is None:
                model = self._session.get_service_model(service)
                names = self._operations[service] = {xform_name(name): name for name in model.operation_names}
            name = names.get(operation)
            if name is None:
                raise AttributeError(f"{service} has no operation {operation!r}")
            model = model or self._session.get_service_model(service)
            resolved = operation_actions(service, model, name, self._reference)
            if resolved is None:
                raise UnmappedOperation(service, name)
            self._actions[(service, operation)] = resolved
            return resolved


def action_allowed(action: str, allowed: frozenset[str]) -> bool:
    """Whether ``allowed`` (lower-case actions, ``service:*`` or ``service:Get*`` patterns) lets ``action`` through."""
    lowered = action.lower()
    if lowered in allowed or f"{lowered.split(':', 1)[0]}:*" in allowed:
        return True
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in _patterns(allowed))


@functools.lru_cache(maxsize=64)
def _patterns(allowed: frozenset[str]) -> tuple[str, ...]:
    """The wildcard patterns among declared actions (few sets per scan; a frozenset keeps its hash)."""
    return tuple(pattern for pattern in allowed if "*" in pattern or "?" in pattern)


def action_label(actions: tuple[str, ...]) -> str:
    """How errors and counters name a call: its IAM action, or its actions joined by " and "."""
    return " and ".join(actions)


def credentials_expired(error: botocore.exceptions.ClientError) -> bool:
    """Whether AWS refused the request because the credentials it was signed with have expired."""
    return error.response.get("Error", {}).get("Code") in EXPIRED_CREDENTIAL_CODES


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
    ``renew_credentials`` fetches the account's credentials anew when AWS calls
    them expired, and says whether it could (``None``: they cannot be renewed).
    """

    def __init__(
        self,
        client_getter: ClientGetter,
        available_regions: Callable[[str], set[str] | None],
        action_namer: ActionNamer,
        renew_credentials: Callable[[], bool] | None = None,
    ):
        self._client_getter = client_getter
        self._available_regions = available_regions
        self._action_namer = action_namer
        self._renew_credentials = renew_credentials
        self._answers: dict[tuple, tuple[bool, Any]] = {}
        self._locks: dict[tuple, threading.Lock] = {}
        self._guard = threading.Lock()
        self.calls_made: dict[str, int] = {}

    def client(self, service: str, region: str) -> Any:
        regions = self._available_regions(service)
        if regions is not None and region not in regions:
            raise ServiceNotAvailable(service, region)
        return self._client_getter(service, region)

    def actions(self, service: str, operation: str) -> tuple[str, ...]:
        """The IAM actions an operation needs, named without the account's client: that client may be built
        from a model that holds only the scan's declared operations."""
        return self._action_namer(service, operation)

    def renew_credentials(self) -> bool:
        """Fetch the account's credentials anew after AWS called them expired; ``False`` when they cannot be.

        Renewing assumes the role again: a refusal raises :class:`AwsError` naming ``sts:AssumeRole``.
        """
        return self._renew_credentials is not None and self._renew_credentials()

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
        """``(client, action label, region)`` of a call whose every IAM action is declared."""
        region = region or self.region
        actions = self._cache.actions(service, operation)
        if self._allowed is not None:
            for action in actions:
                if not action_allowed(action, self._allowed):
                    raise UndeclaredAction(self._check_id, action, f"{service}.{operation}")
        client = self._cache.client(service, region)
        if not hasattr(client, operation):
            # Only the host's own readers get here: a check's undeclared call was refused above.
            raise UndeclaredAction(self._check_id, actions[0], f"{service}.{operation}")
        self.actions_used.update(actions)
        return client, action_label(actions), region

    def call(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> dict:
        """The answer of one API call (snake_case operation, as in boto3), cached per target."""
        client, action, region = self._prepare(service, operation, region)

        def compute() -> dict:
            self._cache.count(action)
            try:
                response = getattr(client, operation)(**params)
            except botocore.exceptions.ClientError as error:
                if not (credentials_expired(error) and self._cache.renew_credentials()):
                    raise translate_client_error(action, error) from None
                # Once: credentials that expire again at once make the call's ERROR, not a loop.
                self._cache.count(action)
                try:
                    response = getattr(client, operation)(**params)
                except botocore.exceptions.ClientError as again:
                    raise translate_client_error(action, again) from None
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
        """Every page, in order; credentials AWS calls expired are renewed once, and the listing goes on."""
        given = 0
        try:
            for page in self._request_pages(client, action, operation, params):
                given += 1
                yield page
            return
        except botocore.exceptions.ClientError as error:
            if not (credentials_expired(error) and self._cache.renew_credentials()):
                raise translate_client_error(action, error) from None
        # The listing starts again with the renewed credentials; the pages already given are
        # requested again (pagination tokens are the SDK's own) but not given twice.
        try:
            for index, page in enumerate(self._request_pages(client, action, operation, params)):
                if index >= given:
                    yield page
        except botocore.exceptions.ClientError as error:
            raise translate_client_error(action, error) from None

    def _request_pages(self, client: Any, action: str, operation: str, params: dict) -> Iterator[dict]:
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
