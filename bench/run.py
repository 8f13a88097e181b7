"""orgscan's benchmark: a synthetic organization on loopback with real per-call latency, orgscan against it,
and Prowler's documented multi-account loop side by side on the same organization and checks.

    python bench/run.py --accounts 100 --regions 2 --latency-ms 50 --prowler-bin /opt/prowler-venv/bin/prowler

The simulated organization runs in a process of its own (``bench/simserver.py``),
so its CPU does not count against the scanner and the scanner's memory is
measured alone (peak RSS from ``wait4``). Not part of the test suite; see
``docs/benchmarks.md`` for the method and the numbers.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
REGION_ORDER = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1", "ca-central-1")

#: The checks both tools have, orgscan id -> Prowler id (the side-by-side comparison runs only these).
#: orgscan's rotation check covers the key DevOps Guru encrypts with; Prowler's covers every
#: customer managed key, so it judges more keys (counted as "only prowler" per resource).
OVERLAP = {
    "devopsguru_cmk_rotation_enabled": "kms_cmk_rotation_enabled",
    "kms_key_policy_no_public_access": "kms_key_not_publicly_accessible",
    "cloudtrail_multi_region_logging": "cloudtrail_multi_region_enabled",
    "cloudtrail_log_file_validation": "cloudtrail_log_file_validation_enabled",
    "cloudtrail_cmk_encryption": "cloudtrail_kms_encryption_enabled",
    "iam_root_mfa_enabled": "iam_root_mfa_enabled",
}

#: Prowler's documented way to scan several accounts: a shell loop, this many accounts at a time.
PROWLER_PARALLEL_ACCOUNTS = 3

#: Calls of one target that must wait for an earlier answer: the role's credentials, a list, then a
#: describe of what the list returned. See docs/benchmarks.md, "The latency bound".
TARGET_CHAIN = 3

#: Variables of the machine's own AWS setup that must not leak into a benchmark process.
_AWS_VARIABLES = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_REGION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)


# -- processes ---------------------------------------------------------------------------------


@dataclass
class ProcessRun:
    """One finished process: exit status, wall time, peak resident memory (the process and its waited children)."""

    command: list[str]
    exit_status: int
    wall_seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    stderr_tail: str = ""


def run_measured(command: list[str], environment: Mapping[str, str], cwd: str | None = None) -> ProcessRun:
    """Run ``command`` to the end and measure it with ``wait4`` (exact peak RSS, no sampling)."""
    with tempfile.TemporaryFile() as stderr:
        started = time.monotonic()
        process = subprocess.Popen(command, env=dict(environment), cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        stderr.seek(0)
        tail = stderr.read().decode("utf-8", "replace")[-1500:]
    return ProcessRun(
        command=command,
        exit_status=process.returncode,
        wall_seconds=wall,
        peak_rss_mb=usage.ru_maxrss / 1024.0,  # kilobytes on Linux
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        stderr_tail=tail,
    )


class SimServer:
    """``bench/simserver.py`` in its own process: the organization, its environment, its call counts."""

    def __init__(self, accounts: int, regions: list[str], latency_ms: float, seed: int) -> None:
        command = [sys.executable, str(HERE / "simserver.py"), "--accounts", str(accounts), "--regions", ",".join(regions),
                   "--latency-ms", str(latency_ms), "--seed", str(seed)]
        # moto logs a traceback for every operation it lacks (Prowler calls several): keep them out of the report.
        self.log = tempfile.NamedTemporaryFile(prefix="orgscan-bench-simserver-", suffix=".log", delete=False)
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=REPOSITORY,
                                        env=_clean_environment(os.environ))
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"bench: the simulated organization did not start (exit status {self.process.wait()}; see {self.log.name})")
        self.info = json.loads(line)
        self._lock = threading.Lock()

    def _ask(self, command: str) -> dict[str, Any]:
        with self._lock:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
            return json.loads(self.process.stdout.readline())

    def reset_counts(self) -> None:
        self._ask("reset")

    def call_counts(self) -> dict[tuple[str, str, str], int]:
        return {(a, r, action): n for a, r, action, n in self._ask("counts")["counts"]}

    def identical_repeats(self) -> list[tuple[str, str, str, int, str]]:
        """Identical calls made more than once: (account, region, action, extra calls, parameters as JSON)."""
        return [tuple(row) for row in self._ask("repeats")["repeats"]]

    def cpu_seconds(self) -> float:
        """The server's CPU time so far (user + system), read from /proc while it runs."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def close(self) -> None:
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


