"""A loopback stand-in for GitHub's code-scanning REST API that holds every request to GitHub's published contract.

The contract is ``data/code-scanning-openapi.json``: the ``code-scanning/upload-sarif``,
``code-scanning/get-sarif`` and ``git/get-ref`` operations of GitHub's OpenAPI description (``@octokit/openapi``, version in
the file; ``data/extract_code_scanning_openapi.py`` says how it was cut). Every request is matched to
an operation by method and path template, its path parameters, headers and JSON body are checked
(the body with ``jsonschema`` against the operation's ``requestBody`` schema), and every answer the
server gives is first validated against the schema the description gives for that status. What does
not hold is recorded in ``violations`` (and answered 400), so a test asserts there were none.

Headers not in the description follow GitHub's REST documentation: ``Authorization: Bearer TOKEN``,
``Accept: application/vnd.github+json``, ``X-GitHub-Api-Version`` and a ``User-Agent`` ("Getting
started with the REST API": requests without a User-Agent are rejected).
"""
from __future__ import annotations

import base64
import copy
import gzip
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema

CONTRACT = json.loads((Path(__file__).parent / "data" / "code-scanning-openapi.json").read_text())
API_VERSION_HEADER = "2022-11-28"


def json_schema(openapi_schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable: true`` becomes a ``null`` type, OpenAPI-only keys go."""
    schema = copy.deepcopy(openapi_schema)

    def convert(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: convert(v) for k, v in node.items() if k not in ("example", "readOnly", "examples")}
            if node.pop("nullable", False):
                if "type" in node:
                    node["type"] = [node["type"], "null"]
                else:
                    node = {"anyOf": [node, {"type": "null"}]}
            return node
        if isinstance(node, list):
            return [convert(item) for item in node]
        return node

    return convert(schema)


def response_schema(operation: str, status: int) -> dict[str, Any] | None:
    """The JSON Schema of ``operation``'s answer with ``status`` (GitHub's generic 401/422 where the operation has none)."""
    responses = CONTRACT["operations"][operation]["responses"]
    described = responses.get(str(status)) or CONTRACT["generic_responses"].get(str(status))
    assert described is not None, f"{operation} has no {status} answer in the contract"
    content = described.get("content", {}).get("application/json")
    return json_schema(content["schema"]) if content else None


def _path_pattern(operation: dict[str, Any]) -> re.Pattern[str]:
    """A regular expression for the operation's path; an ``x-multi-segment`` parameter (a ref) may hold slashes."""
    multi = {p["name"] for p in operation["parameters"] if p.get("x-multi-segment")}

    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"(?P<{name}>.+)" if name in multi else f"(?P<{name}>[^/]+)"

    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", group, re.escape(operation["path"])) + "$")


_ROUTES = [(name, op["method"], _path_pattern(op)) for name, op in CONTRACT["operations"].items()]


@dataclass
class Recorded:
    """One request as the server saw it."""

    operation: str
    path_params: dict[str, str]
    headers: dict[str, str]
    body: Any
    sarif: dict[str, Any] | None = None


@dataclass
class FakeCodeScanning:
    """Scripted behaviour of the stand-in, and what it saw."""

    token: str
    #: status to answer upload-sarif with instead of 202, per upload (consumed in order; None = accept)
    upload_answers: list[int | None] = field(default_factory=list)
    #: processing statuses get-sarif gives, in order, for every upload (the last one repeats)
    processing: list[str] = field(default_factory=lambda: ["pending", "complete"])
    processing_errors: list[str] | None = None
    #: status to answer get-sarif with (e.g. 404, 503), consumed before the processing statuses
    status_answers: list[int] = field(default_factory=list)
    #: what get-ref knows: "heads/main" -> (object type, sha)
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    base_url: str = ""


def _error_body(operation: str, status: int) -> bytes:
    schema = response_schema(operation, status)
    if schema is None:
        return b""
    body: dict[str, Any] = {"message": {401: "Bad credentials", 403: "Advanced Security must be enabled for this repository to use code scanning.",
                                        404: "Not Found", 422: "Validation Failed", 503: "Service unavailable"}.get(status, "error"),
                            "documentation_url": "https://docs.github.com/rest/code-scanning/code-scanning"}
    if status == 422:
        body["errors"] = [{"resource": "CodeScanningSarifUpload", "code": "invalid", "field": "ref",
                           "message": "ref is not a branch of this repository"}]
    if status == 401:
        body["status"] = "401"
    jsonschema.validate(body, schema)
    return json.dumps(body).encode()


