"""Credentials and clients for every account of a scan.

One botocore session holds the caller's credentials (the standard chain:
``--profile``, environment, SSO, instance role). Every other account is reached
through ``sts:AssumeRole`` into ``arn:<partition>:iam::<id>:role/<role-name>``
with credentials that refresh themselves before they expire, so long scans
need no restart. Per-account sessions share the caller session's data loader:
building a full session per account was measured at about 0.45 s each, most of
it loading service models again.

Given the scan's declared actions, member accounts' clients are built from
service models that hold only those operations (:class:`DeclaredOperationsLoader`).
botocore builds a client class with a method per operation for every client it
creates; EC2 has more than 700 operations, and at 15 clients per account that
was about half of a scan's CPU. It also means a member account's clients cannot
make a call that no check declared.
"""
from __future__ import annotations

import os
import threading
import urllib.request
from typing import Any, Callable, Iterable

import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.hooks
import botocore.session

from scanner.aws import ActionNames, TargetCache, action_allowed, translate_client_error
from scanner.config import DEFAULT_ROLE_NAME, DEFAULT_ROLE_SESSION_NAME, ScanSettings
from scanner.iam_reference import HTTP_VERB_SERVICES, OPERATION_ACTIONS, iam_reference, prefix_candidates, required_actions
from scanner.errors import AccessDenied, AwsError, UsageError

DEFAULT_MAX_ATTEMPTS = 10
#: Connections per client: at least this many, more with ``--concurrency`` (its threads share the clients).
MIN_POOL_CONNECTIONS = 10


#: Operations botocore makes by itself in the course of other calls: S3 asks HeadBucket for a
#: bucket's region when a request went to the wrong one, and CreateSession for S3 Express.
SDK_OWN_OPERATIONS = {"s3": frozenset({"HeadBucket", "CreateSession"})}


class DeclaredOperationsLoader:
    """botocore's data loader, serving API models that hold only the declared operations.

    Everything but ``service-2`` models (endpoints, rules, paginators, waiters,
    retry settings) comes unchanged from the wrapped loader, as do the shapes an
    operation refers to. ``actions`` are IAM actions as checks declare them
    (``kms:ListKeys``, ``ec2:*``); an operation is kept when every IAM action it
    needs (:func:`scanner.iam_reference.required_actions`, as
    :class:`scanner.aws.ActionNames` names them) is declared.
    """

    def __init__(self, loader: Any, actions: Iterable[str]) -> None:
        self._loader = loader
        self._allowed = frozenset(action.lower() for action in actions)
        self._reference = iam_reference()
        self._models: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        model = self._loader.load_service_model(service_name, type_name, api_version)
        if type_name != "service-2":
            return model
        key = (service_name, api_version)
        with self._lock:
            trimmed = self._models.get(key)
        if trimmed is None:
            operations = {
                name: operation
                for name, operation in model["operations"].items()
                # Endpoint discovery (DescribeEndpoints) is botocore's own too, made before a service's calls.
                if self._declared(service_name, model["metadata"], name, operation)
                or operation.get("endpointoperation")
                or name in SDK_OWN_OPERATIONS.get(service_name, ())
            }
            trimmed = {**model, "operations": operations}
            with self._lock:
                trimmed = self._models.setdefault(key, trimmed)
        return trimmed

    def _declared(self, service_name: str, metadata: dict[str, Any], name: str, operation: dict[str, Any]) -> bool:
        """Whether every IAM action the operation needs is declared (an operation with no known action never is)."""
        if (service_name, name) not in OPERATION_ACTIONS and service_name not in HTTP_VERB_SERVICES:
            # Named like the operation: undeclared unless some candidate prefix's name is (EC2 has 700 operations).
            if not any(action_allowed(f"{prefix}:{name}", self._allowed) for prefix in prefix_candidates(service_name, metadata)):
                return False
        actions = required_actions(
            service_name, name, metadata=metadata, http_method=operation.get("http", {}).get("method", "POST"), reference=self._reference
        )
        return bool(actions) and all(action_allowed(action, self._allowed) for action in actions)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class SharedAliasNames(botocore.hooks.EventAliaser):
    """botocore's event-name aliaser, with one cache of aliased names for every client of the scan.

    botocore gives each client a copy of its session's aliaser, and each copy
    starts with an empty cache. A member account's clients make a few calls
    each, so nearly every event they emit was aliased afresh: a scan over 65
    aliases per event name. The aliases are botocore's fixed table, so the
    answer for a name is the same for every client and one cache serves all.
    """

    _names: dict[str, str] = {}

    def __init__(self, event_emitter: Any, event_aliases: dict[str, str] | None = None) -> None:
        super().__init__(event_emitter, event_aliases)
        if self._event_aliases == botocore.hooks.EVENT_ALIASES:
            self._alias_name_cache = self._names


