"""Test helpers for the Prowler bridge: a stand-in ``prowler`` executable and an account's check context.

The stand-in is a real program run as a real subprocess: it records the argv
and environment it was given, writes whatever OCSF output, stderr and exit
status the test asks for, and can hang to exercise the timeout.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

import botocore.session

from scanner.aws import ActionNames, AwsReader, TargetCache
from scanner.context import Account, CheckContext
from scanner.model import GLOBAL_REGION

DATA = Path(__file__).resolve().parent / "data"
CAPTURED_OCSF = DATA / "prowler-5.46.0-ocsf.json"
CAPTURED_META = json.loads((DATA / "prowler-5.46.0-ocsf.meta.json").read_text(encoding="utf-8"))

_FAKE_PROWLER = """#!{python}
import fcntl, json, os, select, shutil, sys, time
from pathlib import Path

here = Path(__file__).resolve().parent
behaviour = json.loads((here / "behaviour.json").read_text())
argv = sys.argv[1:]
calls = here / "calls"
calls.mkdir(exist_ok=True)
call = {{"argv": argv, "env": dict(os.environ), "pid": os.getpid(), "started": time.time()}}
record = calls / f"{{os.getpid()}}.json"
record.write_text(json.dumps(call))
sys.stderr.write(behaviour.get("stderr", ""))
sys.stderr.flush()
if behaviour.get("hang"):
    # A hung Prowler: blocks until the bridge kills it (the bound only keeps a broken bridge from hanging the suite).
    select.select([], [], [], 600)
if behaviour.get("hold_until_running"):
    # A barrier between runs: each waits until that many runs are going on at once (fewer for the last ones),
    # so runs the bridge allows side by side do overlap, whatever the machine's load; no clock is read.
    gate_path = calls / f"gate-{{os.getpid()}}"
    os.mkfifo(gate_path)
    gate = os.open(gate_path, os.O_RDWR)  # opened before it is announced, so a release never misses it
    with open(calls / "gate.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        waiting = sorted(calls.glob("gate-*"))
        released_path = calls / "gate.released"
        released = int(released_path.read_text()) if released_path.exists() else 0
        if len(waiting) >= min(behaviour["hold_until_running"], behaviour["runs"] - released):
            for path in waiting:
                release = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                os.write(release, b"1")
                os.close(release)
                path.unlink()
            released_path.write_text(str(released + len(waiting)))
    # Bounded: a bridge that allows fewer runs at once than it should leaves this run to go on alone.
    if select.select([gate], [], [], 120)[0]:
        os.read(gate, 1)
    os.close(gate)
output = Path(argv[argv.index("--output-directory") + 1])
name = argv[argv.index("--output-filename") + 1]
if "ocsf_source" in behaviour or "ocsf_text" in behaviour:
    output.mkdir(parents=True, exist_ok=True)
    target = output / (name + ".ocsf.json")
    if "ocsf_source" in behaviour and "as_account" in behaviour:
        # Report on the account the credentials in the environment belong to, as Prowler does.
        import boto3
        caller = boto3.client("sts").get_caller_identity()["Account"]
        call["caller_account"] = caller
        text = Path(behaviour["ocsf_source"]).read_text().replace(behaviour["as_account"], caller)
        target.write_text(text)
    elif "ocsf_source" in behaviour:
        shutil.copyfile(behaviour["ocsf_source"], target)
    else:
        target.write_text(behaviour["ocsf_text"])
call["ended"] = time.time()
record.write_text(json.dumps(call))
sys.exit(behaviour.get("exit_status", 0))
"""


class FakeProwler:
    """A stand-in ``prowler`` in ``directory``; :meth:`behave` sets what its next runs do."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.executable = directory / "prowler"
        self.executable.write_text(_FAKE_PROWLER.format(python=sys.executable), encoding="utf-8")
        self.executable.chmod(0o755)
        self.behave()

    def behave(
        self,
        exit_status: int = 0,
        *,
        ocsf_source: Path | None = None,
        ocsf_text: str | None = None,
        stderr: str = "",
        hang: bool = False,
        hold_until_running: int | None = None,
        runs: int = 0,
        as_caller: bool = False,
    ) -> None:
        """``as_caller`` rewrites the captured account id to the caller's, read with sts:GetCallerIdentity.

        ``hang``: the run never ends by itself (it is killed). ``hold_until_running``: each of the
        next ``runs`` runs waits until that many are going on at once (a barrier, no clock).
        """
        behaviour: dict[str, Any] = {"exit_status": exit_status, "stderr": stderr, "hang": hang,
                                     "hold_until_running": hold_until_running, "runs": runs}
        if as_caller:
            behaviour["as_account"] = CAPTURED_META["account_id"]
        if ocsf_source is not None:
            behaviour["ocsf_source"] = str(ocsf_source)
        if ocsf_text is not None:
            behaviour["ocsf_text"] = ocsf_text
        (self.directory / "behaviour.json").write_text(json.dumps(behaviour), encoding="utf-8")

    def calls(self) -> list[dict[str, Any]]:
        """What each run was given (argv, env, pid) and when it started and ended."""
        return [json.loads(path.read_text()) for path in sorted((self.directory / "calls").glob("*.json"))]


def _no_aws(service: str, region: str) -> Any:
    raise AssertionError(f"the Prowler bridge must not call AWS itself ({service} in {region})")


def account_context(
    account_id: str,
    credentials: Mapping[str, str] | Callable[[bool], Mapping[str, str]],
    api_region: str = "us-east-1",
    scan_regions: tuple[str, ...] = (),
) -> CheckContext:
    """The context orgscan's runner gives an account-wide check, for one account."""
    provider = credentials if callable(credentials) else (lambda fresh: dict(credentials))
    cache = TargetCache(_no_aws, lambda service: None, ActionNames(botocore.session.get_session()))
    return CheckContext(
        account=Account(id=account_id, name="member"),
        region=GLOBAL_REGION,
        api_region=api_region,
        aws=AwsReader(cache, api_region, frozenset({"sts:GetCallerIdentity"}), "prowler_bridge"),
        scan_mode="organization",
        scan_regions=scan_regions,
        credentials_provider=provider,
    )