def _clean_environment(base: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in base.items() if k not in _AWS_VARIABLES and not k.startswith("AWS_ENDPOINT_URL")}


def scanner_environment(server: SimServer, workdir: Path) -> dict[str, str]:
    """The environment of a scanner process: the simulation's endpoint and management credentials, nothing of the machine's."""
    environment = _clean_environment(os.environ)
    environment.update(server.info["environment"])
    environment["AWS_CONFIG_FILE"] = str(workdir / "aws-config")
    environment["AWS_SHARED_CREDENTIALS_FILE"] = str(workdir / "aws-credentials")
    environment["AWS_EC2_METADATA_DISABLED"] = "true"
    return environment


# -- orgscan -----------------------------------------------------------------------------------


@dataclass
class OrgscanRun:
    process: ProcessRun
    calls: dict[tuple[str, str, str], int]
    server_cpu_seconds: float
    repeats: list[tuple[str, str, str, int, str]]
    results: list[dict[str, Any]] = field(default_factory=list)
    workers_peak_rss_mb: float = 0.0


def orgscan_command(regions: list[str], output_dir: Path, checks: Iterable[str] | None, concurrency: int | None) -> list[str]:
    command = [sys.executable, "-m", "scanner.cli", "scan", "--org", "--regions", ",".join(regions), "--output-dir", str(output_dir),
               "--quiet", "--fail-on", "none"]
    if checks:
        command += ["--checks", ",".join(checks)]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    return command


def run_orgscan(server: SimServer, regions: list[str], workdir: Path, name: str, checks: Iterable[str] | None,
                concurrency: int | None, keep_results: bool, extra: list[str] | None = None, sample: list[int] | None = None) -> OrgscanRun:
    output_dir = workdir / name
    server.reset_counts()
    cpu_before = server.cpu_seconds()
    sampler = RssSampler(sample or [])
    with sampler:
        process = run_measured(orgscan_command(regions, output_dir, checks, concurrency) + list(extra or []),
                               scanner_environment(server, workdir), cwd=str(REPOSITORY))
    cpu = server.cpu_seconds() - cpu_before
    calls = server.call_counts()
    repeats = server.identical_repeats()
    if process.exit_status not in (0, 3):
        raise SystemExit(f"bench: orgscan exited with status {process.exit_status}: {process.stderr_tail}")
    results = []
    if keep_results:
        results = json.loads((output_dir / "results.json").read_text())["results"]
    return OrgscanRun(process, calls, cpu, repeats, results, sampler.peak_mb)


def call_profile(calls: Mapping[tuple[str, str, str], int]) -> dict[str, dict[str, Any]]:
    """Per IAM action: total calls, targets (account, region) that made it, and calls per target (max, mean)."""
    per_action: dict[str, list[int]] = defaultdict(list)
    for (_, _, action), count in calls.items():
        per_action[action].append(count)
    profile = {}
    for action, counts in sorted(per_action.items()):
        profile[action] = {"total": sum(counts), "targets": len(counts), "max_per_target": max(counts),
                           "mean_per_target": round(sum(counts) / len(counts), 2)}
    return profile


def repeated_reads(repeats: Iterable[tuple[str, str, str, int, str]]) -> dict[str, dict[str, Any]]:
    """Extra identical calls by action (same account, region, action and parameters), role assumption aside.

    Each describe/list call should be made once per account and region whatever
    the number of checks; an identical call made twice is a cache miss.
    """
    extra: dict[str, dict[str, Any]] = {}
    for account, region, action, n, params in repeats:
        if action.lower() == "sts:assumerole":
            continue
        row = extra.setdefault(action, {"extra_calls": 0, "example": f"{account} {region} {params}"[:200]})
        row["extra_calls"] += n
    return dict(sorted(extra.items()))


