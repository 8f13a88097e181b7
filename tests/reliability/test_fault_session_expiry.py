"""Fault 7: role sessions that expire during a long scan are refreshed without errors.

AWS may call credentials expired before botocore's clock does (a short session,
a request that arrives late on a loaded machine): the account's role is then
assumed anew and the call tried once more. Credentials that expire again at
once make that call's ERROR, naming the code, never a loop.
"""
from __future__ import annotations

import threading

from tests.reliability.harness import (
    FEW_CHECKS, MEMBERS, REGIONS, assert_accounts_for_everything, errors_of, restricted, results_of, scan,
)

from scanner.simulator import Faults

#: The member account whose requests meet expired credentials, and the action they ask for.
ACCOUNT = MEMBERS[0]
ACTION = "kms:ListKeys"
#: A role session's lifetime (the simulator's STS keeps it), and how far the clock moves to end every session.
SESSION_SECONDS = 900


def assume_role_calls(org) -> int:
    return sum(n for (_, _, action), n in org.call_counts().items() if action == "sts:AssumeRole")


class EndEverySessionAtFirstRequest:
    """At the scan's first request for ``ACTION``, moves the simulator's STS clock past every session issued so far.

    Every account's role was assumed while the scan was planned, so from then on each account meets AWS's
    ExpiredToken with the credentials it holds, as a scan does that outlives its sessions: no sleep, and
    nothing depends on how fast the machine is. The predicate picks no request itself.
    """

    def __init__(self, faults: Faults):
        self.faults = faults
        self.moved = False
        self._lock = threading.Lock()

    def __call__(self, call) -> bool:
        with self._lock:
            if not self.moved:
                self.faults.clock_skew_seconds += 2 * SESSION_SECONDS
                self.moved = True
        return False


def test_role_sessions_that_expire_during_the_scan_are_renewed(org, clean_scan, tmp_path):
    faults = Faults(max_session_seconds=SESSION_SECONDS)
    ending = EndEverySessionAtFirstRequest(faults)
    faults.expire_requests = {ACTION: ending}
    org.faults = faults

    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS), "--concurrency", "2")

    assert ending.moved
    assert not errors_of(run.document), errors_of(run.document)
    assert_accounts_for_everything(run.document)
    assert restricted(run.document, FEW_CHECKS) == restricted(clean_scan.document, FEW_CHECKS)
    assert assume_role_calls(org) > len(MEMBERS), "no role session was ever renewed"


class FirstRequestOf:
    """Picks the first request of one account for ExpiredToken, and none after it."""

    def __init__(self, account_id: str):
        self.account_id = account_id
        self.picked = 0
        self._lock = threading.Lock()

    def __call__(self, call) -> bool:
        with self._lock:
            if self.picked or call.account_id != self.account_id:
                return False
            self.picked += 1
            return True


def test_a_request_whose_credentials_expired_is_tried_again_with_the_role_assumed_anew(org, clean_scan, tmp_path):
    expire = FirstRequestOf(ACCOUNT)
    org.faults = Faults(expire_requests={ACTION: expire})

    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS))

    assert expire.picked == 1
    assert not errors_of(run.document), errors_of(run.document)
    assert_accounts_for_everything(run.document)
    assert restricted(run.document, FEW_CHECKS) == restricted(clean_scan.document, FEW_CHECKS)
    # Each member's role is assumed once for the scan, and the expired account's once more.
    assert assume_role_calls(org) == len(MEMBERS) + 1


def test_credentials_expired_again_at_once_make_an_error_naming_it_not_a_loop(org, clean_scan, tmp_path):
    org.faults = Faults(expire_requests={ACTION: lambda call: call.account_id == ACCOUNT})

    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS))

    document = run.document
    assert_accounts_for_everything(document)
    needing = {c["id"] for c in document["scan"]["checks"] if ACTION in c["iam_actions"]}
    assert needing, f"none of {FEW_CHECKS} declares {ACTION}"
    errors = errors_of(document)
    assert errors and {r["account_id"] for r in errors} == {ACCOUNT}
    for result in errors:
        assert result["check_id"] in needing
        assert ACTION in result["message"] and "ExpiredTokenException" in result["message"], result["message"]
    clean = restricted(clean_scan.document, FEW_CHECKS)
    for account_id in MEMBERS[1:]:
        assert results_of(document, account_id) == results_of(clean, account_id)
    # Asked once per region, and once more after renewing: never a third time.
    assert sum(n for (account, _, action), n in org.call_counts().items() if account == ACCOUNT and action == ACTION) == 2 * len(REGIONS)
    # Renewed at most once per failed call (two regions failing together may share one renewal).
    assert len(MEMBERS) + 1 <= assume_role_calls(org) <= len(MEMBERS) + len(REGIONS)
