"""Fault injection for the simulated organization: what can go wrong, and when it does.

Every decision is a pure function of the seed, the call's account, region and
IAM action, and how many times that same call was made before: the same scan
meets the same faults, whatever order its threads happen to run in.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

#: ``edit(call, body) -> body``: rewrites the raw body of a successful answer (``call`` is the interceptor's ``Call``).
AnswerEdit = Callable[[Any, bytes], bytes]


@dataclass
class Faults:
    """Faults the simulator injects; change the attributes of ``sim.faults`` at any time.

    - ``latency_ms``: added to every API call.
    - ``throttle_rate``, ``server_error_rate``, ``connection_reset_rate``: the share
      (0.0 to 1.0) of calls answered with the protocol's throttling error, a 5xx
      response, or a reset TCP connection.
    - ``deny_assume_role``: account ids whose role cannot be assumed (AccessDenied).
    - ``deny_actions``: ``{"222222222222": ["kms:GetKeyPolicy"]}``: IAM actions denied
      inside an account (``service:*`` denies a whole service), named as AWS's IAM
      reference names them (``s3:GetEncryptionConfiguration``, not the API operation
      GetBucketEncryption): a call is denied when any action it needs is.
    - ``deny_requests``: ``{"organizations:ListParents": lambda call: call.params.get("ChildId") == "333333333333"}``:
      an IAM action denied only for the requests its predicate picks (``call.account_id``,
      ``call.params``), as a policy's Deny on one resource ARN would.
    - ``max_session_seconds``: assumed-role credentials expire this soon, and expired
      keys are then rejected with ExpiredToken, so credential refresh is exercised.
    - ``expire_requests``: ``{"kms:ListKeys": lambda call: call.account_id == "222222222222"}``:
      the requests the predicate picks are answered with the protocol's ExpiredToken, as AWS
      answers a request that arrives after the session it was signed with has ended; the
      predicate may keep state (expire only the first request), so a test needs no clock.
    - ``clock_skew_seconds``: the simulator's STS clock runs this far ahead of the real one: sessions
      are issued and judged expired by it, so a test ages credentials by moving it instead of sleeping.
    - ``iam_enforcement``: moto checks every call against the caller's IAM policies.
    - ``fault_operations``: limit the rate-based faults to these IAM actions (true names; empty: all
      calls but ``sts:AssumeRole``, so that a scan still reaches its accounts).
    - ``answer_edits``: ``{"kms:GetKeyPolicy": edit}``: a successful answer to that IAM
      action is rewritten by ``edit(call, body) -> body`` before the SDK sees it, so a
      test can serve what moto never would (a wrong type, a huge number, a lone
      surrogate) to one account or one resource (``call.account_id``,
      ``call.params``). :func:`edit_json_answer` wraps an edit of the decoded JSON.
    - ``seed``: which calls are hit.
    """

    latency_ms: float = 0.0
    throttle_rate: float = 0.0
    server_error_rate: float = 0.0
    connection_reset_rate: float = 0.0
    deny_assume_role: set[str] = field(default_factory=set)
    deny_actions: dict[str, list[str]] = field(default_factory=dict)
    deny_requests: dict[str, Callable[[Any], bool]] = field(default_factory=dict)
    max_session_seconds: int | None = None
    expire_requests: dict[str, Callable[[Any], bool]] = field(default_factory=dict)
    clock_skew_seconds: float = 0.0
    iam_enforcement: bool = False
    fault_operations: tuple[str, ...] = ()
    answer_edits: dict[str, AnswerEdit] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("throttle_rate", "server_error_rate", "connection_reset_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"Faults.{name} must be between 0.0 and 1.0, got {rate}")
        if self.latency_ms < 0:
            raise ValueError(f"Faults.latency_ms must not be negative, got {self.latency_ms}")
        if self.max_session_seconds is not None and self.max_session_seconds < 1:
            raise ValueError(f"Faults.max_session_seconds must be at least 1, got {self.max_session_seconds}")
        self.deny_assume_role = set(self.deny_assume_role)

    def __setattr__(self, name: str, value: object) -> None:
        # Checked on every assignment (``sim.faults.deny_actions = {...}`` too): a made-up
        # name (s3:GetBucketEncryption) would never match a call and deny nothing.
        if name == "deny_actions":
            for account_id, actions in dict(value).items():  # type: ignore[call-overload]
                _check_action_names(f"Faults.deny_actions[{account_id!r}]", actions)
        elif name in ("deny_requests", "expire_requests"):
            _check_action_names(f"Faults.{name}", dict(value))  # type: ignore[call-overload]
        elif name == "fault_operations":
            _check_action_names("Faults.fault_operations", value)  # type: ignore[arg-type]
        super().__setattr__(name, value)

    def action_denied(self, account_id: str, action: str) -> bool:
        """Whether ``action`` (``kms:GetKeyPolicy``) is denied inside ``account_id``."""
        denied = self.deny_actions.get(account_id) or ()
        service = action.split(":", 1)[0].lower()
        wanted = action.lower()
        return any(item.lower() == wanted or item.lower() == f"{service}:*" for item in denied)

    def request_denied(self, call: Any, action: str) -> bool:
        """Whether ``deny_requests`` picks this request (``call``) for ``action``."""
        wanted = action.lower()
        return any(name.lower() == wanted and picks(call) for name, picks in self.deny_requests.items())

    def request_expired(self, call: Any, action: str) -> bool:
        """Whether ``expire_requests`` picks this request (``call``) for ``action``."""
        wanted = action.lower()
        return any(name.lower() == wanted and picks(call) for name, picks in self.expire_requests.items())

    def answer_edit(self, action: str) -> AnswerEdit | None:
        """The edit for successful answers to ``action``, if any (action names compare case-insensitively)."""
        wanted = action.lower()
        return next((edit for name, edit in self.answer_edits.items() if name.lower() == wanted), None)

    def rate_faults_apply(self, action: str) -> bool:
        if self.fault_operations:
            return action.lower() in {op.lower() for op in self.fault_operations}
        return action.lower() != "sts:assumerole"


def _check_action_names(where: str, actions: Iterable[str]) -> None:
    """Raise ValueError unless every name is an IAM action of AWS's reference (or ``service:*``)."""
    from scanner.iam_reference import UnknownAction, iam_reference

    reference = iam_reference()
    for action in actions:
        prefix, _, name = str(action).partition(":")
        if name == "*" and reference.service_exists(prefix):
            continue
        try:
            reference.check_declared(str(action))
        except UnknownAction as error:
            raise ValueError(f"{where}: {error}") from None


def roll(seed: int, kind: str, key: tuple[str, ...], occurrence: int) -> float:
    """A number in [0, 1) fixed by the seed, the kind of fault, the call and its occurrence."""
    text = "\x1f".join((str(seed), kind, *key, str(occurrence)))
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def edit_json_answer(edit: Callable[[Any, Any], Any]) -> AnswerEdit:
    """An answer edit for JSON protocols: ``edit(call, decoded_answer)`` returns the answer to serve instead.

    The result is serialised with ``json.dumps`` (``allow_nan``, lone surrogates
    as ``\\udXXX`` escapes), so anything a JSON text can hold reaches the SDK.
    """

    def rewrite(call: Any, body: bytes) -> bytes:
        return json.dumps(edit(call, json.loads(body or b"{}"))).encode("ascii")

    return rewrite
