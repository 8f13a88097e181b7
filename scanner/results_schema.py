"""The one shipped JSON Schema of ``results.json``, and safe reading of JSON that orgscan did not just write.

Every reader of a result document goes through here: ``orgscan report``,
``orgscan upload securityhub``, ``--resume`` (each spooled record is checked
against the schema's ``result`` definition) and the tests. JSON is parsed with
limits first, so that hostile input becomes one line naming the file, never a
traceback: ``NaN``/``Infinity`` (not JSON), integers beyond +-2**53 (Python
refuses to convert more than 4,300 digits; JavaScript readers lose precision
far earlier), numbers that overflow to infinity, and nesting deeper than the
parser's recursion limit.
"""
from __future__ import annotations

import functools
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import jsonschema

from scanner.errors import DocumentError
from scanner.sanitizer import MAX_SAFE_INTEGER, safe_text
from scanner.user_files import read_bounded

SCHEMA_RESOURCE = "schemas/results.schema.json"
#: Digits an integer literal may have before it is refused unread (2**53 has 16).
MAX_INTEGER_DIGITS = 20
#: Largest results.json read (bytes): far above any real scan, far below what exhausts memory.
MAX_DOCUMENT_BYTES = 2 * 1024**3


class UnsafeJson(ValueError):
    """JSON that is valid syntax but unsafe to hold: a non-finite or oversized number."""


def _parse_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise UnsafeJson(f"an integer of {len(literal.lstrip('-'))} digits")
    value = int(literal)
    if abs(value) > MAX_SAFE_INTEGER:
        raise UnsafeJson(f"the integer {literal} is beyond +-2**53")
    return value


def _parse_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise UnsafeJson(f"the number {literal[:40]} overflows")
    return value


def _parse_constant(name: str) -> Any:
    raise UnsafeJson(f"{name} is not JSON")


def parse_json(text: str | bytes, source: str) -> Any:
    """``text`` parsed as strict JSON; :class:`DocumentError` naming ``source`` (and line:column) otherwise."""
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except json.JSONDecodeError as error:
        raise DocumentError(f"{source}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
    except UnsafeJson as error:
        raise DocumentError(f"{source}: unsafe JSON: {error}") from None
    except RecursionError:
        raise DocumentError(f"{source}: not a usable JSON document: nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise DocumentError(f"{source}: not a usable JSON document: {safe_text(str(error), 200)}") from None


def read_json_file(path: Path, source: str | None = None, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """The JSON file at ``path``, parsed by :func:`parse_json`; :class:`DocumentError` when missing or unreadable."""
    source = source or str(path)
    data = read_bounded(path, max_bytes, source, DocumentError)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DocumentError(f"{source}: not UTF-8 (byte {error.start})") from None
    return parse_json(text, source)


@functools.lru_cache(maxsize=1)
def results_schema() -> dict[str, Any]:
    """The shipped JSON Schema of results.json (``scanner/schemas/results.schema.json``)."""
    return json.loads(resources.files("scanner").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _document_validator() -> jsonschema.protocols.Validator:
    schema = results_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@functools.lru_cache(maxsize=1)
def _result_validator() -> jsonschema.protocols.Validator:
    schema = results_schema()
    # Only the definitions: the document's own top-level keywords must not apply to a record.
    return jsonschema.validators.validator_for(schema)({"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/result"})


def _one_line(error: jsonschema.ValidationError) -> str:
    place = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path).lstrip(".")
    return f"{place or 'the document'}: {safe_text(error.message, 160)}"


def schema_problem(document: Any) -> str | None:
    """The first place where ``document`` breaks the results schema, as one line; ``None`` when it conforms."""
    error = jsonschema.exceptions.best_match(_document_validator().iter_errors(document))
    return None if error is None else _one_line(error)


def result_problem(record: Mapping[str, Any]) -> str | None:
    """Where one result record breaks the schema's ``result`` definition; ``None`` when it conforms."""
    error = jsonschema.exceptions.best_match(_result_validator().iter_errors(record))
    return None if error is None else _one_line(error)


def validate_document(document: Any, source: str = "results.json") -> None:
    """Nothing, or :class:`DocumentError` naming ``source`` and the first place that breaks the schema."""
    if isinstance(document, Mapping) and document.get("schema_version") not in (1, None) and isinstance(document.get("schema_version"), int):
        raise DocumentError(f"{source}: schema_version {document['schema_version']} is not supported (this orgscan reads 1)")
    problem = schema_problem(document)
    if problem is not None:
        raise DocumentError(f"{source}: not an orgscan result document (schema version 1): {problem}")


def load_document(path: Path) -> dict[str, Any]:
    """The result document at ``path``, parsed safely and valid against the schema; :class:`DocumentError` otherwise."""
    document = read_json_file(Path(path))
    validate_document(document, str(path))
    return document
