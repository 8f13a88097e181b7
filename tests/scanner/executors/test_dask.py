"""The Dask executor on a real LocalCluster (separate worker processes) against the loopback simulated organization."""
import logging
import pickle

import pytest

distributed = pytest.importorskip("distributed")

import scanner.executors.dask as dask_executor  # noqa: E402
from scanner.executors.dask import DaskExecutor, active_scans, choose_accounts_per_shard, forget_scan, shard_work  # noqa: E402
from scanner.config import ScanSettings  # noqa: E402
from scanner.plan import ScanPlan, Target  # noqa: E402

# The fake plugin is a local module (--plugin): the workers must import it themselves.
LOCAL_PLUGIN = ("--plugin", "tests.plugins.fake_plugin")


def comparable(document):
    """The document without what differs between two runs of the same scan: ids and timestamps."""
    scan = {k: v for k, v in document["scan"].items() if k not in ("id", "started_at", "finished_at")}
    results = sorted(document["results"], key=lambda r: (r["fingerprint"], r["check_id"], r["status"], r["message"]))
    return {"scan": scan, "results": results, "summary": document["summary"]}


@pytest.fixture
def cluster(simulated_org):
    """Two worker processes; they inherit the environment that points the SDK at the simulation."""
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=2, dashboard_address=None, silence_logs=logging.ERROR
    ) as local_cluster:
        yield local_cluster


def test_dask_results_equal_the_local_executors(simulated_org, cluster, run_orgscan):
    regions = ("--regions", ",".join(simulated_org.regions))
    local_code, local = run_orgscan("--org", *regions, *LOCAL_PLUGIN)
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as observer:
        with distributed.get_task_stream(client=observer) as tasks:
            dask_code, on_dask = run_orgscan("--org", *regions, *LOCAL_PLUGIN, "--executor", "dask", "--scheduler", cluster.scheduler_address)
        shard_workers = {t["worker"] for t in tasks.data if str(t["key"]).startswith("orgscan-shard-")}
        # Every shard ran on a worker process, both workers took part, and the scan's worker-side state was released.
        assert shard_workers == set(observer.nthreads())
        assert observer.run(active_scans) == {address: [] for address in observer.nthreads()}

    assert local["results"], "the local scan found nothing to compare"
    statuses = {r["status"] for r in local["results"]}
    assert {"PASS", "FAIL", "ERROR"} <= statuses  # a realistic mix, including the account whose role is denied
    assert comparable(on_dask) == comparable(local)
    assert dask_code == local_code


def test_shards_keep_every_account_whole():
    work = [(Target(account, region), ["c"]) for account in ("a", "b", "c", "d", "e") for region in ("global", "r1", "r2")]
    shards = shard_work(work, accounts_per_shard=2)
    assert [sorted({t.account_id for t, _ in shard}) for shard in shards] == [["a", "b"], ["c", "d"], ["e"]]
    assert [item for shard in shards for item in shard] == work
    with pytest.raises(ValueError, match="at least 1"):
        shard_work(work, accounts_per_shard=0)


def test_shard_size_fills_each_workers_pool_but_spreads_small_organizations():
    # 2 workers x 2 threads, 3 targets per account, 32 targets at once per worker: 6 accounts fill a worker's pool.
    assert choose_accounts_per_shard(100, 300, 32, {"w1": 2, "w2": 2}) == 6
    # 6 accounts on 4 threads: one account per shard, so every thread gets work.
    assert choose_accounts_per_shard(6, 18, 32, {"w1": 2, "w2": 2}) == 1
    # Thousands of accounts: bounded, so a lost worker costs little.
    assert choose_accounts_per_shard(5000, 15000, 1000, {"w1": 1}) == 25


def test_no_credentials_travel_to_the_scheduler(simulated_org):
    settings = ScanSettings(org=True, executor="dask", scheduler="tcp://127.0.0.1:1", external_id="external-id-value")
    plan = ScanPlan(scan_id="0" * 32, started_at="2026-11-30T00:00:00Z", mode="organization", organization_id=None,
                    management_account_id=None, caller_account_id="111111111111", partition="aws", regions=(), checks=(),
                    accounts=(), role=settings.role, default_region="us-east-1")
    executor = DaskExecutor(settings, plan)
    payload = pickle.dumps(executor.spec)
    secrets = [simulated_org.environment()[name] for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]
    assert all(secret.encode() not in payload for secret in secrets)


def test_forgetting_an_unknown_scan_is_harmless():
    assert forget_scan("no-such-scan") is False


def test_an_unreachable_scheduler_is_one_clear_usage_error(simulated_org, run_orgscan, monkeypatch, capsys):
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT_SECONDS", 1)
    code, document = run_orgscan("--accounts", simulated_org.management_account_id, "--regions", simulated_org.regions[0],
                                 "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and document is None
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--scheduler tcp://127.0.0.1:9: cannot connect to the Dask scheduler" in error[0]
