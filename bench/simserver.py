"""Serve a synthetic simulated organization on loopback in a process of its own (for ``bench/run.py``).

The server runs apart from the scanner so that its CPU does not count against
the scanner and the scanner's memory can be measured alone. It prints one JSON
line describing the organization (endpoint, management credentials for the
simulation, accounts, regions), then answers one JSON line per command read
from stdin:

- ``counts``: the API calls seen since the last ``reset``, as
  ``[[account_id, region, iam_action, n], ...]``
- ``repeats``: identical calls (same account, region, action and parameters) made
  more than once since the last ``reset``, as ``[[account_id, region, iam_action, extra_calls, parameters_json], ...]``
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
        # REST services carry parameters in the path and query string, which the parsed params lack.
        request = getattr(call, "bench_request", ("", ""))
        key = (call.account_id, call.region, call.action, json.dumps([request, call.params], sort_keys=True, default=str))
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
    from scanner.simulator import interceptor

    identify = interceptor.identify

    def identify_with_request(method, path, query, headers, body):
        call = identify(method, path, query, headers, body)
        if call is not None:
            call.bench_request = (path, query)
        return call

    # The loopback server's middleware looks identify up in its module on every request.
    interceptor.identify = identify_with_request
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
                repeated = [[a, r, action, n - 1, params] for (a, r, action, params), n in sorted(identical.snapshot().items()) if n > 1]
                print(json.dumps({"repeats": repeated}), flush=True)
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
