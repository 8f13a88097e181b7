"""The ``json`` format: ``results.json``, the canonical result document every other report is made from."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Mapping

from scanner import hookimpl
from scanner.reporting import ReportFormat, private_file

FILE_NAME = "results.json"


JSON_OPTIONS = {"indent": 2, "sort_keys": True, "ensure_ascii": False, "allow_nan": False}


def render_document(document: Mapping[str, Any]) -> bytes:
    """The document as UTF-8 JSON: sorted keys and fixed indentation, so equal documents give equal bytes.

    NaN and infinities are refused: they are not JSON and other tools could not read the file.
    """
    return (json.dumps(document, **JSON_OPTIONS) + "\n").encode("utf-8")


def write_document(document: Mapping[str, Any], output_dir: Path) -> list[Path]:
    """Write ``results.json`` into ``output_dir`` (atomically, owner-only), streamed: never one large string."""
    path = Path(output_dir) / FILE_NAME
    with private_file(path) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8", write_through=False)
        json.dump(document, text, **JSON_OPTIONS)
        text.write("\n")
        text.flush()
        text.detach()
    return [path]


@hookimpl
def orgscan_register_report_formats() -> list[ReportFormat]:
    return [ReportFormat("json", "results.json, the canonical result document (always written)", write_document)]
