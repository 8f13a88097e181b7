"""Fault injection: each mode, with the error each protocol really uses, deterministic from a seed."""
from __future__ import annotations

import time

import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.retries.standard
import pytest

from scanner.simulator import Faults

ORG = {
    "organization": {"management_account": "111111111111", "regions": ["us-east-1"]},
    "accounts": [
        {"id": "111111111111", "name": "management", "email": "m@example.com"},
        {"id": "222222222222", "name": "alpha", "email": "a@example.com",
         "kms_keys": [{"id": "2a2a2a2a-2222-4222-8222-00000000000a", "aliases": ["alias/alpha"]}],
         "sns_topics": [{"name": "alerts"}]},
        {"id": "333333333333", "name": "beta", "email": "b@example.com",
         "kms_keys": [{"id": "3b3b3b3b-3333-4333-8333-00000000000b"}]},
    ],
}
NO_RETRIES = {"retries": {"mode": "standard", "total_max_attempts": 1}}
RETRIES = {"retries": {"mode": "standard", "max_attempts": 10}}
# The codes botocore's standard and adaptive retry modes treat as throttling.
THROTTLING_CODES = botocore.retries.standard.ThrottledRetryableChecker._THROTTLED_ERROR_CODES


def _error(call):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value.response


def test_latency_is_added_to_every_call(make_org, monkeypatch):
    sim = make_org(ORG, Faults(latency_ms=150))
    waits: list[float] = []
    monkeypatch.setattr(sim.interceptor, "sleep", waits.append)  # a fake clock: the waits asked for, none waited
    kms = sim.client("kms", account_id="222222222222")
    kms.list_keys()
    assert waits and set(waits) == {0.15}  # the role's AssumeRole waits too
    waits.clear()
    kms.list_keys()
    kms.list_aliases()
    assert waits == [0.15, 0.15]
    sim.faults.latency_ms = 0  # faults change at runtime
    for _ in range(3):
        kms.list_keys()
    assert waits == [0.15, 0.15]


@pytest.mark.parametrize(
    ("service", "call", "code", "status"),
    [
        ("kms", lambda c: c.list_keys(), "ThrottlingException", 400),  # json
        ("iam", lambda c: c.get_account_summary(), "Throttling", 400),  # query
        ("ec2", lambda c: c.describe_vpcs(), "RequestLimitExceeded", 503),  # ec2
        ("devops-guru", lambda c: c.describe_service_integration(), "ThrottlingException", 429),  # rest-json
        ("s3", lambda c: c.list_buckets(), "SlowDown", 503),  # rest-xml
    ],
)
def test_throttling_uses_each_protocols_error_which_the_sdk_retries(make_org, service, call, code, status):
    sim = make_org(ORG, Faults(throttle_rate=1.0))
    client = sim.client(service, account_id="222222222222", **NO_RETRIES)
    response = _error(lambda: call(client))
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert code in THROTTLING_CODES


def test_throttled_calls_succeed_after_retries_and_are_counted(make_org):
    sim = make_org(ORG, Faults(throttle_rate=0.3, seed=7))
    kms = sim.client("kms", account_id="222222222222", **RETRIES)
    for _ in range(4):
        assert kms.list_aliases()["Aliases"]
    counts = sim.call_counts()
    assert counts[("222222222222", "us-east-1", "kms:ListAliases")] > 4


def test_server_errors_and_retries(make_org):
    sim = make_org(ORG, Faults(server_error_rate=1.0))
    response = _error(lambda: sim.client("kms", account_id="222222222222", **NO_RETRIES).list_keys())
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    response = _error(lambda: sim.client("sns", account_id="222222222222", **NO_RETRIES).list_topics())
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
    sim.faults.server_error_rate = 0.3
    kms = sim.client("kms", account_id="222222222222", **RETRIES)
    for _ in range(3):
        kms.list_keys()


