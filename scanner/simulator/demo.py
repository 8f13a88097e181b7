"""``orgscan demo``: a real organization scan of the simulated organization, on this machine, in under a minute."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

from scanner.errors import UsageError

REPORT_FORMATS = "html,sarif,asff,csv,compliance-csv,markdown"
#: Where the demo keeps "last week's" scan, the baseline of the one it shows (inside --output-dir).
BASELINE_DIR = "last-week"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orgscan demo",
        description=(
            "Start a simulated AWS Organization on 127.0.0.1, scan it as the management account "
            "(through real role assumption), write every report format and shut it down."
        ),
    )
    parser.add_argument("--scenario", metavar="FILE", help="scenario file (TOML) to serve instead of the shipped default organization")
    parser.add_argument("--accounts", metavar="N", type=int, help="serve a synthetic organization of N accounts instead (benchmarks)")
    parser.add_argument("--latency-ms", metavar="MS", type=float, default=0.0, help="add this much latency to every API call")
    parser.add_argument("--keep-running", action="store_true", help="do not scan: serve the organization and print the variables to export, until Ctrl-C")
    parser.add_argument("--output-dir", metavar="DIR", default="./orgscan-demo", help="where the reports go (default: ./orgscan-demo)")
    parser.add_argument("--single-scan", action="store_true",
                        help="scan once, without the earlier scan the reports are compared with (the default with --accounts)")
    return parser


def main(argv: Sequence[str], run_orgscan: Callable[[list[str]], int] | None = None) -> int:
    """Run the demo; returns the scan's exit code (0 with --keep-running).

    ``run_orgscan`` is ``orgscan``'s own entry point (``scanner.cli.main``), handed over by the
    command line so that the simulator does not import the command line that imports it.
    """
    args = build_parser().parse_args(list(argv))
    try:
        scenario = _scenario(args)
    except UsageError as error:
        print(f"orgscan demo: {error}", file=sys.stderr)
        return 2
    from scanner.simulator import serve

    if args.latency_ms < 0:
        print("orgscan demo: --latency-ms must not be negative", file=sys.stderr)
        return 2
    import logging

    # botocore logs a traceback when it cannot refresh the denied account's role; the scan reports it.
    logging.getLogger("botocore.credentials").setLevel(logging.ERROR)
    # Nothing of the user's AWS setup is read while the demo runs (profiles, config and credentials
    # files, instance metadata): it never reaches real AWS.
    isolated = {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
    with _environment(isolated), serve(scenario, latency_ms=args.latency_ms) as sim:
        if args.keep_running:
            return _keep_running(sim)
        output_dir = Path(args.output_dir)
        print(f"Simulated organization {scenario.organization_id}: {len(scenario.accounts)} accounts, "
              f"regions {', '.join(scenario.regions)}, serving on {sim.endpoint_url}", file=sys.stderr)
        if run_orgscan is None:
            raise TypeError("the demo scans through orgscan's entry point: pass run_orgscan=scanner.cli.main")
        orgscan_main = run_orgscan
        with _environment(sim.environment()):
            accepted = _demo_suppressions(output_dir) if not args.scenario and args.accounts is None else []
            scan = ["scan", "--org", "--regions", ",".join(scenario.regions), "--output-dir"]
            compared: list[str] = []
            if not (args.single_scan or args.accounts is not None):
                # "Last week's" scan, then a week of changes, so that today's reports show a delta.
                baseline_dir = output_dir / BASELINE_DIR
                orgscan_main([*scan, str(baseline_dir), "--quiet", *accepted])
                if (baseline_dir / "results.json").exists():
                    _a_week_later(sim, baseline_dir / "results.json")
                    compared = ["--baseline", str(baseline_dir / "results.json")]
            code = orgscan_main([*scan, str(output_dir), "--format", REPORT_FORMATS, *compared, *accepted])
    _print_summary(output_dir, code)
    return code


DEMO_SUPPRESSIONS = """\
# Accepted risks of the demo organization (docs/suppressions.md), written by `orgscan demo` with dates around today.

[[suppression]]
id = "nonprod-macie"
checks = ["macie_enabled"]
accounts = ["121212121212", "555555555555"]
justification = "Non-production accounts hold no customer data; Macie is enabled with the data platform roll-out (RISK-101)"
owner = "data-protection@example.com"
expires = {in_90_days}

[[suppression]]
id = "research-test-key"
checks = ["kms_key_policy_no_public_access"]
resources = ["arn:aws:kms:us-east-1:121212121212:key/*"]
justification = "Throw-away research key, nothing is encrypted under it; deleted with the sandbox (RISK-117)"
owner = "ml-research-leads@example.com"
expires = {in_30_days}

