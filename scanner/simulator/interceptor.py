"""Every API call to the simulated organization passes here first: identified, counted, maybe faulted.

It sits in front of moto in both modes: as WSGI middleware in front of the
loopback server, and around moto's botocore stub in process. It knows which
account, region and IAM action a raw request is for (from the SigV4
credential scope, the access key and the service model), and answers faults
with the error each protocol really uses, so the SDK's retry logic treats
them as it would AWS's.
"""
from __future__ import annotations

import datetime
import functools
import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import parse_qs

from scanner.simulator.faults import Faults, roll

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

# SigV4 signing names that differ from botocore's service names.
_SERVICE_BY_SIGNING_NAME = {
    "tagging": "resourcegroupstaggingapi",
    "execute-api": "apigateway",
}

# The error code a service uses to say "access denied" where it differs from its protocol's default.
_ACCESS_DENIED_CODE = {"sns": "AuthorizationError", "ec2": "UnauthorizedOperation"}


# KMS operations AWS allows on another account's key (when its key policy lets the caller's account).
CROSS_ACCOUNT_KMS_OPERATIONS = frozenset(
    {"DescribeKey", "GetKeyRotationStatus", "GetPublicKey", "CreateGrant", "ListGrants", "Encrypt", "Decrypt", "ReEncrypt",
     "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "Sign", "Verify", "GenerateMac", "VerifyMac"}
)

# The account whose KMS backend answers the current thread's call (a readable cross-account key).
KMS_KEY_OWNER = threading.local()


def _key_policy_names_account(policy_text: str, account_id: str) -> bool:
    """Whether a key policy lets principals of ``account_id`` call the key directly (conditions read coarsely)."""
    try:
        policy = json.loads(policy_text)
    except (TypeError, ValueError):
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if not _conditions_admit(statement.get("Condition") or {}, account_id):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            return True
        values = principal.get("AWS", []) if isinstance(principal, dict) else []
        values = [values] if isinstance(values, str) else values
        for value in values:
            if value == "*" or value == account_id or (isinstance(value, str) and value.split(":")[4:5] == [account_id]):
                return True
    return False


# Organizations calls a member account may make whatever its role in the organization.
ORGANIZATIONS_MEMBER_OPERATIONS = frozenset(
    {"DescribeOrganization", "LeaveOrganization", "ListHandshakesForAccount", "AcceptHandshake", "DeclineHandshake",
     "DescribeHandshake", "DescribeEffectivePolicy"}
)
# Reads the management account may delegate to a delegated administrator.
ORGANIZATIONS_DELEGATED_READS = frozenset(
    {"ListAccounts", "ListAccountsForParent", "ListRoots", "ListOrganizationalUnitsForParent", "ListChildren", "ListParents",
     "DescribeAccount", "DescribeOrganizationalUnit", "ListPolicies", "ListPoliciesForTarget", "ListTargetsForPolicy",
     "DescribePolicy", "ListTagsForResource", "ListAWSServiceAccessForOrganization", "ListDelegatedAdministrators",
     "ListDelegatedServicesForAccount", "ListCreateAccountStatus", "DescribeCreateAccountStatus", "ListHandshakesForOrganization"}
)


def _organizations_member_denial(call: "Call") -> tuple[int, dict[str, str], bytes] | None:
    """Member accounts may not read the organization's structure (moto lets them); delegated administrators may."""
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(call.account_id)
    if owner is None or owner[0] == call.account_id or call.operation in ORGANIZATIONS_MEMBER_OPERATIONS:
        return None
    if call.operation in ORGANIZATIONS_DELEGATED_READS:
        management = organizations_backends[owner[0]][owner[1]]
        if any(admin.account.id == call.account_id for admin in management.admins):
            return None
    return error_response(call, "AccessDeniedException", "You don't have permissions to access this resource.", 400)


def _conditions_admit(condition: Any, account_id: str) -> bool:
    """Whether a statement's conditions can hold for a direct call from ``account_id`` (a coarse reading)."""
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            return False
        for key, values in tests.items():
            lowered = key.lower()
            if lowered == "kms:viaservice":
                return False  # a direct call does not come through a service
            if lowered in ("kms:calleraccount", "aws:principalaccount") and operator.lower().startswith("stringequals"):
                values = [values] if isinstance(values, str) else values
                if account_id not in values:
                    return False
    return True


class ConnectionReset(Exception):
    """The call must end with a reset TCP connection instead of a response."""


@dataclass
class Call:
    """One API call as the interceptor sees it."""

    service: str
    region: str
    operation: str
    protocol: str
    access_key: str
    account_id: str
    params: Mapping[str, Any]
    #: Lower-cased request headers and the path, for the checks that need them (S3 bucket policies).
    headers: Mapping[str, str] = field(default_factory=dict)
    path: str = ""

    @property
    def actions(self) -> tuple[str, ...]:
        """The IAM actions AWS authorizes the call by: ``("s3:GetEncryptionConfiguration",)`` for GetBucketEncryption."""
        return _call_actions(self.service, self.operation)

    @property
    def action(self) -> str:
        """The call's IAM actions as errors name them (``kms:ListKeys``; two joined by " and ")."""
        return " and ".join(self.actions)


@functools.lru_cache(maxsize=None)
def _call_actions(service: str, operation: str) -> tuple[str, ...]:
    """The IAM actions of an operation, from AWS's IAM reference as orgscan itself resolves them.

    An operation the reference cannot name (the simulator's own setup calls, say)
    is named ``prefix:Operation``, which no policy orgscan generates can grant.
    """
    from scanner.iam_reference import iam_reference, operation_actions

    model = _service_model(service)
    if operation not in model.operation_names:
        return (f"{model.signing_name}:{operation}",)
    resolved = operation_actions(service, model, operation, iam_reference())
    return resolved or (f"{model.signing_name}:{operation}",)


#: The IAM actions of the call the current thread is serving, for moto's IAM enforcement.
CURRENT_CALL = threading.local()


@functools.lru_cache(maxsize=None)
def _service_model(service: str) -> Any:
    import botocore.model

    from scanner.simulator.scenario import _endpoint_data

    loader, _ = _endpoint_data()
    return botocore.model.ServiceModel(loader.load_service_model(service, "service-2"), service_name=service)


@functools.lru_cache(maxsize=None)
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], tuple[str, ...], str]]:
    """``(method, path regex, required query keys, operation)`` for a REST service, longest paths first."""
    model = _service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        pattern = re.sub(r"\{[^}]+\+\}", ".+", path)
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", pattern)
        query_keys = tuple(part.split("=")[0] for part in query.split("&") if part)
        routes.append((http.get("method", "POST"), re.compile(f"^{pattern.rstrip('/')}/?$"), query_keys, name))
    routes.sort(key=lambda route: (len(route[2]), len(route[1].pattern)), reverse=True)
    return routes