class _Session(botocore.session.Session):
    """A botocore session whose event emitter is a :class:`SharedAliasNames`."""

    def _register_event_emitter(self) -> None:
        # botocore builds its aliaser in __init__ and registers it here, before any client exists.
        self._events = SharedAliasNames(self._original_handler)
        super()._register_event_emitter()


class _AssumedRoleCredentials(botocore.credentials.DeferredRefreshableCredentials):
    """An account's assumed-role credentials: refreshed before they expire, and renewed at once when AWS says they have.

    botocore refreshes by its own clock only; AWS may call credentials expired
    earlier (a session shorter than asked for, a clock behind AWS's, a request
    that arrived late). :meth:`renew` then assumes the role anew.
    """

    def __init__(self, fetcher_cache: dict[str, Any], fetch: Callable[[], dict[str, Any]]) -> None:
        super().__init__(refresh_using=fetch, method="assume-role")
        # The fetcher's own cache: it would hand back the answer AWS just refused.
        self._fetcher_cache = fetcher_cache
        self._renew_lock = threading.Lock()

    def renew(self) -> None:
        """Assume the role anew, unless another thread renewed the credentials while this one waited."""
        seen = self.get_frozen_credentials()
        with self._renew_lock:
            if self.get_frozen_credentials() is not seen:
                return
            # botocore has no public way to refresh before its clock says so; this is its own
            # refresh, under the lock its refreshes hold.
            with self._refresh_lock:
                self._fetcher_cache.clear()
                self._protected_refresh(is_mandatory=True)