def test_connection_resets_and_retries(make_org):
    sim = make_org(ORG, Faults(connection_reset_rate=1.0))
    kms = sim.client("kms", account_id="222222222222", **NO_RETRIES)
    with pytest.raises((botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError,
                        botocore.exceptions.ConnectionError)):
        kms.list_keys()
    sim.faults.connection_reset_rate = 0.3
    kms = sim.client("kms", account_id="222222222222", **RETRIES)
    for _ in range(3):
        kms.list_keys()


def test_faults_are_deterministic_for_a_seed(make_org):
    def pattern(seed):
        sim = make_org(ORG, Faults(throttle_rate=0.5, seed=seed))
        kms = sim.client("kms", account_id="222222222222", **NO_RETRIES)
        outcome = []
        for _ in range(16):
            try:
                kms.list_keys()
                outcome.append(True)
            except botocore.exceptions.ClientError:
                outcome.append(False)
        return outcome

    first = pattern(3)
    assert pattern(3) == first
    assert True in first and False in first
    assert pattern(4) != first


def test_role_assumption_denied_for_chosen_accounts(make_org):
    sim = make_org(ORG, Faults(deny_assume_role={"333333333333"}))
    response = _error(lambda: sim.assume_role("333333333333"))
    assert response["Error"]["Code"] == "AccessDenied"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert sim.assume_role("222222222222")["AccessKeyId"]


@pytest.mark.parametrize(
    ("service", "action", "call", "code"),
    [
        ("kms", "kms:GetKeyPolicy", lambda c: c.get_key_policy(KeyId="alias/alpha", PolicyName="default"), "AccessDeniedException"),
        ("iam", "iam:GetAccountSummary", lambda c: c.get_account_summary(), "AccessDenied"),
        ("ec2", "ec2:DescribeVpcs", lambda c: c.describe_vpcs(), "UnauthorizedOperation"),
        ("sns", "sns:ListTopics", lambda c: c.list_topics(), "AuthorizationError"),
        ("devops-guru", "devops-guru:DescribeServiceIntegration", lambda c: c.describe_service_integration(), "AccessDeniedException"),
        ("resourcegroupstaggingapi", "tag:GetResources", lambda c: c.get_resources(), "AccessDeniedException"),
    ],
)
def test_chosen_actions_denied_inside_chosen_accounts(make_org, service, action, call, code):
    sim = make_org(ORG, Faults(deny_actions={"222222222222": [action]}))
    response = _error(lambda: call(sim.client(service, account_id="222222222222", **NO_RETRIES)))
    assert response["Error"]["Code"] == code
    assert action in response["Error"]["Message"]
    # Only that action, only in that account.
    other = sim.client(service, account_id="333333333333", **NO_RETRIES)
    if service != "kms":
        call(other)
    else:
        other.get_key_policy(KeyId="3b3b3b3b-3333-4333-8333-00000000000b", PolicyName="default")
        sim.client("kms", account_id="222222222222").list_keys()


def test_short_sessions_expire_and_refreshing_credentials_keep_working(make_org):
    # Sessions are aged by the simulator's skewed STS clock, not by sleeping.
    sim = make_org(ORG, Faults(max_session_seconds=1))
    credentials = sim.assume_role("222222222222")
    lifetime = credentials["Expiration"].timestamp() - time.time()
    assert lifetime <= 2
    stale = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
             "aws_session_token": credentials["SessionToken"]}
    sim.client_with("kms", "us-east-1", stale, **NO_RETRIES).list_keys()
    sim.faults.clock_skew_seconds = 1.5
    response = _error(lambda: sim.client_with("kms", "us-east-1", stale, **NO_RETRIES).list_keys())
    assert response["Error"]["Code"] == "ExpiredTokenException"
    response = _error(lambda: sim.client_with("iam", "us-east-1", stale, **NO_RETRIES).get_account_summary())
    assert response["Error"]["Code"] == "ExpiredToken"

    def refresh():
        fresh = sim.assume_role("222222222222")
        return {"access_key": fresh["AccessKeyId"], "secret_key": fresh["SecretAccessKey"],
                "token": fresh["SessionToken"], "expiry_time": fresh["Expiration"].isoformat()}

    refreshing = botocore.credentials.RefreshableCredentials.create_from_metadata(refresh(), refresh, "assume-role")
    session = sim.botocore_session()
    kms = session.create_client("kms", region_name="us-east-1", endpoint_url=sim.endpoint_url,
                                aws_access_key_id="unused", aws_secret_access_key="unused",
                                config=botocore.config.Config(**NO_RETRIES))
    kms._request_signer._credentials = refreshing
    # Each step ages every session issued before it past its one second: only refreshed credentials still work.
    for _ in range(8):
        sim.faults.clock_skew_seconds += 1.5
        kms.list_keys()
    stale_now = _error(lambda: sim.client_with("kms", "us-east-1", stale, **NO_RETRIES).list_keys())
    assert stale_now["Error"]["Code"] == "ExpiredTokenException"


