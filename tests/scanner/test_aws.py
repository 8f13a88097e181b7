"""AwsReader over the simulated organization: credentials AWS calls expired are renewed once, and the call is tried again."""
from __future__ import annotations

import pytest

from scanner.aws import AwsReader
from scanner.errors import AwsError
from scanner.sessions import AccountSessions
from scanner.simulator import Faults

MANAGEMENT, MEMBER = "111111111111", "222222222222"
REGION = "us-east-1"
SCENARIO = {
    "name": "expiring-sessions",
    "organization": {"management_account": MANAGEMENT, "regions": [REGION]},
    "accounts": [
        {"id": MANAGEMENT, "name": "management", "email": "management@example.com"},
        {"id": MEMBER, "name": "member", "email": "member@example.com",
         "kms_keys": [{"region": REGION, "description": f"key {n}"} for n in range(3)]},
    ],
}


class ExpireOnce:
    """Picks the first request (of those ``wanted`` picks) for ExpiredToken, and none after it."""

    def __init__(self, wanted=lambda call: True):
        self.wanted = wanted
        self.picked = 0

    def __call__(self, call) -> bool:
        if self.picked or call.account_id != MEMBER or not self.wanted(call):
            return False
        self.picked += 1
        return True


def member_reader() -> tuple[AwsReader, AccountSessions]:
    sessions = AccountSessions(member_actions=["kms:ListKeys"])
    return AwsReader(sessions.target_cache(MEMBER), REGION, frozenset({"kms:ListKeys"}), "my_check"), sessions


def calls(sim, action: str) -> int:
    return sum(n for (account, _, each), n in sim.call_counts().items() if each == action and (account == MEMBER or action == "sts:AssumeRole"))


def test_a_call_whose_credentials_expired_is_tried_once_more_with_the_role_assumed_anew(make_org):
    sim = make_org(SCENARIO)
    reader, _ = member_reader()
    expire = ExpireOnce()
    sim.faults = Faults(expire_requests={"kms:ListKeys": expire})

    keys = reader.call("kms", "list_keys")["Keys"]

    assert expire.picked == 1 and len(keys) >= 3
    assert calls(sim, "kms:ListKeys") == 2
    # Once for the first credentials, once more for the renewed ones.
    assert calls(sim, "sts:AssumeRole") == 2


def test_credentials_that_expire_again_at_once_are_the_calls_error_not_a_loop(make_org):
    sim = make_org(SCENARIO)
    reader, _ = member_reader()
    sim.faults = Faults(expire_requests={"kms:ListKeys": lambda call: call.account_id == MEMBER})

    with pytest.raises(AwsError) as raised:
        reader.call("kms", "list_keys")

    assert raised.value.action == "kms:ListKeys" and raised.value.code == "ExpiredTokenException"
    assert "kms:ListKeys" in str(raised.value) and "ExpiredTokenException" in str(raised.value)
    assert calls(sim, "kms:ListKeys") == 2
    # The answer is cached like any error: asking again makes no third call.
    with pytest.raises(AwsError):
        reader.call("kms", "list_keys")
    assert calls(sim, "kms:ListKeys") == 2


def test_a_listing_whose_credentials_expire_halfway_goes_on_without_giving_a_page_twice(make_org):
    sim = make_org(SCENARIO)
    logs = sim.client("logs", REGION, account_id=MEMBER)
    for name in ("alpha", "beta", "gamma"):
        logs.create_log_group(logGroupName=name)
    sessions = AccountSessions(member_actions=["logs:DescribeLogGroups"])
    reader = AwsReader(sessions.target_cache(MEMBER), REGION, frozenset({"logs:DescribeLogGroups"}), "my_check")
    clean = [[group["logGroupName"] for group in page["logGroups"]] for page in reader.stream("logs", "describe_log_groups", limit=1)]
    assert clean == [["alpha"], ["beta"], ["gamma"]]
    # The second page's request (the first with a token) meets expired credentials.
    expire = ExpireOnce(lambda call: bool(call.params.get("nextToken")))
    sim.faults = Faults(expire_requests={"logs:DescribeLogGroups": expire})

    pages = [[group["logGroupName"] for group in page["logGroups"]] for page in reader.stream("logs", "describe_log_groups", limit=1)]

    assert expire.picked == 1
    assert pages == clean


def test_expired_credentials_of_a_listing_twice_in_a_row_are_its_error(make_org):
    sim = make_org(SCENARIO)
    reader, _ = member_reader()
    sim.faults = Faults(expire_requests={"kms:ListKeys": lambda call: call.account_id == MEMBER})

    with pytest.raises(AwsError, match="kms:ListKeys.*ExpiredTokenException"):
        reader.collect("kms", "list_keys", "Keys")
    assert calls(sim, "kms:ListKeys") == 2


def test_the_callers_own_credentials_are_not_renewed_here(make_org):
    make_org(SCENARIO)
    sessions = AccountSessions()
    # The standard chain's credentials (here the environment's) are botocore's to refresh.
    assert sessions.renew_credentials(MANAGEMENT) is False
