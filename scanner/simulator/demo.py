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
from typing import Iterator, Sequence

from scanner.errors import UsageError

REPORT_FORMATS = "html,sarif,asff,csv,compliance-csv,markdown"


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
    return parser


def main(argv: Sequence[str]) -> int:
    """Run the demo; returns the scan's exit code (0 with --keep-running)."""
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
        with _environment(sim.environment()):
            from scanner.cli import main as orgscan_main

            code = orgscan_main(
                ["scan", "--org", "--regions", ",".join(scenario.regions), "--format", REPORT_FORMATS, "--output-dir", str(output_dir)]
            )
    _print_summary(output_dir, code)
    return code


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