def latency_bound(calls: Mapping[tuple[str, str, str], int], latency_s: float, concurrency: int) -> dict[str, float]:
    """The larger of the longest dependent chain and total calls x latency / concurrency (seconds)."""
    total = sum(calls.values())
    pages = sum(n for (_, _, action), n in calls.items() if action == "organizations:ListAccounts")
    # Identify the caller, describe the organization, page through its accounts (each page needs
    # the previous one's token), then one target's chain: assume its role, list, describe.
    chain_calls = 2 + max(pages, 1) + TARGET_CHAIN
    throughput = total * latency_s / concurrency
    per_account_region: Counter = Counter()
    for (account, region, action), n in calls.items():
        if not action.startswith(("sts:", "organizations:")):  # planning, made from the management account
            per_account_region[(account, region)] += n
    # Not part of the bound: orgscan runs one target's checks one after another, so its busiest
    # account and region (its global target's calls land in its first region) is a floor of its own.
    busiest = max(per_account_region.values(), default=0)
    return {"total_calls": total, "chain_calls": chain_calls, "chain_seconds": chain_calls * latency_s,
            "busiest_account_region_calls": busiest, "busiest_account_region_seconds": busiest * latency_s,
            "throughput_seconds": throughput, "bound_seconds": max(chain_calls * latency_s, throughput)}


# -- Prowler -------------------------------------------------------------------------------------


@dataclass
class ProwlerLoop:
    accounts: list[str]
    wall_seconds: float
    runs: list[ProcessRun]
    peak_concurrent_rss_mb: float
    calls: dict[tuple[str, str, str], int]
    findings: list[dict[str, Any]]


def prowler_version(prowler_bin: str) -> str:
    done = subprocess.run([prowler_bin, "--version"], capture_output=True, text=True, timeout=300)
    return (done.stdout.strip() or done.stderr.strip()).splitlines()[-1] if (done.stdout or done.stderr) else "unknown"


def run_prowler_loop(server: SimServer, prowler_bin: str, accounts: list[str], regions: list[str], workdir: Path) -> ProwlerLoop:
    """Prowler's documented method: one ``prowler aws --role ...`` per account, three accounts at a time."""
    environment = scanner_environment(server, workdir)
    role_name = server.info["role_name"]
    server.reset_counts()
    peak = [0.0]
    running: set[int] = set()
    running_lock = threading.Lock()
    stop_sampling = threading.Event()

    def sample() -> None:
        # wait4 gives each run's own peak; three run at once, so their sum at one moment matters too.
        while not stop_sampling.wait(0.2):
            with running_lock:
                pids = list(running)
            peak[0] = max(peak[0], sum(_tree_rss_mb(pid) for pid in pids))

    def one(account_id: str) -> ProcessRun:
        output = workdir / "prowler" / account_id
        command = [prowler_bin, "aws", "--role", f"arn:aws:iam::{account_id}:role/{role_name}", "--checks", *OVERLAP.values(),
                   "--region", *regions, "--output-formats", "json-ocsf", "--output-directory", str(output),
                   "--output-filename", "findings", "--no-banner", "--no-color", "--log-level", "ERROR"]
        process = subprocess.Popen(command, env=environment, cwd=str(workdir), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with running_lock:
            running.add(process.pid)
        started = time.monotonic()
        stderr_reader = ThreadPoolExecutor(max_workers=1)
        stderr_future = stderr_reader.submit(process.stderr.read)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        with running_lock:
            running.discard(process.pid)
        process.returncode = os.waitstatus_to_exitcode(status)
        tail = stderr_future.result().decode("utf-8", "replace")[-1500:]
        stderr_reader.shutdown()
        return ProcessRun(command, process.returncode, wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime, tail)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=PROWLER_PARALLEL_ACCOUNTS) as pool:
        runs = list(pool.map(one, accounts))
    wall = time.monotonic() - started
    stop_sampling.set()
    sampler.join()
    findings = []
    for account_id, run in zip(accounts, runs):
        path = workdir / "prowler" / account_id / "findings.ocsf.json"
        if run.exit_status not in (0, 3) or not path.exists():
            print(f"bench: prowler for {account_id} exited {run.exit_status}: {run.stderr_tail[-400:]}", file=sys.stderr)
            continue
        findings.extend(json.loads(path.read_text() or "[]"))
    return ProwlerLoop(accounts, wall, runs, peak[0], server.call_counts(), findings)


class RssSampler:
    """The peak of the summed RSS of some long-lived processes (Dask workers) while a block runs, sampled."""

    def __init__(self, pids: list[int], interval: float = 0.2) -> None:
        self.pids = pids
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, sum(_tree_rss_mb(pid) for pid in self.pids))

    def __enter__(self) -> "RssSampler":
        if self.pids:
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self.pids:
            self._thread.join()


