"""Writes code-scanning-openapi.json: the three operations ``orgscan upload github`` calls.

Source: GitHub's OpenAPI description as the ``@octokit/openapi`` npm package ships it
(``generated/api.github.com.json``; every local ``$ref`` is resolved here). To refresh::

    cd /tmp && npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz
    python tests/scanner/integrations/data/extract_code_scanning_openapi.py \
        /tmp/package/generated/api.github.com.json

Kept: ``code-scanning/upload-sarif``, ``code-scanning/get-sarif`` and ``git/get-ref`` (path, parameters,
request body, responses), and GitHub's generic 401 (``requires_authentication``) and 422 (``validation_failed``)
answers from ``components.responses``, which the two operations do not list but any endpoint can give.
The long Markdown descriptions of the operations are dropped; schema descriptions are kept.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

OPERATIONS = {
    "upload-sarif": ("/repos/{owner}/{repo}/code-scanning/sarifs", "post"),
    "get-sarif": ("/repos/{owner}/{repo}/code-scanning/sarifs/{sarif_id}", "get"),
    # `--commit-sha` left out: the commit --ref points at
    "get-ref": ("/repos/{owner}/{repo}/git/ref/{ref}", "get"),
}
GENERIC_RESPONSES = {"401": "requires_authentication", "422": "validation_failed"}


def _resolve(node, document):
    """Returns ``node`` with every local ``$ref`` replaced by what it points at."""
    if isinstance(node, dict):
        if set(node) == {"$ref"} and node["$ref"].startswith("#/"):
            target = document
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            return _resolve(target, document)
        return {key: _resolve(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, document) for item in node]
    return node


def main(source: str) -> None:
    document = json.loads(Path(source).read_text())
    extracted = {
        "source": "npm package @octokit/openapi, generated/api.github.com.json",
        "package_version": document["info"]["version"],
        "operations": {},
        "generic_responses": {},
    }
    for name, (path, method) in OPERATIONS.items():
        operation = dict(document["paths"][path][method])
        operation.pop("description", None)
        extracted["operations"][name] = {"path": path, "method": method.upper(), **_resolve(operation, document)}
    for status, component in GENERIC_RESPONSES.items():
        extracted["generic_responses"][status] = _resolve(document["components"]["responses"][component], document)
    out = Path(__file__).with_name("code-scanning-openapi.json")
    out.write_text(json.dumps(extracted, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out} from @octokit/openapi {extracted['package_version']}")


if __name__ == "__main__":
    main(sys.argv[1])