class AccountSessions:
    """Clients for any account of the scan, cached per (account, service, region).

    ``member_actions``, when given, are every IAM action the scan may call in a
    member account (the checks' declarations and the host's own): member
    accounts' clients then know only those operations. ``None`` builds full
    clients.
    """

    def __init__(
        self,
        *,
        profile: str | None = None,
        role_name: str = DEFAULT_ROLE_NAME,
        external_id: str | None = None,
        role_session_name: str = DEFAULT_ROLE_SESSION_NAME,
        duration_seconds: int = 3600,
        max_pool_connections: int = 50,
        default_region: str | None = None,
        member_actions: Iterable[str] | None = None,
    ) -> None:
        # One emitter of botocore's built-in handlers for every session: registering them anew per
        # account cost about 9 ms each. Each client still gets its own copy (botocore copies it).
        self._handlers = botocore.hooks.HierarchicalEmitter()
        try:
            self._base = _Session(profile=profile, event_hooks=self._handlers)
            self._base.get_scoped_config()
        except botocore.exceptions.ProfileNotFound as error:
            raise UsageError(str(error)) from None
        self._profile = profile
        self.role_name = role_name
        self.external_id = external_id
        self.role_session_name = role_session_name
        self.duration_seconds = duration_seconds
        self.default_region = default_region or self._base.get_config_variable("region") or "us-east-1"
        self._client_config = botocore.config.Config(
            max_pool_connections=max_pool_connections,
            user_agent_extra="orgscan",
            **self._retry_settings(),
            **self._proxy_settings(),
        )
        self._lock = threading.Lock()
        self._identity_lock = threading.Lock()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._sessions: dict[str, botocore.session.Session] = {}
        self._credentials: dict[str, Any] = {}
        self._caller: dict[str, str] | None = None
        self._regions: dict[str, set[str] | None] = {}
        self._action_names = ActionNames(self._base)
        loader = self._base.get_component("data_loader")
        self._member_loader = loader if member_actions is None else DeclaredOperationsLoader(loader, member_actions)

    def _retry_settings(self) -> dict[str, Any]:
        """Adaptive retries unless the user configured a retry mode (env or profile), which then wins."""
        scoped = self._base.get_scoped_config()
        configured_mode = os.environ.get("AWS_RETRY_MODE") or scoped.get("retry_mode")
        configured_attempts = os.environ.get("AWS_MAX_ATTEMPTS") or scoped.get("max_attempts")
        if configured_mode:
            return {}
        retries: dict[str, Any] = {"mode": "adaptive"}
        if not configured_attempts:
            retries["max_attempts"] = DEFAULT_MAX_ATTEMPTS
        return {"retries": retries}

    @staticmethod
    def _proxy_settings() -> dict[str, Any]:
        """No proxies, said once, when the environment names none; otherwise botocore's own per-endpoint choice.

        botocore reads the proxy variables for every client it builds (about 0.3 ms each, scanning the
        whole environment twice); with none set its answer is always "no proxy", so it is given directly.
        """
        return {} if urllib.request.getproxies() else {"proxies": {}}

    # -- identity ---------------------------------------------------------

    def caller_identity(self) -> dict[str, str]:
        """The caller's account, ARN and partition (one sts:GetCallerIdentity per scan, whatever the threads)."""
        with self._identity_lock:
            if self._caller is None:
                self._caller = self._lookup_caller()
            return self._caller

    def _lookup_caller(self) -> dict[str, str]:
        client = self._base.create_client("sts", region_name=self.default_region, config=self._client_config)
        try:
            identity = client.get_caller_identity()
        except botocore.exceptions.NoCredentialsError:
            raise UsageError("no AWS credentials found: set a profile (--profile), environment variables or SSO") from None
        except botocore.exceptions.ClientError as error:
            raise UsageError(f"cannot identify the caller: {translate_client_error('sts:GetCallerIdentity', error)}") from None
        except botocore.exceptions.BotoCoreError as error:
            raise UsageError(f"cannot reach AWS STS: {error}") from None
        arn = identity["Arn"]
        return {"account_id": identity["Account"], "arn": arn, "partition": arn.split(":")[1]}

    @property
    def caller_account_id(self) -> str:
        return self.caller_identity()["account_id"]

    @property
    def partition(self) -> str:
        return self.caller_identity()["partition"]

    def role_arn(self, account_id: str) -> str:
        return f"arn:{self.partition}:iam::{account_id}:role/{self.role_name}"

    # -- credentials --------------------------------------------------------

    def credentials(self, account_id: str) -> Any:
        """The account's credentials: the caller's own, or an assumed role that refreshes itself."""
        with self._lock:
            cached = self._credentials.get(account_id)
        if cached is not None:
            return cached
        if account_id == self.caller_account_id:
            credentials = self._base.get_credentials()
            if credentials is None:
                raise UsageError("no AWS credentials found: set a profile (--profile), environment variables or SSO")
        else:
            extra: dict[str, Any] = {"RoleSessionName": self.role_session_name, "DurationSeconds": self.duration_seconds}
            if self.external_id:
                extra["ExternalId"] = self.external_id
            fetcher_cache: dict[str, Any] = {}
            fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
                client_creator=self._sts_client_creator,
                source_credentials=self._base.get_credentials(),
                role_arn=self.role_arn(account_id),
                extra_args=extra,
                cache=fetcher_cache,
            )
            credentials = _AssumedRoleCredentials(fetcher_cache, fetcher.fetch_credentials)
        with self._lock:
            return self._credentials.setdefault(account_id, credentials)

    def _sts_client_creator(self, service_name: str, **kwargs: Any) -> Any:
        """The caller's own cached STS client, for every account's AssumeRole.

        botocore asks for a client with the caller's credentials frozen in; the caller's cached
        client signs with those same credentials (refreshing them itself), so one client serves
        every account instead of one new client per account and per refresh.
        """
        return self.client(self.caller_account_id, service_name, kwargs.get("region_name") or self.default_region)

    def verify_access(self, account_id: str) -> None:
        """Assume the account's role now, so a denied role is one clear ERROR for the account.

        Raises :class:`AccessDenied` or :class:`AwsError` naming ``sts:AssumeRole``.
        """
        try:
            self.credentials(account_id).get_frozen_credentials()
        except botocore.exceptions.ClientError as error:
            with self._lock:
                self._credentials.pop(account_id, None)
            raise translate_client_error("sts:AssumeRole", error) from None
        except botocore.exceptions.BotoCoreError as error:
            with self._lock:
                self._credentials.pop(account_id, None)
            raise AwsError("sts:AssumeRole", type(error).__name__, str(error)) from None

    def renew_credentials(self, account_id: str) -> bool:
        """Assume the account's role anew after AWS called its credentials expired; whether they were renewed.

        The caller's own credentials are the standard chain's, which botocore
        refreshes itself when it can: they are not renewed here (``False``).
        Raises :class:`AccessDenied` or :class:`AwsError` naming ``sts:AssumeRole``.
        """
        credentials = self.credentials(account_id)
        if not isinstance(credentials, _AssumedRoleCredentials):
            return False
        try:
            credentials.renew()
        except botocore.exceptions.ClientError as error:
            raise translate_client_error("sts:AssumeRole", error) from None
        except (botocore.exceptions.BotoCoreError, RuntimeError) as error:
            # RuntimeError: botocore's "refreshed credentials are still expired".
            raise AwsError("sts:AssumeRole", type(error).__name__, str(error)) from None
        return True

    def environment(self, account_id: str, fresh: bool = False) -> dict[str, str]:
        """The account's credentials as environment variables for a subprocess.

        A subprocess cannot refresh what it is given, so ``fresh`` assumes the
        role anew for it: the subprocess gets a whole session (``duration_seconds``)
        instead of whatever is left of the shared one.
        """
        if fresh and account_id != self.caller_account_id:
            extra: dict[str, Any] = {
                "RoleArn": self.role_arn(account_id),
                "RoleSessionName": self.role_session_name,
                "DurationSeconds": self.duration_seconds,
            }
            if self.external_id:
                extra["ExternalId"] = self.external_id
            try:
                issued = self.client(self.caller_account_id, "sts", self.default_region).assume_role(**extra)["Credentials"]
            except botocore.exceptions.ClientError as error:
                raise translate_client_error("sts:AssumeRole", error) from None
            return {
                "AWS_ACCESS_KEY_ID": issued["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": issued["SecretAccessKey"],
                "AWS_SESSION_TOKEN": issued["SessionToken"],
            }
        frozen = self.credentials(account_id).get_frozen_credentials()
        env = {"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key}
        if frozen.token:
            env["AWS_SESSION_TOKEN"] = frozen.token
        return env

    # -- clients ------------------------------------------------------------

    def _account_session(self, account_id: str) -> botocore.session.Session:
        with self._lock:
            session = self._sessions.get(account_id)
        if session is not None:
            return session
        if account_id == self.caller_account_id:
            session = self._base
        else:
            session = _Session(profile=self._profile, event_hooks=self._handlers, include_builtin_handlers=False)
            session.register_component("data_loader", self._member_loader)
            # botocore has no public setter for refreshable credentials on a session.
            session._credentials = self.credentials(account_id)
        with self._lock:
            return self._sessions.setdefault(account_id, session)

    def client(self, account_id: str, service: str, region: str) -> Any:
        """A cached botocore client for the account, service and region."""
        key = (account_id, service, region)
        with self._lock:
            client = self._clients.get(key)
        if client is not None:
            return client
        client = self._account_session(account_id).create_client(service, region_name=region, config=self._client_config)
        with self._lock:
            return self._clients.setdefault(key, client)

    def forget(self, account_id: str) -> None:
        """Close and drop an account's clients and session once it is scanned: memory stays flat with the org's size.

        The caller's own session stays; it serves organization-wide reads.
        """
        if account_id == self.caller_account_id:
            return
        with self._lock:
            clients = [self._clients.pop(key) for key in [k for k in self._clients if k[0] == account_id]]
            self._sessions.pop(account_id, None)
        for client in clients:
            client.close()

    def available_regions(self, service: str) -> set[str] | None:
        """Regions where the service has an endpoint in the caller's partition; ``None`` if botocore does not know."""
        with self._lock:
            if service in self._regions:
                return self._regions[service]
        regions = set(self._base.get_available_regions(service, partition_name=self.partition)) or None
        with self._lock:
            self._regions[service] = regions
        return regions

    def known_regions(self) -> set[str]:
        """Every region of the caller's partition that botocore knows."""
        return set(self._base.get_available_regions("ec2", partition_name=self.partition))

    def iam_actions(self, service: str, operation: str) -> tuple[str, ...]:
        """``("kms:ListKeys",)`` for ``("kms", "list_keys")``: the IAM actions the call needs (AWS's IAM reference)."""
        return self._action_names(service, operation)

    def target_cache(self, account_id: str) -> TargetCache:
        """A fresh per-account answer cache whose clients belong to this account."""
        getter: Callable[[str, str], Any] = lambda service, region: self.client(account_id, service, region)
        return TargetCache(getter, self.available_regions, self.iam_actions, lambda: self.renew_credentials(account_id))


def account_sessions(
    settings: ScanSettings,
    member_actions: Iterable[str] | None = None,
    *,
    default_region: str | None = None,
    own_identity: bool = False,
) -> AccountSessions:
    """The :class:`AccountSessions` of a scan's (or an upload's) settings: the one place they are built.

    ``member_actions``: every IAM action the scan may call in a member account
    (:func:`scanner.iam_policy.member_actions`), ``None`` for full clients.
    ``default_region``: a default region decided already (a Dask worker gets the
    driver's, from the plan); else the first named ``--regions``, else the
    profile's, else us-east-1. ``own_identity``: ignore ``--profile`` and use
    this machine's credential chain (a Dask worker: the driver's profile names a
    file on the driver's machine).
    """
    role = settings.role
    return AccountSessions(
        profile=None if own_identity else settings.profile,
        role_name=role.name,
        external_id=role.external_id,
        role_session_name=role.session_name,
        max_pool_connections=max(MIN_POOL_CONNECTIONS, settings.concurrency),
        default_region=default_region or settings.first_named_region,
        member_actions=member_actions,
    )


__all__ = ["AccountSessions", "AccessDenied", "DEFAULT_ROLE_NAME", "account_sessions"]
