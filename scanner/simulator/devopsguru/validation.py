"""Server-side validation of DevOps Guru requests against botocore's service model.

botocore validates required parameters on the client, but not enum values, and
a client may turn validation off; the real service answers both with a
ValidationException whose message follows the Coral format
``Value 'X' at 'a.b' failed to satisfy constraint: ...``. The walk below
produces the same messages from the model, so the simulator needs no
hand-written rule per field.
"""
from __future__ import annotations

import re
from typing import Any

from botocore.model import Shape

# Java regex classes the models use that Python's ``re`` does not know.
_JAVA_ONLY = re.compile(r"\\p\{")


def _member_path(parent: str, name: str) -> str:
    # Coral reports member names with a lower-case first letter: serviceIntegration.kMSServerSideEncryption
    name = name[:1].lower() + name[1:]
    return f"{parent}.{name}" if parent else name


def validation_errors(shape: Shape | None, value: Any, path: str = "") -> list[tuple[str, str]]:
    """``(path, message)`` for every constraint ``value`` breaks in ``shape`` (required, enum, length, pattern)."""
    if shape is None:
        return []
    errors: list[tuple[str, str]] = []
    type_name = shape.type_name
    if type_name == "structure":
        if not isinstance(value, dict):
            return [(path, f"Value at '{path}' failed to satisfy constraint: Member must be a structure")]
        for required in shape.required_members:
            if value.get(required) is None:
                member_path = _member_path(path, required)
                errors.append((member_path, f"Value null at '{member_path}' failed to satisfy constraint: Member must not be null"))
        for name, member in shape.members.items():
            if value.get(name) is not None:
                errors.extend(validation_errors(member, value[name], _member_path(path, name)))
        return errors
    if type_name == "list":
        if not isinstance(value, list):
            return [(path, f"Value at '{path}' failed to satisfy constraint: Member must be a list")]
        errors.extend(_length_errors(shape, value, path))
        for index, item in enumerate(value):
            errors.extend(validation_errors(shape.member, item, f"{path}.{index + 1}.member"))
        return errors
    if type_name == "string":
        text = str(value)
        enum = shape.enum
        if enum and text not in enum:
            errors.append((path, f"Value '{text}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(enum)}]"))
            return errors
        errors.extend(_length_errors(shape, text, path))
        pattern = shape.metadata.get("pattern")
        if pattern and not _JAVA_ONLY.search(pattern) and re.fullmatch(pattern, text) is None:
            errors.append((path, f"Value '{text}' at '{path}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"))
        return errors
    return errors


def _length_errors(shape: Shape, value: Any, path: str) -> list[tuple[str, str]]:
    errors = []
    minimum = shape.metadata.get("min")
    maximum = shape.metadata.get("max")
    shown = value if isinstance(value, str) else "list"
    if minimum is not None and len(value) < minimum:
        errors.append((path, f"Value '{shown}' at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {minimum}"))
    if maximum is not None and len(value) > maximum:
        errors.append((path, f"Value '{shown}' at '{path}' failed to satisfy constraint: Member must have length less than or equal to {maximum}"))
    return errors


def summary_message(errors: list[tuple[str, str]]) -> str:
    """Coral's one-line summary: ``2 validation errors detected: A; B``."""
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(message for _, message in errors)