def identify(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Call | None:
    """The call a raw request makes, or ``None`` when it is not a signed AWS API call (moto's own API, say)."""
    header = {key.lower(): value.decode("latin-1") if isinstance(value, bytes) else str(value) for key, value in headers.items()}
    CURRENT_CALL.actions = None
    match = _CREDENTIAL.search(header.get("authorization", ""))
    if match is None:
        return None
    access_key, region, signing_name = match.groups()
    service = _SERVICE_BY_SIGNING_NAME.get(signing_name, signing_name)
    try:
        model = _service_model(service)
    except Exception:
        return None
    params: dict[str, Any] = {}
    target = header.get("x-amz-target")
    content_type = header.get("content-type", "")
    if target:
        protocol = "json"
        operation = target.rsplit(".", 1)[-1]
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
    elif "x-www-form-urlencoded" in content_type or (method == "GET" and "Action=" in query):
        protocol = "ec2" if model.protocol == "ec2" else "query"
        text = body.decode("utf-8", "replace") if body else query
        form = {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}
        operation = form.get("Action", "")
        params = form
    elif "smithy-protocol" in header:
        protocol = "smithy-rpc-v2-cbor"
        operation = path.rstrip("/").rsplit("/", 1)[-1]
    else:
        protocol = model.protocol if model.protocol in ("rest-json", "rest-xml") else "rest-json"
        operation = ""
        query_keys = set(parse_qs(query, keep_blank_values=True))
        for route_method, pattern, required_query, name in _rest_routes(service):
            if route_method == method and pattern.match(path) and set(required_query) <= query_keys:
                operation = name
                break
    if service == "s3" and operation == "CopyObject" and "x-amz-copy-source" not in header:
        # PutObject and CopyObject share method and path; only CopyObject names a source.
        operation = "PutObject"
    from moto.iam.models import get_account_id_from

    return Call(service, region, operation, protocol, access_key, get_account_id_from(access_key), params, header, path)


# -- error responses --------------------------------------------------------------------------


def error_response(call: Call, code: str, message: str, status: int) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of an error in the call's protocol, as AWS would send it."""
    request_id = str(uuid.uuid4())
    if call.protocol in ("query", "ec2") or call.protocol == "rest-xml":
        escaped = _xml_escape(message)
        if call.protocol == "ec2":
            body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>"
                    f"<Message>{escaped}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
        elif call.protocol == "rest-xml":
            body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{escaped}</Message>"
                    f"<RequestId>{request_id}</RequestId></Error>")
        else:
            fault = "Receiver" if status >= 500 else "Sender"
            body = (f"<ErrorResponse xmlns=\"https://{call.service}.amazonaws.com/doc/\"><Error><Type>{fault}</Type>"
                    f"<Code>{code}</Code><Message>{escaped}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
        return status, headers, body.encode()
    headers = {"Content-Type": "application/x-amz-json-1.1" if call.protocol == "json" else "application/json",
               "x-amzn-RequestId": request_id, "x-amzn-ErrorType": code}
    return status, headers, json.dumps({"__type": code, "message": message, "Message": message}).encode()


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def access_denied(call: Call, caller_arn: str, resource: str = "*", denied_action: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """The error a service gives when the caller's policies do not allow the action (``denied_action``, or the call's)."""
    if call.protocol in ("json", "rest-json", "smithy-rpc-v2-cbor"):
        code, status = "AccessDeniedException", 400 if call.protocol == "json" else 403
    else:
        code, status = _ACCESS_DENIED_CODE.get(call.service, "AccessDenied"), 403
    action = denied_action or call.actions[0]
    message = (f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource} "
               f"because no identity-based policy allows the {action} action")
    return error_response(call, code, message, status)


def throttled(call: Call) -> tuple[int, dict[str, str], bytes]:
    if call.protocol == "ec2":
        return error_response(call, "RequestLimitExceeded", "Request limit exceeded.", 503)
    if call.protocol == "query":
        return error_response(call, "Throttling", "Rate exceeded", 400)
    if call.protocol == "rest-xml":
        return error_response(call, "SlowDown", "Please reduce your request rate.", 503)
    if call.protocol == "rest-json":
        return error_response(call, "ThrottlingException", "Rate exceeded", 429)
    return error_response(call, "ThrottlingException", "Rate exceeded", 400)


def server_error(call: Call) -> tuple[int, dict[str, str], bytes]:
    if call.protocol in ("query", "ec2", "rest-xml"):
        return error_response(call, "ServiceUnavailable", "Service is unavailable. Please try again.", 503)
    return error_response(call, "InternalFailure", "The request processing has failed because of an unknown error.", 500)


def unknown_access_key(call: Call) -> tuple[int, dict[str, str], bytes]:
    """AWS's answer to an access key it never issued (moto would serve it as account 123456789012)."""
    if call.protocol == "rest-xml":
        return error_response(call, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403)
    if call.protocol in ("query", "ec2"):
        code = "AuthFailure" if call.protocol == "ec2" else "InvalidClientTokenId"
        return error_response(call, code, "The security token included in the request is invalid.", 401 if call.protocol == "ec2" else 403)
    return error_response(call, "UnrecognizedClientException", "The security token included in the request is invalid.", 400 if call.protocol == "json" else 403)


def _access_key_known(call: Call) -> bool:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    if call.account_id != DEFAULT_ACCOUNT_ID:
        return True  # moto found the key in that account
    try:
        return call.access_key in iam_backends[DEFAULT_ACCOUNT_ID]["aws"].access_keys
    except KeyError:
        return False


def expired_token(call: Call) -> tuple[int, dict[str, str], bytes]:
    # Query services say ExpiredToken, JSON services ExpiredTokenException; both are 400.
    code = "ExpiredToken" if call.protocol in ("query", "ec2", "rest-xml") else "ExpiredTokenException"
    return error_response(call, code, "The security token included in the request is expired", 400)


# -- the decisions ----------------------------------------------------------------------------


class Interceptor:
    """Counts calls and applies the simulation's faults and access rules to each one."""

    def __init__(self, simulation: Any):
        self.simulation = simulation
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._occurrences: Counter[tuple[str, ...]] = Counter()
        #: How the injected latency is waited out; a test may put a fake clock's ``sleep`` here.
        self.sleep = time.sleep

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
            self._occurrences.clear()

    def call_counts(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return dict(self._counts)

    def before(self, call: Call) -> tuple[int, dict[str, str], bytes] | None:
        """The response to send instead of moto's, or ``None`` to let moto answer; may raise ConnectionReset."""
        faults: Faults = self.simulation.faults
        actions = call.actions
        action = call.action
        CURRENT_CALL.actions = actions
        key = (call.account_id, call.region, action)
        with self._lock:
            # Counted per IAM action: a call that needs two actions is a use of both.
            for each in actions:
                self._counts[(call.account_id, call.region, each)] += 1
            occurrence = self._occurrences[key]
            self._occurrences[key] += 1
        _set_iam_enforcement(faults.iam_enforcement)
        if faults.latency_ms:
            self.sleep(faults.latency_ms / 1000.0)
        if not _access_key_known(call):
            return unknown_access_key(call)
        if faults.rate_faults_apply(action):
            if faults.connection_reset_rate and roll(faults.seed, "reset", key, occurrence) < faults.connection_reset_rate:
                raise ConnectionReset()
            if faults.server_error_rate and roll(faults.seed, "5xx", key, occurrence) < faults.server_error_rate:
                return server_error(call)
            if faults.throttle_rate and roll(faults.seed, "throttle", key, occurrence) < faults.throttle_rate:
                return throttled(call)
        assumed = self._assumed_role(call)
        if assumed is not None and _expired(assumed, faults.clock_skew_seconds):
            return expired_token(call)
        if faults.expire_requests and faults.request_expired(call, action):
            return expired_token(call)
        if action.lower() == "sts:assumerole":
            denial = self.simulation.assume_role_denial(call)
            if denial:
                return access_denied(call, self._caller_arn(call, assumed), call.params.get("RoleArn", "*"))
        denied = [each for each in actions if faults.action_denied(call.account_id, each) or faults.request_denied(call, each)]
        if denied:
            return access_denied(call, self._caller_arn(call, assumed), denied_action=denied[0])
        if call.service == "s3" and call.operation in _S3_OBJECT_ACTIONS:
            return _s3_denied_by_bucket_policy(call, self._caller_arn(call, assumed))
        if call.service == "kms":
            return self._kms_key_elsewhere(call, assumed)
        if call.service == "organizations":
            return _organizations_member_denial(call)
        return None

    def after(self, call: Call, status: int, body: bytes) -> bytes | None:
        """The body to send instead of moto's successful answer (``Faults.answer_edits``), or ``None`` to keep it."""
        edit = self.simulation.faults.answer_edit(call.action)
        if edit is None or not 200 <= status < 300:
            return None
        return edit(call, body)

    def _kms_key_elsewhere(self, call: Call, assumed: Any) -> tuple[int, dict[str, str], bytes] | None:
        """KMS calls naming a key by the ARN of another region or account, answered as AWS does.

        moto drops the ARN's account and region and looks the key id up in the
        caller's own account and region. AWS looks in the ARN's: another region's
        key is not found; another account's key is usable only by the operations
        that work across accounts, and only when its key policy names the caller's
        account.
        """
        KMS_KEY_OWNER.account_id = None
        key_id = call.params.get("KeyId")
        if not isinstance(key_id, str) or not key_id.startswith("arn:"):
            return None
        parts = key_id.split(":", 5)
        if len(parts) < 6:
            return None
        key_region, key_account = parts[3], parts[4]
        if key_region != call.region:
            return error_response(call, "NotFoundException", f"Invalid arn {key_region}", 400)
        if key_account == call.account_id:
            return None
        from moto.kms.models import kms_backends

        backend = kms_backends[key_account][key_region] if key_account in kms_backends else None
        try:
            key = backend.keys[backend.any_id_to_key_id(key_id)] if backend is not None else None
        except (KeyError, TypeError, AttributeError):
            key = None
        if key is None or call.operation not in CROSS_ACCOUNT_KMS_OPERATIONS or not _key_policy_names_account(key.policy, call.account_id):
            caller = self._caller_arn(call, assumed)
            message = (f"User: {caller} is not authorized to perform: {call.action} on resource: {key_id} "
                       f"because no resource-based policy allows the {call.action} action")
            return error_response(call, "AccessDeniedException", message, 400)
        KMS_KEY_OWNER.account_id = key_account
        return None

    @staticmethod
    def _assumed_role(call: Call) -> Any:
        from moto.sts.models import sts_backends

        try:
            return sts_backends[call.account_id]["aws"].get_assumed_role_from_access_key(call.access_key)
        except KeyError:
            return None

    def _caller_arn(self, call: Call, assumed: Any) -> str:
        if assumed is not None:
            return assumed.arn
        return f"arn:aws:iam::{call.account_id}:user/unknown"


#: Request headers behind the S3 condition keys the simulator evaluates in bucket policies
#: (Amazon S3 User Guide, "Bucket policy examples": requiring server-side encryption).
_S3_CONDITION_HEADERS = {
    "s3:x-amz-server-side-encryption": "x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id": "x-amz-server-side-encryption-aws-kms-key-id",
}


#: Object operations whose bucket policy the simulator evaluates, and the IAM action a policy names them by.
_S3_OBJECT_ACTIONS = {"PutObject": "s3:putobject", "GetObject": "s3:getobject", "HeadObject": "s3:getobject",
                      "DeleteObject": "s3:deleteobject"}


def _s3_denied_by_bucket_policy(call: Call, caller_arn: str) -> tuple[int, dict[str, str], bytes] | None:
    """AccessDenied when an explicit Deny of the bucket's policy applies to this object request, else ``None``.

    moto's own evaluation ignores conditions (registration._patch_s3_bucket_policies);
    this reads Deny statements with the encryption condition keys (``StringEquals``,
    ``StringNotEquals``, ``Null``) and ``aws:SecureTransport`` (the loopback HTTP
    stands for HTTPS, so it is ``true``). A statement with any other condition
    key is not evaluated (it never denies here).
    """
    import fnmatch

    from moto.s3.models import s3_backends

    bucket_name, _, key = call.path.lstrip("/").partition("/")
    try:
        bucket = s3_backends[call.account_id]["aws"].get_bucket(bucket_name)
        policy = json.loads(bucket.policy) if bucket.policy else {}
    except Exception:
        return None  # no such bucket or no readable policy: moto answers
    context = {name: call.headers.get(header) for name, header in _S3_CONDITION_HEADERS.items()}
    context["aws:securetransport"] = "true"
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        arn = f"arn:aws:s3:::{bucket_name}/{key}"
        if not any(fnmatch.fnmatchcase(_S3_OBJECT_ACTIONS[call.operation], str(a).lower()) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(arn, str(r)) for r in resources):
            continue
        if _s3_conditions_hold(statement.get("Condition", {}), context):
            action = "s3:" + {"s3:putobject": "PutObject", "s3:getobject": "GetObject", "s3:deleteobject": "DeleteObject"}[
                _S3_OBJECT_ACTIONS[call.operation]]
            message = f"User: {caller_arn} is not authorized to perform: {action} on resource: \"{arn}\" with an explicit deny in a resource-based policy"
            return error_response(call, "AccessDenied", message, 403)
    return None


def _s3_conditions_hold(condition: Any, context: Mapping[str, str | None]) -> bool:
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            return False
        for name, expected in tests.items():
            name = name.lower()
            if name not in context:
                return False  # a condition the simulator does not evaluate: the statement is not applied
            values = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
            actual = context[name]
            if operator == "StringEquals":
                holds = actual is not None and actual in values
            elif operator == "StringNotEquals":
                holds = actual is None or actual not in values
            elif operator == "Null":
                holds = (actual is None) == (values[0].lower() == "true")
            elif operator == "Bool":
                holds = actual is not None and actual.lower() == values[0].lower()
            else:
                return False
            if not holds:
                return False
    return True


def _set_iam_enforcement(enabled: bool) -> None:
    """moto checks each call against the caller's IAM policies once its no-auth allowance is used up."""
    import moto.settings

    limit = 0 if enabled else float("inf")
    if moto.settings.INITIAL_NO_AUTH_ACTION_COUNT != limit:
        moto.settings.INITIAL_NO_AUTH_ACTION_COUNT = limit


def _expired(assumed: Any, clock_skew_seconds: float = 0.0) -> bool:
    from moto.core.utils import utcnow

    expiration = assumed.expiration
    now = utcnow() + datetime.timedelta(seconds=clock_skew_seconds)
    if expiration.tzinfo is not None and now.tzinfo is None:
        now = now.replace(tzinfo=expiration.tzinfo)
    return expiration <= now
