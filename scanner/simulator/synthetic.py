"""Large synthetic organizations for benchmarks: realistic, varied and reproducible from a seed."""
from __future__ import annotations

import json
import random

from scanner.simulator.scenario import (
    Account,
    ApiDestination,
    Bucket,
    DevOpsGuruSetup,
    IamPrincipal,
    IamUser,
    KmsKey,
    Scenario,
    SnsTopic,
    Subscription,
    Trail,
    Vpc,
    VpcEndpoint,
    _derived_key_id,
    _partition_regions,
)

_TEAMS = ("payments", "search", "identity", "platform", "data", "mobile", "web", "ml", "billing", "support")
_ENVIRONMENTS = ("prod", "staging", "dev", "sandbox")


def _guru_key_policy(account_id: str, regions: tuple[str, ...]) -> str:
    statements = [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"},
    ]
    for region in regions:
        statements.append(
            {
                "Sid": f"AllowDevOpsGuru{region.replace('-', '')}",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:CreateGrant", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"devops-guru.{region}.amazonaws.com", "kms:CallerAccount": account_id}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def synthetic_scenario(accounts: int, regions: tuple[str, ...] | list[str] = ("us-east-1", "us-west-2"), seed: int = 0) -> Scenario:
    """An organization of ``accounts`` accounts (management included) in ``regions``, the same for the same seed.

    Each account has several KMS keys (some for DevOps Guru, some with rotation
    off or public policies), a trail, VPCs with and without DevOps Guru
    endpoints, tagged S3 buckets and SNS topics with HTTPS subscriptions, IAM
    roles and users, and API destinations; about one in ten settings is
    non-compliant, and one account in fifty is suspended.
    """
    if accounts < 1:
        raise ValueError("a synthetic organization needs at least one account")
    regions = tuple(regions)
    known = _partition_regions()
    for region in regions:
        if region not in known:
            raise ValueError(f"{region!r} is not a region of the aws partition")
    rng = random.Random(seed)
    management_id = "100000000000"
    units = ("Security", "Infrastructure", "Workloads", "Workloads/Prod", "Workloads/NonProd", "Sandbox")
    result: list[Account] = []
    for index in range(accounts):
        account_id = management_id if index == 0 else f"{200000000000 + index:012d}"
        team = _TEAMS[index % len(_TEAMS)]
        environment = _ENVIRONMENTS[(index // len(_TEAMS)) % len(_ENVIRONMENTS)]
        name = "management" if index == 0 else f"{team}-{environment}-{index:04d}"
        account = Account(
            id=account_id,
            name=name,
            email=f"aws+{name}@example.com",
            ou="" if index == 0 else rng.choice(units[2:] if environment in ("prod", "staging") else units),
            status="SUSPENDED" if index and index % 50 == 49 else "ACTIVE",
            root_mfa=rng.random() > 0.1,
            default_vpc=rng.random() > 0.3,
        )
        key_index = 0
        for region in regions:
            guru_key_id = _derived_key_id(account_id, region, key_index, False)
            account.kms_keys.append(
                KmsKey(id=guru_key_id, region=region, description=f"DevOps Guru data for {team}", policy=_guru_key_policy(account_id, regions),
                       rotation=rng.random() > 0.1, aliases=(f"alias/devops-guru-{team}",), tags={"team": team, "purpose": "devops-guru"})
            )
            key_index += 1
            for extra in range(rng.randint(1, 3)):
                public = rng.random() < 0.05
                policy = json.loads(_guru_key_policy(account_id, ()))
                if public:
                    policy["Statement"].append({"Sid": "Shared", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"})
                account.kms_keys.append(
                    KmsKey(id=_derived_key_id(account_id, region, key_index, False), region=region, description=f"{team} {environment} data key {extra}",
                           policy=json.dumps(policy), rotation=rng.random() > 0.2, state="Disabled" if rng.random() < 0.05 else "Enabled",
                           tags={"team": team, "environment": environment, "cost-center": f"cc-{rng.randint(1000, 9999)}"})
                )
                key_index += 1
            use_cmk = rng.random() > 0.2
            account.devops_guru.append(
                DevOpsGuruSetup(region=region, encryption_type="CUSTOMER_MANAGED_KEY" if use_cmk else "AWS_OWNED_KMS_KEY",
                                kms_key=f"alias/devops-guru-{team}" if use_cmk else None,
                                stacks=("*",) if rng.random() > 0.3 else (), tags={} )
            )
            for vpc_index in range(rng.randint(1, 2)):
                endpoints = []
                if rng.random() > 0.3:
                    endpoints.append(VpcEndpoint(service="devops-guru", private_dns=rng.random() > 0.1, tags={"Name": f"{team}-devops-guru"}))
                endpoints.append(VpcEndpoint(service="s3", type="Gateway", private_dns=False))
                account.vpcs.append(
                    Vpc(region=region, cidr=f"10.{vpc_index}.0.0/16", subnets=(f"10.{vpc_index}.1.0/24", f"10.{vpc_index}.2.0/24"),
                        tags={"Name": f"{team}-{environment}-{vpc_index}", "team": team}, endpoints=endpoints)
                )
            topic = f"{team}-alerts-{region}"
            account.sns_topics.append(
                SnsTopic(name=topic, region=region, tags={"team": team},
                         subscriptions=[Subscription("https", f"https://hooks.example.com/{team}/{region}")])
            )
            account.s3_buckets.append(Bucket(name=f"{name}-{region}-{account_id}-data", region=region, tags={"team": team, "environment": environment}))
            account.api_destinations.append(ApiDestination(name=f"{team}-webhook-{region}", region=region, url=f"https://api.example.com/{team}/events"))
        if index == 0:
            account.trails.append(Trail(name="organization-trail", region=regions[0], organization=True, kms_key_id=account.kms_keys[0].id))
        elif rng.random() < 0.3:
            account.trails.append(Trail(name=f"{team}-trail", region=regions[0], multi_region=rng.random() > 0.2, log_file_validation=rng.random() > 0.3))
        account.iam_roles.append(IamPrincipal(name=f"{team}-deployer", description=f"Deploys {team} services", tags={"team": team}))
        account.iam_users.append(IamUser(name=f"{team}-ci", tags={"team": team}))
        result.append(account)
    return Scenario(
        name=f"synthetic-{accounts}",
        management_account_id=management_id,
        regions=regions,
        accounts=result,
        organization_id="o-synthetic001",
        organizational_units=units,
        source=f"<synthetic_scenario(accounts={accounts}, seed={seed})>",
    )
