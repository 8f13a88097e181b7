"""Compliance frameworks as data: files that map a framework's control ids to check ids, and the per-control summary.

A framework file (TOML, ``docs/frameworks.md``) is the one home of the
decision "this check implements that control". Plugins ship them through the
``orgscan_register_frameworks`` hook (the built-in ones come from
``checks/frameworks``, registered like any plugin). Each file is validated
against ``scanner/schemas/framework.schema.json`` when loaded; a wrong one is a
usage error (exit 2) naming the file, the entry and the field.

The loaded frameworks are recorded in the result document (``scan.frameworks``),
so the per-control summary (``summary.compliance``) and every report are
computed from the document alone.
"""
from __future__ import annotations

import functools
import json
import sys
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import jsonschema
import pluggy

from scanner.errors import UsageError
from scanner.sanitizer import safe_text
from scanner.user_files import read_bounded

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SCHEMA_RESOURCE = "schemas/framework.schema.json"
#: A framework file larger than this is refused unread: the largest real framework (hundreds of controls) is far smaller.
MAX_FRAMEWORK_BYTES = 1024**2
#: What a control is, from the results of its checks: worst first.
CONTROL_STATUSES = ("FAIL", "ERROR", "PASS", "NOT_APPLICABLE", "NO_RESULTS")


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    checks: tuple[str, ...]
    url: str = ""


@dataclass(frozen=True)
class Framework:
    """A framework and its controls, as a framework file declares them."""

    id: str
    name: str
    controls: tuple[Control, ...]
    version: str = ""
    url: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The framework as ``scan.frameworks[]`` records it (``source`` is where it was read, not recorded)."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "url": self.url,
            "controls": [{"id": c.id, "title": c.title, "url": c.url, "checks": list(c.checks)} for c in self.controls],
        }


@functools.lru_cache(maxsize=1)
def framework_schema() -> dict[str, Any]:
    """The shipped JSON Schema of a framework file (``scanner/schemas/framework.schema.json``)."""
    schema = json.loads(resources.files("scanner").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema).check_schema(schema)
    return schema


def load_framework(path: str | Path) -> Framework:
    """The framework in the TOML file at ``path``; UsageError (one line naming the file, entry and field) otherwise."""
    source = str(path)
    data = read_bounded(path, MAX_FRAMEWORK_BYTES, f"framework file {source}")
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"framework file {source}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"framework file {source}: not valid TOML: {safe_text(str(error), 200)}") from None
    schema = framework_schema()
    error = jsonschema.exceptions.best_match(jsonschema.validators.validator_for(schema)(schema).iter_errors(raw))
    if error is not None:
        place = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path).lstrip(".")
        raise UsageError(f"framework file {source}: {place or 'the file'}: {safe_text(error.message, 200)}")
    controls = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw["controls"]):
        if entry["id"] in seen:
            raise UsageError(f"framework file {source}: controls[{index}].id: {entry['id']!r} is already controls[{seen[entry['id']]}]")
        seen[entry["id"]] = index
        controls.append(Control(entry["id"], entry["title"], tuple(entry["checks"]), entry.get("url", "")))
    head = raw["framework"]
    return Framework(head["id"], head["name"], tuple(controls), head.get("version", ""), head.get("url", ""), source)


def collect_frameworks(manager: pluggy.PluginManager) -> list[Framework]:
    """Every framework the plugins ship (``orgscan_register_frameworks``), loaded and validated, sorted by id.

    Two files declaring one framework id (or one name) are a usage error naming both.
    """
    frameworks: dict[str, Framework] = {}
    names: dict[str, Framework] = {}
    for contributed in manager.hook.orgscan_register_frameworks():
        for path in contributed or []:
            framework = load_framework(path)
            earlier = frameworks.get(framework.id) or names.get(framework.name)
            if earlier is not None:
                raise UsageError(f"framework file {framework.source}: framework {framework.id!r} ({framework.name}) "
                                 f"is also declared by {earlier.source}")
            frameworks[framework.id] = names[framework.name] = framework
    return [frameworks[key] for key in sorted(frameworks)]


def mappings_by_check(frameworks: Iterable[Framework]) -> dict[str, list[dict[str, str]]]:
    """``{check id: [{"framework": name, "control": id}, ...]}``: what ``scan.checks[].compliance`` shows."""
    mappings: dict[str, list[dict[str, str]]] = {}
    for framework in frameworks:
        for control in framework.controls:
            for check_id in control.checks:
                mappings.setdefault(check_id, []).append({"framework": framework.name, "control": control.id})
    return mappings


def check_entry(metadata: Any, mappings: Mapping[str, list[dict[str, str]]]) -> dict[str, Any]:
    """A check's metadata as ``scan.checks[]`` (and ``orgscan checks list``) show it, ``compliance`` from the framework files.

    ``mappings`` is :func:`mappings_by_check` of the loaded frameworks. A plugin check may
    still declare ``CheckMetadata.compliance`` itself: those mappings are kept after the
    framework files' ones, but only a framework file gives the per-control summary.
    """
    entry = metadata.to_dict()
    mapped = list(mappings.get(metadata.id, []))
    entry["compliance"] = mapped + [m for m in entry["compliance"] if m not in mapped]
    return entry


def compliance_summary(frameworks: Sequence[Mapping[str, Any]], results: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per framework, per control: its status, PASS/FAIL/ERROR/NOT_APPLICABLE counts and the accounts failing it.

    ``frameworks`` is ``scan.frameworks`` of a document. A control's counts are
    those of every result of its checks; its status is FAIL if any is, else
    ERROR, else PASS, else NOT_APPLICABLE; NO_RESULTS when none of its checks
    produced a result (not selected, or not loaded).
    """
    per_check: dict[str, Counter] = {}
    failing: dict[str, set[str]] = {}
    for result in results:
        per_check.setdefault(result["check_id"], Counter())[result["status"]] += 1
        if result["status"] == "FAIL":
            failing.setdefault(result["check_id"], set()).add(result["account_id"])
    summary = []
    for framework in frameworks:
        controls = []
        for control in framework.get("controls") or []:
            counts: Counter = Counter()
            accounts: set[str] = set()
            for check_id in control.get("checks") or []:
                counts.update(per_check.get(check_id, Counter()))
                accounts |= failing.get(check_id, set())
            status = next((s for s in CONTROL_STATUSES[:4] if counts[s]), "NO_RESULTS")
            controls.append({
                "id": control["id"],
                "title": control.get("title", ""),
                "status": status,
                "counts": {s: counts[s] for s in ("PASS", "FAIL", "ERROR", "NOT_APPLICABLE")},
                "failing_accounts": sorted(accounts),
                "checks": list(control.get("checks") or []),
            })
        summary.append({
            "framework": framework["id"],
            "name": framework.get("name", ""),
            "version": framework.get("version", ""),
            "controls": controls,
            "by_status": {s: sum(1 for c in controls if c["status"] == s) for s in CONTROL_STATUSES},
        })
    return summary