class LocalDask:
    """A Dask scheduler and worker processes on loopback, started with the scanner's environment."""

    def __init__(self, workers: int, environment: Mapping[str, str], workdir: Path) -> None:
        self.scheduler_file = workdir / "dask-scheduler.json"
        common = {"env": dict(environment), "cwd": str(REPOSITORY), "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                                           "--no-dashboard", "--scheduler-file", str(self.scheduler_file)], **common)
        self.workers = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(self.scheduler_file),
                                         "--nworkers", str(workers), "--nthreads", "2", "--no-dashboard"], **common)
        self.count = workers

    def __enter__(self) -> "LocalDask":
        import distributed

        deadline = time.monotonic() + 120
        while not self.scheduler_file.exists():
            if time.monotonic() > deadline:
                raise SystemExit("bench: the Dask scheduler did not start")
            time.sleep(0.2)
        with distributed.Client(scheduler_file=str(self.scheduler_file), set_as_default=False) as client:
            client.wait_for_workers(self.count, timeout=120)
            self.address = client.scheduler.address
        return self

    def worker_pids(self) -> list[int]:
        return [self.workers.pid]

    def __exit__(self, *exc: Any) -> None:
        for process in (self.workers, self.scheduler):
            process.terminate()
        for process in (self.workers, self.scheduler):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _tree_rss_mb(pid: int) -> float:
    try:
        import psutil
    except ImportError:
        return 0.0
    try:
        process = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20
    except psutil.Error:
        return 0.0


# -- verdicts ------------------------------------------------------------------------------------


