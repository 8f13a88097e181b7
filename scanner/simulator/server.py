"""Running a simulated organization: over HTTP on loopback (:func:`serve`) or in process (:func:`mock_organization`)."""
from __future__ import annotations

import io
import json
import os
import socket
import struct
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from scanner.simulator.faults import Faults
from scanner.simulator.scenario import Scenario

_state_lock = threading.RLock()


class Simulation:
    """A running simulated organization: its scenario, its faults, its call counts.

    ``endpoint_url`` is ``None`` in process (calls are intercepted by moto's
    botocore stub). Only one simulation's state lives in moto at a time in a
    process: :meth:`reset` (or starting another simulation) replaces it.
    """


    def __init__(self, scenario: Scenario, faults: Faults | None, endpoint_url: str | None):
        from scanner.simulator.interceptor import Interceptor

        self.scenario = scenario
        self.faults = faults if faults is not None else Faults()
        self.endpoint_url = endpoint_url
        self.interceptor = Interceptor(self)
        self._botocore_session: Any = None

    # -- what a client needs -----------------------------------------------------------------

    @property
    def management_account_id(self) -> str:
        return self.scenario.management_account_id

    @property
    def account_ids(self) -> list[str]:
        return self.scenario.account_ids

    @property
    def regions(self) -> tuple[str, ...]:
        return self.scenario.regions

    def environment(self, account_id: str | None = None) -> dict[str, str]:
        """The environment variables a client needs to reach the simulation as the management account.

        With ``account_id`` (a member), the credentials are those of a real AssumeRole
        into that account: to run a scan from a member or delegated administrator.
        They expire like any role session.
        """
        from scanner.simulator.apply import scanner_credentials

        if account_id is not None and account_id != self.management_account_id:
            assumed = self.assume_role(account_id)
            access_key_id, secret, token = assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"]
        else:
            access_key_id, secret, token = scanner_credentials(self.management_account_id)
        environment = {
            "AWS_ACCESS_KEY_ID": access_key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_SESSION_TOKEN": token,
            "AWS_DEFAULT_REGION": self.scenario.regions[0],
        }
        if self.endpoint_url:
            environment["AWS_ENDPOINT_URL"] = self.endpoint_url
        return environment

    def session_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``boto3.Session`` with the management account's credentials."""
        environment = self.environment()
        return {
            "aws_access_key_id": environment["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": environment["AWS_SECRET_ACCESS_KEY"],
            "aws_session_token": environment["AWS_SESSION_TOKEN"],
            "region_name": environment["AWS_DEFAULT_REGION"],
        }

    def client(self, service: str, region: str | None = None, account_id: str | None = None, **config: Any) -> Any:
        """A botocore client as the management account, or as ``account_id`` through a real AssumeRole."""
        credentials: dict[str, str]
        if account_id is None or account_id == self.management_account_id:
            environment = self.environment()
            credentials = {
                "aws_access_key_id": environment["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": environment["AWS_SECRET_ACCESS_KEY"],
                "aws_session_token": environment["AWS_SESSION_TOKEN"],
            }
        else:
            assumed = self.assume_role(account_id)
            credentials = {
                "aws_access_key_id": assumed["AccessKeyId"],
                "aws_secret_access_key": assumed["SecretAccessKey"],
                "aws_session_token": assumed["SessionToken"],
            }
        return self.client_with(service, region or self.scenario.regions[0], credentials, **config)

    def client_with(self, service: str, region: str, credentials: dict[str, str], **config: Any) -> Any:
        """A botocore client with explicit credentials, built from one shared botocore session (fast)."""
        from botocore.config import Config

        kwargs: dict[str, Any] = {"region_name": region, **credentials}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        if config:
            kwargs["config"] = Config(**config)
        return self.botocore_session().create_client(service, **kwargs)

    def botocore_session(self) -> Any:
        """One botocore session for all the simulation's helper clients: service models load once."""
        with _state_lock:
            if self._botocore_session is None:
                import botocore.session

                self._botocore_session = botocore.session.Session()
            return self._botocore_session

    def assume_role(self, account_id: str, role_name: str | None = None, session_name: str = "orgscan-simulator") -> dict[str, Any]:
        """Credentials from a real ``sts:AssumeRole`` into ``account_id`` (raises the SDK's ClientError when denied)."""
        sts = self.client("sts", self.scenario.regions[0])
        role_arn = f"arn:aws:iam::{account_id}:role/{role_name or self.scenario.role_name}"
        extra = {"ExternalId": self.scenario.external_id} if self.scenario.external_id else {}
        return sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name, **extra)["Credentials"]

    # -- observing and changing it ---------------------------------------------------------------

    def call_counts(self) -> dict[tuple[str, str, str], int]:
        """API calls made so far, by (account id, region, IAM action such as ``kms:ListKeys``)."""
        return self.interceptor.call_counts()

    def reset(self, scenario: Scenario | None = None, faults: Faults | None = None) -> None:
        """Forget all state and apply ``scenario`` (default: the current one) and ``faults`` (default: keep them); clears call counts."""
        from scanner.simulator.apply import apply_scenario, reset_moto
        from scanner.simulator.registration import ACTIVE

        with _state_lock:
            if scenario is not None:
                self.scenario = scenario
            if faults is not None:
                self.faults = faults
            reset_moto()
            ACTIVE.simulation = self
            apply_scenario(self.scenario)
            self.interceptor.reset_counts()

    def assume_role_denial(self, call: Any) -> str | None:
        """Why an AssumeRole call is denied (as AWS would deny it), or ``None`` when it is allowed."""
        role_arn = str(call.params.get("RoleArn", ""))
        parts = role_arn.split(":")
        if len(parts) < 6 or not parts[5].startswith("role/"):
            return None  # malformed: moto answers with its own validation error
        target_account = parts[4]
        role_name = parts[5].split("/")[-1]
        if target_account in self.faults.deny_assume_role:
            return "denied by fault injection"
        try:
            account = self.scenario.account(target_account)
        except KeyError:
            account = None
        if account is not None and account.status == "SUSPENDED":
            return "the account is suspended"
        from moto.iam.models import iam_backends

        if target_account not in iam_backends:
            return "no such role"
        try:
            role = iam_backends[target_account]["global"].get_role(role_name)
        except Exception:
            return "no such role"
        if not _trust_allows(role.assume_role_policy_document, call.account_id, call.params.get("ExternalId")):
            return "the role's trust policy does not allow the caller"
        return None


def _trust_allows(document: Any, caller_account: str, external_id: str | None) -> bool:
    """Whether a role's trust policy lets a principal of ``caller_account`` assume it (AWS principals only)."""
    try:
        policy = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a.lower() in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal", {})
        if principal == "*":
            principals = ["*"]
        else:
            principals = principal.get("AWS", []) if isinstance(principal, dict) else []
            principals = [principals] if isinstance(principals, str) else principals
        matches = any(p == "*" or p == caller_account or p.split(":")[4:5] == [caller_account] for p in principals)
        if not matches:
            continue
        condition = statement.get("Condition", {})
        wanted = (condition.get("StringEquals", {}) or {}).get("sts:ExternalId")
        if wanted is not None:
            wanted_values = [wanted] if isinstance(wanted, str) else wanted
            if external_id not in wanted_values:
                continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


# -- loopback server ---------------------------------------------------------------------------


class _Middleware:
    """WSGI middleware in front of moto's dispatcher: the interceptor's decisions, and protocol fixes."""

    def __init__(self, app: Callable[..., Any], simulation_ref: Callable[[], Simulation]):
        self.app = app
        self.simulation_ref = simulation_ref

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from scanner.simulator.interceptor import ConnectionReset, identify

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
        if "CONTENT_TYPE" in environ:
            headers["content-type"] = environ["CONTENT_TYPE"]
        call = identify(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), headers, body)
        simulation = self.simulation_ref()
        if call is not None:
            try:
                answer = simulation.interceptor.before(call)
            except ConnectionReset:
                _reset_connection(environ)
                start_response("500 Internal Server Error", [("Content-Length", "0")])
                return [b""]
            if answer is not None:
                return _respond(start_response, *answer)
        captured: dict[str, Any] = {}

        def capture(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"] = status
            captured["headers"] = response_headers
            return lambda data: None

        chunks = self.app(environ, capture)
        try:
            payload = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status_code = int(captured["status"].split(" ", 1)[0])
        if call is not None:
            fixed = _fix_error(call, status_code, payload)
            if fixed is not None:
                return _respond(start_response, *fixed)
            edited = simulation.interceptor.after(call, status_code, payload)
            if edited is not None:
                return _respond(start_response, status_code, dict(captured["headers"]), edited)
        start_response(captured["status"], captured["headers"])
        return [payload]


def _respond(start_response: Callable[..., Any], status: int, headers: dict[str, str], body: bytes) -> list[bytes]:
    from http import HTTPStatus

    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    header_list = [(key, value) for key, value in headers.items() if key.lower() != "content-length"]
    header_list.append(("Content-Length", str(len(body))))
    start_response(f"{status} {reason}", header_list)
    return [body]


def _fix_error(call: Any, status: int, body: bytes) -> tuple[int, dict[str, str], bytes] | None:
    """moto answers its authorization errors in XML whatever the protocol; JSON services then show code "403"."""
    from scanner.simulator.interceptor import access_denied, error_response

    if status not in (401, 403) or call.protocol not in ("json", "rest-json"):
        return None
    if body.lstrip().startswith(b"{"):
        return None
    text = body.decode("utf-8", "replace")
    if "InvalidClientTokenId" in text or "AuthFailure" in text:
        return error_response(call, "UnrecognizedClientException", "The security token included in the request is invalid.", 400)
    if "SignatureDoesNotMatch" in text:
        return error_response(call, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.", 400)
    import re

    match = re.search(r"User: (\S+) is not authorized to perform: ([\w:.*-]+)", text)
    return access_denied(call, match.group(1) if match else "unknown", denied_action=match.group(2) if match else None)


def _reset_connection(environ: dict[str, Any]) -> None:
    """Close the client's TCP connection with a RST, as a failing load balancer would."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        # Linger 0 makes the eventual close a RST; shutting down now ends the exchange before any
        # response byte (close() alone waits for werkzeug's file objects on the socket).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _loopback_server(simulation_ref: Callable[[], Simulation]) -> Any:
    """moto's ThreadedMotoServer on 127.0.0.1 and a free port, with the simulator's middleware in front."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    class LoopbackMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = _Middleware(DomainDispatcherApplication(create_backend_app), simulation_ref)
            self._server = make_server(self._ip_address, self._port, app, threaded=True)
            self._server.log_request = lambda *args, **kwargs: None  # type: ignore[method-assign]
            self._server_ready_event.set()
            self._server.serve_forever()

        def stop(self) -> None:
            super().stop()
            if self._server is not None:
                self._server.server_close()

    # Port 0: the operating system picks a free port, so parallel test runs never collide.
    return LoopbackMotoServer(ip_address="127.0.0.1", port=0, verbose=False)


def _quiet_werkzeug() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)


@contextmanager
def serve(scenario: Scenario | None = None, latency_ms: float = 0, faults: Faults | None = None) -> Iterator[Simulation]:
    """Serve ``scenario`` (default: the shipped one) over HTTP on 127.0.0.1 until the block ends."""
    from scanner.simulator.registration import ACTIVE, install
    from scanner.simulator.scenario import default_scenario

    with _fake_credentials_only():
        install()
    _quiet_werkzeug()
    scenario = scenario if scenario is not None else default_scenario()
    faults = faults if faults is not None else Faults()
    if latency_ms:
        faults.latency_ms = latency_ms
    holder: list[Simulation] = []
    server = _loopback_server(lambda: holder[0])
    server.start()
    host, port = server.get_host_and_port()
    simulation = Simulation(scenario, faults, f"http://{host}:{port}")
    holder.append(simulation)
    try:
        with _fake_credentials_only():
            simulation.reset(scenario, faults)
    except BaseException:
        server.stop()
        raise
    try:
        yield simulation
    finally:
        server.stop()
        if ACTIVE.simulation is simulation:
            ACTIVE.simulation = None


@contextmanager
def mock_organization(scenario: Scenario | None = None, faults: Faults | None = None) -> Iterator[Simulation]:
    """``scenario`` in process through moto's ``mock_aws``: boto3 clients created inside the block reach it."""
    from moto import mock_aws
    from moto.core.models import botocore_stubber

    from scanner.simulator.registration import ACTIVE, install
    from scanner.simulator.scenario import default_scenario

    with _fake_credentials_only():
        install()
    scenario = scenario if scenario is not None else default_scenario()
    simulation = Simulation(scenario, faults, None)
    original = botocore_stubber.process_request

    def process_request(request: Any) -> Any:
        return _in_process_request(simulation, original, request)

    with mock_aws():
        botocore_stubber.process_request = process_request  # type: ignore[method-assign]
        try:
            simulation.reset(scenario, faults if faults is not None else Faults())
            with _environment(simulation.environment()):
                yield simulation
        finally:
            del botocore_stubber.process_request
            if ACTIVE.simulation is simulation:
                ACTIVE.simulation = None


def _in_process_request(simulation: Simulation, original: Callable[[Any], Any], request: Any) -> Any:
    from urllib.parse import urlsplit

    import botocore.exceptions

    from scanner.simulator.interceptor import ConnectionReset, identify

    parts = urlsplit(request.url)
    body = request.body
    if hasattr(body, "read"):
        data = body.read()
        body.seek(0) if hasattr(body, "seek") else None
        body = data
    if isinstance(body, str):
        body = body.encode()
    call = identify(request.method, parts.path, parts.query, dict(request.headers), body or b"")
    if call is not None:
        try:
            answer = simulation.interceptor.before(call)
        except ConnectionReset:
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url) from None
        if answer is not None:
            return answer
    response = original(request)
    if call is not None and response is not None:
        status, headers, payload = response
        data = payload.encode() if isinstance(payload, str) else payload
        fixed = _fix_error(call, int(status), data or b"")
        if fixed is not None:
            return fixed
        edited = simulation.interceptor.after(call, int(status), data or b"")
        if edited is not None:
            return status, headers, edited
    return response


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in (*values, "AWS_PROFILE")}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _fake_credentials_only() -> Iterator[None]:
    # moto builds a boto3 Session while setting up backends; it must never find real credentials.
    with _environment({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}):
        yield
