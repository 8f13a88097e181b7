"""Compare two orgscan checkouts scanning the SAME simulated organization: is this one slower than that one?

    python bench/compare.py --baseline /path/to/earlier/checkout --rounds 4 --checks a,b,c

``bench/run.py`` runs each version against its own simulator, and on a machine of two cores the simulator's
CPU is the scanner's wall time too: a simulator that got more expensive per call (more services, more
layers) makes the scanner look slower. Here one simulator process (this checkout's ``bench/simserver.py``)
serves both, after one unmeasured warm-up run, and their runs alternate (baseline, this, this, baseline, ...),
so machine noise falls on both alike. The baseline checkout needs its own virtual environment (``.venv`` inside it, or ``--baseline-python``)
with orgscan installed; its ``orgscan scan`` must accept the options ``bench/run.py`` passes.

Quotes the median wall time, orgscan CPU, simulator CPU and API calls of each side, and the ratio of the
medians. See docs/benchmarks.md for the method and the numbers.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as bench  # noqa: E402 - bench/run.py, this directory's harness


@dataclass(frozen=True)
class Side:
    label: str
    python: str
    checkout: Path


@dataclass(frozen=True)
class Measurement:
    wall_seconds: float
    cpu_seconds: float
    server_cpu_seconds: float
    calls: Counter


def measure(side: Side, server: bench.SimServer, regions: list[str], output_dir: Path, checks: list[str] | None,
            concurrency: int | None) -> Measurement:
    command = bench.orgscan_command(regions, output_dir, checks, concurrency)
    command[0] = side.python
    server.reset_counts()
    server_cpu_before = server.cpu_seconds()
    process = bench.run_measured(command, bench.scanner_environment(server, output_dir.parent), cwd=str(side.checkout))
    if process.exit_status not in (0, 1, 3):
        raise SystemExit(f"compare: {side.label} orgscan exited with status {process.exit_status}: {process.stderr_tail}")
    calls: Counter = Counter()
    for (_, _, action), n in server.call_counts().items():
        calls[action] += n
    return Measurement(process.wall_seconds, process.cpu_seconds, server.cpu_seconds() - server_cpu_before, calls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="the earlier checkout (a git worktree of the release)")
    parser.add_argument("--baseline-python", default=None, help="its Python (default: BASELINE/.venv/bin/python)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each side; medians are quoted (default 3)")
    parser.add_argument("--accounts", type=int, default=100, help="accounts in the synthetic organization (default 100)")
    parser.add_argument("--regions", type=int, default=2, help="number of regions (default 2)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency added to every API call (default 50)")
    parser.add_argument("--concurrency", type=int, default=None, help="orgscan --concurrency for both (default: each one's own)")
    parser.add_argument("--checks", default=None, help="comma-separated check ids both versions have (default: each one's all)")
    args = parser.parse_args(argv)

    baseline_python = args.baseline_python or str(args.baseline / ".venv" / "bin" / "python")
    if not os.access(baseline_python, os.X_OK):
        parser.error(f"--baseline-python: {baseline_python} is not an executable file")
    sides = [Side("baseline", baseline_python, args.baseline.resolve()), Side("this checkout", sys.executable, bench.REPOSITORY)]
    regions = list(bench.REGION_ORDER[: args.regions])
    checks = args.checks.split(",") if args.checks else None
    measured: dict[str, list[Measurement]] = {side.label: [] for side in sides}

    with tempfile.TemporaryDirectory(prefix="orgscan-compare-") as tmp:
        print(f"compare: serving {args.accounts} accounts x {len(regions)} regions at {args.latency_ms:g} ms per call ...", file=sys.stderr)
        server = bench.SimServer(args.accounts, regions, args.latency_ms, seed=0)
        try:
            # The simulator's first requests to each service and account build moto backends and load service
            # models: an unmeasured run pays that, so that neither side measured first pays it alone.
            measure(sides[1], server, regions, Path(tmp) / "warm-up", checks, args.concurrency)
            for round_number in range(args.rounds):
                # ABBA order: a drift in the machine's load over the rounds falls on both sides alike.
                for side in (sides if round_number % 2 == 0 else sides[::-1]):
                    output_dir = Path(tmp) / f"{side.label.replace(' ', '-')}-{round_number}"
                    result = measure(side, server, regions, output_dir, checks, args.concurrency)
                    measured[side.label].append(result)
                    print(f"compare: {side.label} run {round_number + 1}: {result.wall_seconds:.1f} s wall, "
                          f"{result.cpu_seconds:.1f} s orgscan CPU, {result.server_cpu_seconds:.1f} s simulator CPU, "
                          f"{sum(result.calls.values())} calls (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
        finally:
            server.close()

    print("| | wall time (median) | orgscan CPU | simulator CPU | API calls |")
    print("|---|---|---|---|---|")
    medians = {}
    for label, runs in measured.items():
        wall = statistics.median(r.wall_seconds for r in runs)
        medians[label] = wall
        walls = ", ".join(f"{r.wall_seconds:.1f}" for r in runs)
        print(f"| {label} | {wall:.1f} s ({walls}) | {statistics.median(r.cpu_seconds for r in runs):.1f} s | "
              f"{statistics.median(r.server_cpu_seconds for r in runs):.1f} s | {sum(runs[0].calls.values()):,} |")
    ratio = medians["this checkout"] / medians["baseline"]
    print(f"\nThis checkout / baseline, median wall time: {ratio:.3f}")
    before, after = measured["baseline"][0].calls, measured["this checkout"][0].calls
    changed = sorted((action for action in set(before) | set(after) if before[action] != after[action]),
                     key=lambda action: after[action] - before[action])
    if changed:
        print("\n| API calls that changed | baseline | this checkout |")
        print("|---|---|---|")
        for action in changed:
            print(f"| {action} | {before[action]} | {after[action]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