def account_verdicts_orgscan(results: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """(orgscan check id, account) -> the account's worst status for that check."""
    return _worst((r["check_id"], r["account_id"], r["status"]) for r in results if r["check_id"] in OVERLAP)


def account_verdicts_prowler(findings: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    back = {prowler: ours for ours, prowler in OVERLAP.items()}
    rows = []
    for finding in findings:
        check_id = finding.get("metadata", {}).get("event_code")
        if check_id in back:
            account = finding.get("cloud", {}).get("account", {}).get("uid")
            rows.append((back[check_id], account, str(finding.get("status_code", "")).upper()))
    return _worst(rows)


def _worst(rows: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str], str]:
    order = {"FAIL": 4, "ERROR": 3, "MANUAL": 2, "PASS": 1, "NOT_APPLICABLE": 0, "MUTED": 0}
    verdicts: dict[tuple[str, str], str] = {}
    for check_id, account, status in rows:
        current = verdicts.get((check_id, account))
        if current is None or order.get(status, 0) > order.get(current, 0):
            verdicts[(check_id, account)] = status
    return verdicts


def resource_verdicts(results: Iterable[Mapping[str, Any]], findings: Iterable[Mapping[str, Any]]) -> dict[str, Counter]:
    """Per check: how many resources (by ARN) both tools judged, agreeing and not."""
    ours = {(r["check_id"], r["resource_arn"]): r["status"] for r in results if r["check_id"] in OVERLAP and r.get("resource_arn")}
    back = {prowler: check for check, prowler in OVERLAP.items()}
    theirs: dict[tuple[str, str], str] = {}
    for finding in findings:
        check_id = back.get(finding.get("metadata", {}).get("event_code"))
        for resource in finding.get("resources") or []:
            if check_id and resource.get("uid"):
                theirs[(check_id, resource["uid"])] = str(finding.get("status_code", "")).upper()
    table: dict[str, Counter] = {check: Counter() for check in OVERLAP}
    for key in set(ours) | set(theirs):
        check_id = key[0]
        if key in ours and key in theirs:
            table[check_id]["agree" if ours[key] == theirs[key] else f"orgscan {ours[key]} / prowler {theirs[key]}"] += 1
        elif key in ours:
            table[check_id]["only orgscan"] += 1
        else:
            table[check_id]["only prowler"] += 1
    return table


# -- the report ----------------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_gb, 1), "os": platform.platform(), "python": platform.python_version()}


def versions(prowler_bin: str | None) -> dict[str, str]:
    from importlib.metadata import version

    found = {"orgscan": version("orgscan"), "boto3": version("boto3"), "botocore": version("botocore"), "moto": version("moto")}
    if prowler_bin:
        found["prowler"] = prowler_version(prowler_bin)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100, help="accounts in the synthetic organization (default 100)")
    parser.add_argument("--regions", default="2", help="a number of regions, or a comma-separated list (default 2)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency added to every API call (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="orgscan repetitions; medians are quoted (default 3)")
    parser.add_argument("--concurrency", type=int, default=None, help="orgscan --concurrency (default: orgscan's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prowler-bin", default=None, help="Prowler's executable (in its own virtual environment); skipped when absent")
    parser.add_argument("--prowler-accounts", type=int, default=9,
                        help="member accounts Prowler scans; its wall time is extrapolated to the whole organization (default 9)")
    parser.add_argument("--memory-accounts", type=int, default=0,
                        help="also scan an organization this large (e.g. 1000) to compare peak memory (default: skip)")
    parser.add_argument("--memory-latency-ms", type=float, default=0.0, help="latency for the memory comparison scans (default 0)")
    parser.add_argument("--dask-workers", type=int, default=0,
                        help="also run orgscan --executor dask on a local Dask cluster of this many worker processes (default: skip)")
    parser.add_argument("--checks", default=None,
                        help="comma-separated check ids for the 'all checks' runs (default: every built-in check); "
                             "to compare with an earlier version on the checks both have")
    parser.add_argument("--json", type=Path, default=None, help="write every measurement here")
    args = parser.parse_args(argv)
    chosen_checks = args.checks.split(",") if args.checks else None

    regions = list(REGION_ORDER[: int(args.regions)]) if args.regions.isdigit() else args.regions.split(",")
    prowler_bin = args.prowler_bin
    prowler_note = None
    if prowler_bin and not os.access(prowler_bin, os.X_OK):
        prowler_note = f"Prowler side skipped: {prowler_bin} is not an executable file"
        prowler_bin = None
    elif not prowler_bin:
        prowler_note = "Prowler side skipped: no --prowler-bin given"
    if prowler_note:
        print(f"bench: {prowler_note}", file=sys.stderr)

    report: dict[str, Any] = {"machine": machine(), "versions": versions(prowler_bin), "accounts": args.accounts, "regions": regions,
                              "latency_ms": args.latency_ms, "repeat": args.repeat, "prowler_note": prowler_note,
                              "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    latency_s = args.latency_ms / 1000.0
    with tempfile.TemporaryDirectory(prefix="orgscan-bench-") as tmp:
        workdir = Path(tmp)
        print(f"bench: serving {args.accounts} accounts x {len(regions)} regions at {args.latency_ms:g} ms per call ...", file=sys.stderr)
        server = SimServer(args.accounts, regions, args.latency_ms, args.seed)
        try:
            report["server_setup_seconds"] = server.info["setup_seconds"]
            active = [a["id"] for a in server.info["accounts"] if a["status"] == "ACTIVE"]
            report["active_accounts"] = len(active)
            concurrency = args.concurrency or _orgscan_default_concurrency()
            report["concurrency"] = concurrency

            runs = []
            for repetition in range(args.repeat):
                run = run_orgscan(server, regions, workdir, f"all-{repetition}", chosen_checks, args.concurrency, keep_results=False)
                print(f"bench: orgscan (all checks) run {repetition + 1}: {run.process.wall_seconds:.1f} s, "
                      f"{run.process.peak_rss_mb:.0f} MB, {sum(run.calls.values())} calls", file=sys.stderr)
                runs.append(run)
            report["orgscan_all_checks"] = summarize_orgscan(runs, latency_s, concurrency)

            overlap_runs = []
            for repetition in range(args.repeat):
                run = run_orgscan(server, regions, workdir, f"overlap-{repetition}", OVERLAP, args.concurrency, keep_results=True)
                print(f"bench: orgscan (overlapping checks) run {repetition + 1}: {run.process.wall_seconds:.1f} s, "
                      f"{run.process.peak_rss_mb:.0f} MB", file=sys.stderr)
                overlap_runs.append(run)
            report["orgscan_overlap"] = summarize_orgscan(overlap_runs, latency_s, concurrency)

            if args.dask_workers:
                dask_runs = []
                with LocalDask(args.dask_workers, scanner_environment(server, workdir), workdir) as dask:
                    for repetition in range(args.repeat):
                        run = run_orgscan(server, regions, workdir, f"dask-{repetition}", None, args.concurrency, keep_results=False,
                                          extra=["--executor", "dask", "--scheduler", dask.address], sample=dask.worker_pids())
                        print(f"bench: orgscan --executor dask ({args.dask_workers} workers) run {repetition + 1}: "
                              f"{run.process.wall_seconds:.1f} s, driver {run.process.peak_rss_mb:.0f} MB, "
                              f"workers {run.workers_peak_rss_mb:.0f} MB", file=sys.stderr)
                        dask_runs.append(run)
                report["orgscan_dask"] = summarize_orgscan(dask_runs, latency_s, concurrency)
                report["orgscan_dask"]["workers"] = args.dask_workers
                report["orgscan_dask"]["workers_peak_rss_mb_median"] = round(median(r.workers_peak_rss_mb for r in dask_runs), 1)

            if prowler_bin:
                members = [a for a in active if a != server.info["management_account_id"]][: args.prowler_accounts]
                print(f"bench: Prowler loop over {len(members)} member accounts, {PROWLER_PARALLEL_ACCOUNTS} at a time ...", file=sys.stderr)
                loop = run_prowler_loop(server, prowler_bin, members, regions, workdir)
                report["prowler"] = summarize_prowler(loop, len(active), report["orgscan_overlap"]["wall_seconds_median"])
                report["verdicts"] = compare_verdicts(overlap_runs[0].results, loop)
        finally:
            server.close()

        if args.memory_accounts:
            report["memory"] = memory_comparison(args, regions, workdir, report["orgscan_all_checks"]["peak_rss_mb_median"])

    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(render_markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


def _orgscan_default_concurrency() -> int:
    from scanner.config import ScanSettings

    return ScanSettings().concurrency


def summarize_orgscan(runs: list[OrgscanRun], latency_s: float, concurrency: int) -> dict[str, Any]:
    bound = latency_bound(runs[0].calls, latency_s, concurrency)
    wall = median(r.process.wall_seconds for r in runs)
    profile = call_profile(runs[0].calls)
    total_calls = median(sum(r.calls.values()) for r in runs)
    cpu = median(r.process.cpu_seconds for r in runs)
    server_cpu = median(r.server_cpu_seconds for r in runs)
    cores = os.cpu_count() or 1
    return {
        # On this machine the scanner and the simulator share the cores: neither can finish before its CPU work is done.
        "cpu_floor_seconds": round(max(cpu, server_cpu, (cpu + server_cpu) / cores), 1),
        "wall_seconds": [round(r.process.wall_seconds, 2) for r in runs],
        "wall_seconds_median": round(wall, 2),
        "peak_rss_mb": [round(r.process.peak_rss_mb, 1) for r in runs],
        "peak_rss_mb_median": round(median(r.process.peak_rss_mb for r in runs), 1),
        "cpu_seconds_median": round(median(r.process.cpu_seconds for r in runs), 1),
        "server_cpu_seconds_median": round(median(r.server_cpu_seconds for r in runs), 1),
        "calls_median": total_calls,
        "calls_per_second": round(total_calls / wall, 1),
        "latency_bound": bound,
        "ratio_to_bound": round(wall / bound["bound_seconds"], 2) if bound["bound_seconds"] else None,
        "calls_by_action": profile,
        "repeated_identical_calls": repeated_reads(runs[0].repeats),
    }


def summarize_prowler(loop: ProwlerLoop, organization_accounts: int, orgscan_seconds: float) -> dict[str, Any]:
    scanned = len(loop.accounts)
    # The loop keeps three runs going, so its time grows linearly with the accounts.
    extrapolated = loop.wall_seconds * organization_accounts / scanned if scanned else float("nan")
    per_account_calls = Counter()
    for (account, _, _), n in loop.calls.items():
        per_account_calls[account] += n
    return {
        "accounts_scanned": scanned,
        "exit_statuses": dict(Counter(r.exit_status for r in loop.runs)),
        "wall_seconds": round(loop.wall_seconds, 1),
        "per_account_wall_seconds_median": round(median(r.wall_seconds for r in loop.runs), 1) if loop.runs else None,
        "per_process_peak_rss_mb_median": round(median(r.peak_rss_mb for r in loop.runs), 1) if loop.runs else None,
        "per_process_peak_rss_mb_max": round(max(r.peak_rss_mb for r in loop.runs), 1) if loop.runs else None,
        "peak_concurrent_rss_mb": round(loop.peak_concurrent_rss_mb, 1),
        "cpu_seconds_total": round(sum(r.cpu_seconds for r in loop.runs), 1),
        "extrapolated_wall_seconds": round(extrapolated, 1),
        "extrapolated_to_accounts": organization_accounts,
        "speedup_orgscan": round(extrapolated / orgscan_seconds, 1) if orgscan_seconds else None,
        "calls_total": sum(loop.calls.values()),
        "calls_by_action": call_profile(loop.calls),
        "findings": len(loop.findings),
    }


def compare_verdicts(results: list[dict[str, Any]], loop: ProwlerLoop) -> dict[str, Any]:
    scanned = set(loop.accounts)
    ours = {k: v for k, v in account_verdicts_orgscan(results).items() if k[1] in scanned}
    theirs = account_verdicts_prowler(loop.findings)
    per_check: dict[str, dict[str, Any]] = {}
    for check_id in OVERLAP:
        agree, differ = 0, []
        for account in sorted(scanned):
            mine, other = ours.get((check_id, account), "none"), theirs.get((check_id, account), "none")
            if mine == other:
                agree += 1
            else:
                differ.append(f"{account}: orgscan {mine}, prowler {other}")
        per_check[check_id] = {"prowler_check": OVERLAP[check_id], "accounts_agree": agree, "accounts_differ": differ}
    resources = resource_verdicts([r for r in results if r["account_id"] in scanned], loop.findings)
    return {"per_account": per_check, "per_resource": {k: dict(v) for k, v in resources.items()}}


def memory_comparison(args: argparse.Namespace, regions: list[str], workdir: Path, base_peak_mb: float) -> dict[str, Any]:
    """Peak memory of orgscan on a small and a large organization, same checks, same latency."""
    measured = {}
    for accounts in (args.accounts, args.memory_accounts):
        print(f"bench: memory comparison: {accounts} accounts ...", file=sys.stderr)
        server = SimServer(accounts, regions, args.memory_latency_ms, args.seed)
        try:
            run = run_orgscan(server, regions, workdir, f"memory-{accounts}", None, args.concurrency, keep_results=False)
        finally:
            server.close()
        measured[accounts] = {"peak_rss_mb": round(run.process.peak_rss_mb, 1), "wall_seconds": round(run.process.wall_seconds, 1),
                              "calls": sum(run.calls.values()), "results_json_mb": round((workdir / f"memory-{accounts}" / "results.json").stat().st_size / 2**20, 1)}
    small, large = measured[args.accounts], measured[args.memory_accounts]
    return {"latency_ms": args.memory_latency_ms, "runs": measured, "ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2)}


def _ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def render_markdown(report: Mapping[str, Any]) -> str:
    lines = []
    orgscan = report["orgscan_all_checks"]
    overlap = report["orgscan_overlap"]
    lines.append(f"## {report['accounts']} accounts x {len(report['regions'])} regions ({', '.join(report['regions'])}), "
                 f"{report['latency_ms']:g} ms per call, medians of {report['repeat']}")
    lines.append("")
    lines.append("| | wall time | peak memory (RSS) | API calls | calls/s | latency bound | ratio to bound |")
    lines.append("|---|---|---|---|---|---|---|")
    for label, row in (("orgscan, all built-in checks", orgscan), ("orgscan, the 6 overlapping checks", overlap)):
        lines.append(f"| {label} | {row['wall_seconds_median']:.1f} s | {row['peak_rss_mb_median']:.0f} MB | {row['calls_median']:.0f} | "
                     f"{row['calls_per_second']:.0f} | {row['latency_bound']['bound_seconds']:.1f} s | {_ratio(row['ratio_to_bound'])} |")
    dask = report.get("orgscan_dask")
    if dask:
        lines.append(f"| orgscan, all checks, --executor dask ({dask['workers']} local worker processes) | {dask['wall_seconds_median']:.1f} s | "
                     f"{dask['peak_rss_mb_median']:.0f} MB driver, {dask['workers_peak_rss_mb_median']:.0f} MB workers | {dask['calls_median']:.0f} | "
                     f"{dask['calls_per_second']:.0f} | {dask['latency_bound']['bound_seconds']:.1f} s | {_ratio(dask['ratio_to_bound'])} |")
    prowler = report.get("prowler")
    if prowler:
        lines.append(f"| Prowler loop ({PROWLER_PARALLEL_ACCOUNTS} at a time), {prowler['accounts_scanned']} accounts measured | "
                     f"{prowler['wall_seconds']:.1f} s | {prowler['per_process_peak_rss_mb_max']:.0f} MB per process, "
                     f"{prowler['peak_concurrent_rss_mb']:.0f} MB for 3 at once | {prowler['calls_total']} | "
                     f"{prowler['calls_total'] / prowler['wall_seconds']:.0f} | | |")
        lines.append(f"| Prowler loop, extrapolated to {prowler['extrapolated_to_accounts']} accounts | "
                     f"{prowler['extrapolated_wall_seconds']:.0f} s | | | | | |")
        lines.append("")
        lines.append(f"orgscan is **{prowler['speedup_orgscan']:.0f}x** faster than the Prowler loop on the same 6 checks.")
    elif report.get("prowler_note"):
        lines.append("")
        lines.append(report["prowler_note"])
    lines.append("")
    lines.append(f"Run times: {orgscan['wall_seconds']} s (all checks), {overlap['wall_seconds']} s (overlap). "
                 f"orgscan CPU {orgscan['cpu_seconds_median']} s; simulator CPU {orgscan['server_cpu_seconds_median']} s. "
                 f"Concurrency {report['concurrency']}.")
    bound = orgscan["latency_bound"]
    lines.append(f"CPU floor on this machine (the scanner and the simulator share {report['machine']['cores']} cores): "
                 f"{orgscan['cpu_floor_seconds']} s (all checks), {overlap['cpu_floor_seconds']} s (overlap). "
                 f"Load average before/after: {report['load_average_before']} / {report.get('load_average_after')}.")
    lines.append(f"Latency bound (all checks): max(chain {bound['chain_calls']} calls = {bound['chain_seconds']:.2f} s, "
                 f"{bound['total_calls']} calls x {report['latency_ms']:g} ms / {report['concurrency']} = {bound['throughput_seconds']:.1f} s). "
                 f"The busiest account and region took {bound['busiest_account_region_calls']} calls "
                 f"({bound['busiest_account_region_seconds']:.1f} s if made one after another).")
    lines.append("")
    lines.append("### API calls per target (account, region), all checks")
    lines.append("")
    lines.append("| action | total | targets | max per target | mean per target |")
    lines.append("|---|---|---|---|---|")
    for action, row in orgscan["calls_by_action"].items():
        lines.append(f"| {action} | {row['total']} | {row['targets']} | {row['max_per_target']} | {row['mean_per_target']} |")
    lines.append("")
    repeated = orgscan["repeated_identical_calls"]
    lines.append("Identical calls (same account, region, action and parameters) made more than once: "
                 + ("; ".join(f"{action} ({row['extra_calls']} extra, e.g. {row['example']})" for action, row in repeated.items()) if repeated else "none."))
    verdicts = report.get("verdicts")
    if verdicts:
        lines.append("")
        lines.append("### Verdicts, orgscan vs Prowler (accounts Prowler scanned)")
        lines.append("")
        lines.append("| orgscan check | Prowler check | accounts agree | accounts differ | resources (by ARN) |")
        lines.append("|---|---|---|---|---|")
        for check_id, row in verdicts["per_account"].items():
            resources = ", ".join(f"{k}: {v}" for k, v in sorted(verdicts["per_resource"].get(check_id, {}).items())) or "-"
            differ = "; ".join(row["accounts_differ"]) or "-"
            lines.append(f"| {check_id} | {row['prowler_check']} | {row['accounts_agree']} | {differ} | {resources} |")
    memory = report.get("memory")
    if memory:
        lines.append("")
        lines.append(f"### Memory: peak RSS by organization size (all checks, {memory['latency_ms']:g} ms per call)")
        lines.append("")
        lines.append("| accounts | peak RSS | wall time | API calls | results.json |")
        lines.append("|---|---|---|---|---|")
        for accounts, row in memory["runs"].items():
            lines.append(f"| {accounts} | {row['peak_rss_mb']:.0f} MB | {row['wall_seconds']:.0f} s | {row['calls']} | {row['results_json_mb']} MB |")
        lines.append("")
        lines.append(f"Ratio: {memory['ratio']:.2f}x the memory for {max(map(int, memory['runs']))} accounts.")
    lines.append("")
    lines.append(f"Machine: {report['machine']}. Versions: {report['versions']}.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