def test_picked_requests_meet_expired_credentials_in_each_protocols_words(make_org):
    picked = {"kms:ListKeys": lambda call: call.account_id == "222222222222", "iam:GetAccountSummary": lambda call: True}
    sim = make_org(ORG, Faults(expire_requests=picked))
    response = _error(lambda: sim.client("kms", account_id="222222222222", **NO_RETRIES).list_keys())
    assert response["Error"]["Code"] == "ExpiredTokenException"
    response = _error(lambda: sim.client("iam", account_id="222222222222", **NO_RETRIES).get_account_summary())
    assert response["Error"]["Code"] == "ExpiredToken"
    # Requests the predicate does not pick are answered as ever.
    assert "Keys" in sim.client("kms", account_id="111111111111", **NO_RETRIES).list_keys()


POLICY_ORG = {
    "organization": {
        "management_account": "111111111111",
        "regions": ["us-east-1"],
        "role_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["kms:ListKeys", "kms:ListAliases"], "Resource": "*"}]},
    },
    "accounts": ORG["accounts"],
}


def test_iam_enforcement_allows_only_what_the_role_policy_grants(make_org):
    sim = make_org(POLICY_ORG, Faults(iam_enforcement=True))
    kms = sim.client("kms", account_id="222222222222", **NO_RETRIES)
    assert kms.list_keys()["Keys"]
    response = _error(lambda: kms.describe_key(KeyId="alias/alpha"))
    assert response["Error"]["Code"] == "AccessDeniedException"  # not moto's bare "403"
    response = _error(lambda: sim.client("iam", account_id="222222222222", **NO_RETRIES).get_account_summary())
    assert response["Error"]["Code"] == "AccessDenied"
    sim.faults.iam_enforcement = False
    assert kms.describe_key(KeyId="alias/alpha")["KeyMetadata"]["KeyId"]


def test_faults_apply_in_process_too(tmp_path, monkeypatch):
    from scanner.simulator import mock_organization, scenario_from_dict

    with mock_organization(scenario_from_dict(ORG), Faults(deny_actions={"222222222222": ["kms:ListKeys"]})) as sim:
        kms = sim.client("kms", account_id="222222222222", **NO_RETRIES)
        assert _error(lambda: kms.list_keys())["Error"]["Code"] == "AccessDeniedException"
        sim.faults.connection_reset_rate = 1.0
        with pytest.raises(botocore.exceptions.ConnectionClosedError):
            kms.list_aliases()
        sim.faults.connection_reset_rate = 0.0
        sim.faults.throttle_rate = 1.0
        assert _error(lambda: kms.list_aliases())["Error"]["Code"] == "ThrottlingException"