[[suppression]]
id = "web-dev-trail-migration"
checks = ["cloudtrail_kms_events_logged"]
accounts = ["555555555555"]
justification = "Trail moves to the organization trail (RISK-96)"
owner = "audit@example.com"
expires = {a_week_ago}
"""


def _demo_suppressions(output_dir: Path) -> list[str]:
    """``--suppressions FILE`` for the default organization: a small accepted-risks file, written next to the reports."""
    from datetime import timedelta

    from scanner.output_dir import make_private_dir
    from scanner.reporting import write_private_file
    from scanner.suppressions import today_utc

    today = today_utc()
    make_private_dir(output_dir)
    path = output_dir / "demo-suppressions.toml"
    text = DEMO_SUPPRESSIONS.format(in_90_days=today + timedelta(days=90), in_30_days=today + timedelta(days=30),
                                    a_week_ago=today - timedelta(days=7))
    write_private_file(path, text.encode("utf-8"))
    return ["--suppressions", str(path)]
def _a_week_later(sim, baseline: Path) -> None:  # type: ignore[no-untyped-def]
    """Change the organization as a week of work would, through the accounts' own API: one fix, one new finding.

    A KMS key that last week's scan found open to everyone (and not an accepted risk) gets a policy that trusts only its account;
    another scanned member account creates a key whose policy lets everyone decrypt.
    """
    document = json.loads(baseline.read_text(encoding="utf-8"))
    scan = document["scan"]
    public = next((r for r in document["results"]
                   if r["check_id"] == "kms_key_policy_no_public_access" and r["status"] == "FAIL"
                   and not r.get("suppression")), None)
    if public is not None:
        sim.client("kms", public["region"], account_id=public["account_id"]).put_key_policy(
            KeyId=public["resource_id"], PolicyName="default", Policy=json.dumps(_key_policy(public["account_id"])))
        print(f"A week later: the key {public['resource_id']} of account {public['account_id']} is no longer public,",
              file=sys.stderr)
    # A member account other than the fixed key's if there is one, else the management account.
    candidates = sorted((a["id"] for a in scan["accounts"] if a["status"] == "scanned"
                         and (public is None or a["id"] != public["account_id"])),
                        key=lambda account_id: account_id == scan.get("management_account_id"))
    member = candidates[0] if candidates else None
    if member is not None:
        policy = _key_policy(member)
        policy["Statement"].append({"Sid": "ShareWithEveryone", "Effect": "Allow", "Principal": "*",
                                    "Action": "kms:Decrypt", "Resource": "*"})
        sim.client("kms", scan["regions"][0], account_id=member).create_key(
            Description="shared by mistake", Policy=json.dumps(policy))
        print(f"and account {member} created a key that everyone may use.", file=sys.stderr)


def _key_policy(account_id: str) -> dict:
    # The default key policy's first statement (AWS KMS developer guide, "Default key policy").
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"}]}


def _scenario(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from scanner.simulator import default_scenario, load_scenario, synthetic_scenario

    if args.scenario and args.accounts:
        raise UsageError("give --scenario or --accounts, not both")
    if args.scenario:
        return load_scenario(args.scenario)
    if args.accounts is not None:
        if args.accounts < 1:
            raise UsageError(f"--accounts must be at least 1, got {args.accounts}")
        return synthetic_scenario(args.accounts)
    return default_scenario()


def _print_summary(output_dir: Path, code: int) -> None:
    results = output_dir / "results.json"
    if not results.exists():
        print(f"The scan wrote no results (exit code {code}).", file=sys.stderr)
        return
    document = json.loads(results.read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    for result in document.get("results", []):
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    accounts = document.get("scan", {}).get("accounts", [])
    by_status: dict[str, int] = {}
    for account in accounts:
        by_status[account.get("status", "?")] = by_status.get(account.get("status", "?"), 0) + 1
    print(f"Accounts: {', '.join(f'{n} {s}' for s, n in sorted(by_status.items()))}")
    print(f"Results: {', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}")
    accepted = document.get("suppressions")
    if accepted:
        print(f"Accepted risks: {accepted['suppressed']} FAIL(s) suppressed by {accepted['source']}, "
              f"{len(accepted['expired'])} entry(ies) expired, {len(accepted['unused'])} unused")
    baseline = document.get("baseline")
    if isinstance(baseline, dict):
        new = sum(1 for r in document.get("results", []) if r.get("change") == "new" and r["status"] == "FAIL")
        print(f"Since last week's scan ({output_dir / BASELINE_DIR}): {new} new FAIL, "
              f"{len(document.get('fixed') or [])} fixed, {baseline['counts'].get('changed', 0)} changed")
    report = output_dir / "report.html"
    if report.exists():
        print(f"HTML report: {report.resolve()}")
    print(f"All reports: {output_dir.resolve()}")


def _keep_running(sim) -> int:  # type: ignore[no-untyped-def]
    print(f"Simulated organization {sim.scenario.organization_id} is serving on {sim.endpoint_url}.")
    print("In another shell, export these and run for example `orgscan scan --org --regions "
          f"{','.join(sim.scenario.regions)}`:")
    for name, value in sim.environment().items():
        print(f"export {name}={value}")
    print("Press Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("Stopped.", file=sys.stderr)
    return 0


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Point the SDK at the simulator for the scan, and put the environment back afterwards."""
    cleared = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
    endpoint_overrides = [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")]
    saved = {name: os.environ.get(name) for name in (*values, *cleared, *endpoint_overrides)}
    for name in (*cleared, *endpoint_overrides):
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
