"""Check options: each check declares them (``CheckMetadata.option_schemas``), the host validates them once.

A check names its options and gives one JSON Schema per option (with a
``default`` where it has one). Every ``[checks.<id>]`` table of the config file
is validated against those schemas when the scan is planned, before any AWS
call (:func:`validate_check_options`): a wrong value, an unknown option or a
table for a check that is not loaded is a :class:`UsageError` (exit 2) naming
the file, the table and the key. A check then reads its options with
:func:`option_values`, which fills in the defaults and validates nothing: the
same options are not judged again on every target.
"""
from __future__ import annotations

import difflib
import functools
import json
from typing import TYPE_CHECKING, Any, Mapping

from scanner.errors import UsageError
from scanner.sanitizer import safe_text

if TYPE_CHECKING:  # pragma: no cover
    from scanner.model import Check, CheckMetadata

#: Longest check id or option name quoted back in an error: a table name is the user's, but stays one short line.
MAX_QUOTED = 80


def normalised_names(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with ``-`` in names read as ``_`` (the config file allows both spellings)."""
    return {str(name).replace("-", "_"): value for name, value in options.items()}


def option_values(metadata: "CheckMetadata", options: Mapping[str, Any] | None) -> dict[str, Any]:
    """A check's options, already validated at planning, with each declared option's ``default`` filled in."""
    values = {name: schema["default"] for name, schema in metadata.option_schemas.items() if "default" in schema}
    values.update(normalised_names(options or {}))
    return values


def validate_check_options(checks: Mapping[str, "Check"], check_options: Mapping[str, Mapping[str, Any]],
                           source: str | None = None) -> None:
    """Nothing, or a UsageError naming ``source`` (the config file), the ``[checks.<id>]`` table and the key that is wrong.

    ``checks`` are every loaded check (not only the selected ones): a table for
    an id no loaded check has is refused, as ``--checks`` refuses such an id.
    A check that declares no options takes none. A check whose own option
    schemas are not JSON Schemas is refused too, naming it (a plugin's mistake).
    """
    for check in checks.values():
        try:
            check_option_schemas(check.metadata)
        except ValueError as error:
            raise UsageError(str(error)) from None
    prefix = f"{source} " if source else ""
    for check_id, options in check_options.items():
        table = f"{prefix}[checks.{_quoted(check_id)}]"
        check = checks.get(check_id)
        if check is None:
            raise UsageError(f"{table}: no loaded check has this id{_suggestion(check_id, checks)} (see `orgscan checks list`)")
        schemas = check.metadata.option_schemas
        for name, value in normalised_names(options).items():
            if name not in schemas:
                known = f"known: {', '.join(sorted(schemas))}" if schemas else "this check takes no options"
                raise UsageError(f"{table} {_quoted(name)}: unknown option{_suggestion(name, schemas)} ({known})")
            problem = value_problem(schemas[name], value)
            if problem is not None:
                where, expected = problem
                raise UsageError(f"{table} {_quoted(name)}{where}: expected {expected}")


def value_problem(schema: Mapping[str, Any], value: Any) -> tuple[str, str] | None:
    """``None`` when ``value`` fits ``schema``; else where inside the value it does not (``""``, ``.key``, ``[2]``) and what was expected."""
    errors = list(_validator(json.dumps(schema, sort_keys=True)).iter_errors(value))
    if not errors:
        return None
    # The shallowest error first: its schema describes the whole of what was expected there.
    error = min(errors, key=lambda e: len(e.absolute_path))
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{_quoted(str(part))}" for part in error.absolute_path)
    return where, describe(error.schema) if isinstance(error.schema, Mapping) else safe_text(error.message, 200)


def check_option_schemas(metadata: "CheckMetadata") -> None:
    """Raise ValueError unless every option schema of ``metadata`` is a valid JSON Schema (a plugin author's mistake)."""
    import jsonschema

    for name, schema in metadata.option_schemas.items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as error:
            raise ValueError(f"check {metadata.id}: option {name!r}: not a JSON Schema: {error.message}") from None
        if "default" in schema and value_problem(schema, schema["default"]) is not None:
            raise ValueError(f"check {metadata.id}: option {name!r}: its default does not fit its own schema")


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    import jsonschema

    # Formats are checked too: "regex" compiles the pattern as Python's re does.
    return jsonschema.Draft202012Validator(json.loads(schema_json), format_checker=jsonschema.FormatChecker())


def describe(schema: Mapping[str, Any]) -> str:
    """What a value fitting ``schema`` looks like, in words ("a whole number from 1 to 36500", "true or false")."""
    if "enum" in schema:
        return "one of " + ", ".join(_literal(choice) for choice in schema["enum"])
    if "const" in schema:
        return _literal(schema["const"])
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return " or ".join(describe(option) for option in schema[keyword])
    kind = schema.get("type")
    if kind == "boolean":
        return "true or false"
    if kind in ("integer", "number"):
        return ("a whole number" if kind == "integer" else "a number") + _range(schema)
    if kind == "string":
        if schema.get("format") == "regex":
            return "a regular expression"
        return "a non-empty string" if schema.get("minLength", 0) >= 1 else "a string"
    if kind == "array":
        items = schema.get("items")
        each = describe(items) if isinstance(items, Mapping) else ""
        plural = {"a string": "strings", "a regular expression": "regular expressions", "a whole number": "whole numbers"}
        listed = "a non-empty list" if schema.get("minItems", 0) >= 1 else "a list"
        if each in plural:
            return f"{listed} of {plural[each]}"
        return f"{listed}, each {each}" if each else listed
    if kind == "object":
        values = schema.get("additionalProperties")
        table = "a non-empty table" if schema.get("minProperties", 0) >= 1 else "a table"
        return f"{table} of key = {describe(values)}" if isinstance(values, Mapping) else table
    return "a value of the documented form"


def _range(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" of at least {low}"
    if high is not None:
        return f" of at most {high}"
    if schema.get("exclusiveMinimum") is not None:
        return f" above {schema['exclusiveMinimum']}"
    return ""


def _literal(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _quoted(name: str) -> str:
    """A name from the config file (or a plan read back), made safe and short enough for one line."""
    return "".join(c if c.isprintable() else "?" for c in safe_text(name, MAX_QUOTED))


def _suggestion(name: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