def test_iam_enforcement_names_actions_by_their_iam_prefix(make_org):
    allowed = ["devops-guru:GetResourceCollection", "devops-guru:DescribeServiceIntegration", "tag:GetResources"]
    scenario = {**POLICY_ORG, "organization": {**POLICY_ORG["organization"], "role_policy": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": allowed, "Resource": "*"}]}}}
    sim = make_org(scenario, Faults(iam_enforcement=True))
    guru = sim.client("devops-guru", account_id="222222222222", **NO_RETRIES)
    assert guru.get_resource_collection(ResourceCollectionType="AWS_CLOUD_FORMATION")["ResourceCollection"]
    assert guru.describe_service_integration()["ServiceIntegration"]
    assert _error(lambda: guru.list_notification_channels())["Error"]["Code"] == "AccessDeniedException"
    tagging = sim.client("resourcegroupstaggingapi", account_id="222222222222", **NO_RETRIES)
    assert "ResourceTagMappingList" in tagging.get_resources()


S3_ORG = {
    "organization": {"management_account": "111111111111", "regions": ["us-east-1"], "role_policy": {
        "Version": "2012-10-17",
        # The actions AWS documents for ListBuckets and GetBucketEncryption
        # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html, .../API_GetBucketEncryption.html).
        "Statement": [{"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:GetEncryptionConfiguration"], "Resource": "*"}]}},
    "accounts": [
        {"id": "111111111111", "name": "management", "email": "m@example.com"},
        {"id": "222222222222", "name": "member", "email": "n@example.com",
         "s3_buckets": [{"name": "member-bucket", "region": "us-east-1"}]},
    ],
}


def test_iam_enforcement_authorizes_s3_calls_by_their_true_iam_actions(make_org):
    sim = make_org(S3_ORG, Faults(iam_enforcement=True))
    s3 = sim.client("s3", account_id="222222222222", **NO_RETRIES)

    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["member-bucket"]
    try:
        s3.get_bucket_encryption(Bucket="member-bucket")
    except botocore.exceptions.ClientError as error:  # moto may answer "no configuration": authorized all the same
        assert error.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError"
    # Not granted: s3:GetBucketTagging.
    assert _error(lambda: s3.get_bucket_tagging(Bucket="member-bucket"))["Error"]["Code"] == "AccessDenied"
    # The interceptor counted the calls under the actions AWS authorizes them by.
    counted = {action for account, _, action in sim.call_counts() if account == "222222222222"}
    assert {"s3:ListAllMyBuckets", "s3:GetEncryptionConfiguration", "s3:GetBucketTagging"} <= counted
    assert not {"s3:ListBuckets", "s3:GetBucketEncryption"} & counted


def test_denying_a_true_iam_action_denies_the_call_and_names_it(make_org):
    sim = make_org(S3_ORG, Faults(deny_actions={"222222222222": ["s3:GetEncryptionConfiguration"]}))
    s3 = sim.client("s3", account_id="222222222222", **NO_RETRIES)
    assert s3.list_buckets()["Buckets"]
    response = _error(lambda: s3.get_bucket_encryption(Bucket="member-bucket"))
    assert response["Error"]["Code"] == "AccessDenied"
    assert "s3:GetEncryptionConfiguration" in response["Error"]["Message"]


@pytest.mark.parametrize(
    ("denied", "message"),
    [("s3:GetBucketEncryption", "the IAM action is s3:GetEncryptionConfiguration"), ("s3:ListBuckets", "s3:ListAllMyBuckets"),
     ("kms:NoSuchAction", "not an IAM action")],
)
def test_made_up_action_names_are_refused_by_the_faults(denied, message):
    with pytest.raises(ValueError, match=message):
        Faults(deny_actions={"222222222222": [denied]})
    faults = Faults()
    with pytest.raises(ValueError, match=message):
        faults.deny_actions = {"222222222222": [denied]}
    with pytest.raises(ValueError, match=message):
        Faults(fault_operations=(denied,))
    with pytest.raises(ValueError, match=message):
        Faults(expire_requests={denied: lambda call: True})
    assert Faults(deny_actions={"222222222222": ["s3:*", "kms:GetKeyPolicy"]}).action_denied("222222222222", "s3:ListAllMyBuckets")
