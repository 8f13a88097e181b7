"""Serve a synthetic simulated organization on loopback in a process of its own (for ``bench/run.py``).

The server runs apart from the scanner so that its CPU does not count against
the scanner and the scanner's memory can be measured alone. It prints one JSON
line describing the organization (endpoint, management credentials for the
simulation, accounts, regions), then answers one JSON line per command read
from stdin:

- ``counts``: the API calls seen since the last ``reset``, as
  ``[[account_id, region, iam_action, n], ...]``
- ``repeats``: identical calls (same account, region, action and parameters) made
  more than once since the last ``reset``, as ``[[account_id, region, iam_action, extra_calls], ...]``
- ``reset``: forget the call counts
- ``quit`` (or end of input): stop serving
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter


class IdenticalCalls:
    """Counts calls by account, region, action and parameters: a repeated identical read is a cache miss."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter = Counter()

    def add(self, call) -> None:
        key = (call.account_id, call.region, call.action, json.dumps(call.params, sort_keys=True, default=str))
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> Counter:
        with self._lock:
            return Counter(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def count_identical_calls(sim) -> IdenticalCalls:
    """Wrap the simulation's interceptor (every call passes it first) to also count identical calls."""
    identical = IdenticalCalls()
    original = sim.interceptor.before

    def before(call):
        identical.add(call)
        return original(call)

    sim.interceptor.before = before
    return identical


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--regions", required=True, help="comma-separated")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from scanner.simulator import serve, synthetic_scenario

    regions = tuple(args.regions.split(","))
    started = time.monotonic()
    scenario = synthetic_scenario(accounts=args.accounts, regions=regions, seed=args.seed)
    with serve(scenario, latency_ms=args.latency_ms) as sim:
        identical = count_identical_calls(sim)
        accounts = [{"id": a.id, "name": a.name, "status": a.status} for a in scenario.accounts]
        print(
            json.dumps(
                {
                    "environment": sim.environment(),
                    "management_account_id": sim.management_account_id,
                    "role_name": scenario.role_name,
                    "regions": list(sim.regions),
                    "accounts": accounts,
                    "setup_seconds": round(time.monotonic() - started, 2),
                }
            ),
            flush=True,
        )
        for line in sys.stdin:
            command = line.strip()
            if command == "counts":
                counts = [[a, r, action, n] for (a, r, action), n in sorted(sim.call_counts().items())]
                print(json.dumps({"counts": counts}), flush=True)
            elif command == "repeats":
                extra: Counter = Counter()
                for (account, region, action, _), n in identical.snapshot().items():
                    if n > 1:
                        extra[(account, region, action)] += n - 1
                print(json.dumps({"repeats": [[a, r, action, n] for (a, r, action), n in sorted(extra.items())]}), flush=True)
            elif command == "reset":
                sim.interceptor.reset_counts()
                identical.reset()
                print(json.dumps({"ok": True}), flush=True)
            elif command == "quit":
                break
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