def _make_handler(fake: FakeCodeScanning) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _violation(self, message: str) -> None:
            fake.violations.append(message)
            self._send(400, json.dumps({"message": f"contract violation: {message}"}).encode())

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            match = next(((name, m) for name, verb, pattern in _ROUTES if verb == method
                          for m in [pattern.match(self.path)] if m), None)
            if match is None:
                return self._violation(f"{method} {self.path} is not an operation of the contract")
            name, found = match
            operation = CONTRACT["operations"][name]
            params = found.groupdict()
            for parameter in operation["parameters"]:
                if parameter["in"] == "path" and parameter["required"] and not params.get(parameter["name"]):
                    return self._violation(f"{name}: path parameter {parameter['name']} missing")
            headers = {k.lower(): v for k, v in self.headers.items()}
            if headers.get("accept") != "application/vnd.github+json":
                return self._violation(f"{name}: Accept is {headers.get('accept')!r}")
            if headers.get("x-github-api-version") != API_VERSION_HEADER:
                return self._violation(f"{name}: X-GitHub-Api-Version is {headers.get('x-github-api-version')!r}")
            if not headers.get("user-agent"):
                return self._violation(f"{name}: no User-Agent")
            body = None
            if "requestBody" in operation:
                if headers.get("content-type") != "application/json":
                    return self._violation(f"{name}: Content-Type is {headers.get('content-type')!r}")
                try:
                    body = json.loads(raw)
                    jsonschema.validate(body, json_schema(operation["requestBody"]["content"]["application/json"]["schema"]))
                except (ValueError, jsonschema.ValidationError) as error:
                    return self._violation(f"{name}: body: {getattr(error, 'message', error)}")
            elif raw:
                return self._violation(f"{name}: a body on an operation without one")
            record = Recorded(name, params, headers, body)
            fake.requests.append(record)
            if headers.get("authorization") != f"Bearer {fake.token}":
                return self._send(401, _error_body(name, 401))
            if name == "upload-sarif":
                return self._upload(record)
            if name == "get-ref":
                return self._ref(record)
            return self._status(record)

        def _ref(self, record: Recorded) -> None:
            ref = record.path_params["ref"]
            if ref not in fake.refs:
                return self._send(404, _error_body("get-ref", 404))
            kind, sha = fake.refs[ref]
            params = record.path_params
            repository = f"{fake.base_url}/repos/{params['owner']}/{params['repo']}"
            body = {"ref": f"refs/{ref}", "node_id": "MDM6UmVm", "url": f"{repository}/git/refs/{ref}",
                    "object": {"type": kind, "sha": sha, "url": f"{repository}/git/{kind}s/{sha}"}}
            jsonschema.validate(body, response_schema("get-ref", 200))
            self._send(200, json.dumps(body).encode())

        def _upload(self, record: Recorded) -> None:
            try:
                record.sarif = json.loads(gzip.decompress(base64.b64decode(record.body["sarif"], validate=True)))
            except (ValueError, OSError) as error:
                return self._violation(f"upload-sarif: sarif is not gzip+base64 JSON: {error}")
            answer = fake.upload_answers.pop(0) if fake.upload_answers else None
            if answer is not None:
                return self._send(answer, _error_body("upload-sarif", answer))
            sarif_id = str(uuid.uuid4())
            fake.polls[sarif_id] = 0
            params = record.path_params
            body = {"id": sarif_id, "url": f"{fake.base_url}/repos/{params['owner']}/{params['repo']}/code-scanning/sarifs/{sarif_id}"}
            jsonschema.validate(body, response_schema("upload-sarif", 202))
            self._send(202, json.dumps(body).encode())

        def _status(self, record: Recorded) -> None:
            if fake.status_answers:
                answer = fake.status_answers.pop(0)
                return self._send(answer, _error_body("get-sarif", answer))
            sarif_id = record.path_params["sarif_id"]
            if sarif_id not in fake.polls:
                return self._send(404, _error_body("get-sarif", 404))
            fake.polls[sarif_id] += 1
            status = fake.processing[min(fake.polls[sarif_id], len(fake.processing)) - 1]
            params = record.path_params
            body = {"processing_status": status,
                    "analyses_url": (f"{fake.base_url}/repos/{params['owner']}/{params['repo']}/code-scanning/analyses"
                                     f"?sarif_id={sarif_id}") if status == "complete" else None,
                    "errors": fake.processing_errors if status == "failed" else None}
            jsonschema.validate(body, response_schema("get-sarif", 200))
            self._send(200, json.dumps(body).encode())

    return Handler


class CodeScanningServer:
    """The stand-in served over HTTP on 127.0.0.1 in a thread, for a ``with`` block."""

    def __init__(self, fake: FakeCodeScanning) -> None:
        self.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(fake))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        fake.base_url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "CodeScanningServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
