"""The vocabulary every part of orgscan shares: check metadata, findings and results.

A check is a plain function plus a frozen :class:`CheckMetadata`. It returns
:class:`Finding` objects; the runner turns each into a result record of the
canonical document (see ``docs/results.md``) by adding the account, the
severity, the target and a stable fingerprint.
"""
from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from scanner.context import CheckContext

GLOBAL_REGION = "global"
CHECK_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)?$")
#: A check option's name as declared (the config file may write ``_`` as ``-``).
OPTION_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
#: An AWS managed policy's path and name, as in ``arn:aws:iam::aws:policy/<this>``.
MANAGED_POLICY_NAME = re.compile(r"([\w+=,.@-]+/)*[\w+=,.@-]{1,128}")


class Severity(str, enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFORMATIONAL = "informational"

    @property
    def rank(self) -> int:
        """4 for critical down to 0 for informational."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFORMATIONAL: 0,
}


class Status(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class Scope(str, enum.Enum):
    """Where a check runs: once per (account, region), or once per account (region ``global``)."""

    REGIONAL = "regional"
    ACCOUNT = "account"


@dataclass(frozen=True)
class Remediation:
    """How to fix a FAIL: prose plus a ready CLI call and/or IaC snippet."""

    text: str
    cli: str = ""
    iac: str = ""
    url: str = ""


@dataclass(frozen=True)
class ComplianceMapping:
    """A control of a named framework that a check implements, e.g. ("CIS AWS Foundations v3.0.0", "3.5").

    Framework files (``orgscan_register_frameworks``, ``docs/frameworks.md``) are where orgscan's
    own checks record this, and they alone feed the per-control summary; a plugin check may
    still declare mappings here, which are shown with the check but summarised nowhere.
    """

    framework: str
    control: str


@dataclass(frozen=True)
class CheckMetadata:
    """Everything orgscan and its reports know about a check, apart from its logic."""

    id: str
    title: str
    severity: Severity
    service: str
    resource_type: str
    scope: Scope
    rationale: str
    remediation: Remediation
    iam_actions: tuple[str, ...]
    references: tuple[str, ...] = ()
    compliance: tuple[ComplianceMapping, ...] = ()
    #: Seconds the check may run for one target before it is turned into ERROR;
    #: ``None`` uses the scan's ``--check-timeout``.
    timeout_seconds: float | None = None
    #: At most this many runs of the check at once per scan and process (the
    #: Prowler bridge: one CLI process per run). Its runs queue on threads of
    #: their own, so waiting for a run never holds up other checks; a run that
    #: overruns its timeout keeps its place until it really ends. ``None``: as
    #: many as ``--concurrency`` allows.
    max_parallel_runs: int | None = None
    #: AWS managed policies the audit role needs besides ``iam_actions``, by name
    #: (``SecurityAudit``, ``job-function/ViewOnlyAccess``): only for bridges to tools
    #: whose own calls orgscan cannot enumerate. ``orgscan iam-policy --cloudformation``
    #: attaches them to the role.
    iam_managed_policies: tuple[str, ...] = ()
    #: The options the check reads from its ``[checks.<id>]`` table: each option's name (snake_case; the
    #: config file may spell it with dashes) -> a JSON Schema of its value, with ``default`` where it has
    #: one. Validated by ``scanner.options`` when the scan is planned, before any AWS call (a wrong value,
    #: an unknown name: exit 2 naming the file, table and key); the check reads them with
    #: ``scanner.options.option_values``. Empty: the check takes no options.
    option_schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not CHECK_ID_PATTERN.match(self.id):
            raise ValueError(f"check id {self.id!r} is not snake_case")
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "scope", Scope(self.scope))
        object.__setattr__(self, "iam_actions", tuple(self.iam_actions))
        object.__setattr__(self, "iam_managed_policies", tuple(self.iam_managed_policies))
        for name in self.iam_managed_policies:
            if not MANAGED_POLICY_NAME.fullmatch(name):
                raise ValueError(f"check {self.id}: {name!r} is not the name of an AWS managed policy (SecurityAudit, job-function/ViewOnlyAccess)")
        object.__setattr__(self, "references", tuple(self.references))
        object.__setattr__(self, "compliance", tuple(self.compliance))
        limit = self.max_parallel_runs
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"check {self.id}: max_parallel_runs must be a positive integer or None")
        for action in self.iam_actions:
            if ":" not in action:
                raise ValueError(f"check {self.id}: IAM action {action!r} must be 'service:Action'")
        object.__setattr__(self, "option_schemas", {str(name): dict(schema) for name, schema in dict(self.option_schemas).items()})
        for name in self.option_schemas:
            if not OPTION_NAME_PATTERN.fullmatch(name):
                raise ValueError(f"check {self.id}: option name {name!r} is not snake_case")

    def to_dict(self) -> dict[str, Any]:
        """The metadata as plain JSON-ready data (used by ``checks list`` and the reports)."""
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.value,
            "service": self.service,
            "resource_type": self.resource_type,
            "scope": self.scope.value,
            "rationale": self.rationale,
            "remediation": {
                "text": self.remediation.text,
                "cli": self.remediation.cli,
                "iac": self.remediation.iac,
                "url": self.remediation.url,
            },
            "references": list(self.references),
            "compliance": [{"framework": c.framework, "control": c.control} for c in self.compliance],
            "iam_actions": list(self.iam_actions),
        }


@dataclass(frozen=True)
class Finding:
    """What a check says about one resource (or about the target as a whole).

    ``region`` defaults to the target's region (``global`` for account-wide
    checks); per-trail results set the trail's home region. ``evidence`` must
    never hold a sensitive value: mask it first (see
    ``checks.sensitive_data.detector.mask``).
    """

    status: Status
    resource_id: str
    message: str
    resource_arn: str | None = None
    resource_type: str | None = None
    region: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    #: Bridged results (e.g. Prowler's) carry their own check id, severity and
    #: title; orgscan's own checks leave these unset.
    check_id: str | None = None
    severity: Severity | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        if self.severity is not None:
            object.__setattr__(self, "severity", Severity(self.severity))


CheckFunction = Callable[["CheckContext"], Iterable[Finding]]


@dataclass(frozen=True)
class Check:
    """A check: its metadata and the plain function that judges one target."""

    metadata: CheckMetadata
    function: CheckFunction

    @property
    def id(self) -> str:
        return self.metadata.id

    def __call__(self, context: "CheckContext") -> Iterable[Finding]:
        return self.function(context)


def check(metadata: CheckMetadata) -> Callable[[CheckFunction], Check]:
    """Decorator that pairs a function with its metadata; it registers nothing.

    The function's name must equal the check id, so that the id, the module
    and the function can be found from each other.
    """

    def wrap(function: CheckFunction) -> Check:
        if function.__name__ != metadata.id:
            raise ValueError(f"check function {function.__name__!r} must be named like its id {metadata.id!r}")
        return Check(metadata=metadata, function=function)

    return wrap


def fingerprint(check_id: str, account_id: str, region: str, resource_id: str) -> str:
    """Stable identity of a result: the same check, account, region and resource give the same value."""
    material = "\x1f".join((check_id, account_id, region, resource_id))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]
