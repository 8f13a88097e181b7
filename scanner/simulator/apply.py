"""Writing a scenario into moto's backends: the organization, its accounts and their resources.

The scenario goes straight into moto's in-memory models rather than through
API calls: an organization of hundreds of accounts is set up in seconds, and
state AWS's APIs would refuse to create directly (a key pending deletion that
DevOps Guru still points at, a suspended account, an endpoint stuck in
``pending``) can be declared as it would be found.
"""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Iterator

from scanner.simulator.registration import make_aws_managed
from scanner.simulator.scenario import Account, Scenario, aws_default_key_policy

SCANNER_ROLE = "orgscan-simulator-scanner"
SCANNER_SESSION = "orgscan"
# An endpoint policy AWS attaches when none is given: full access to everyone.
FULL_ACCESS_ENDPOINT_POLICY = json.dumps({"Statement": [{"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]})
DEFAULT_EVENT_SELECTOR = {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [], "ExcludeManagementEventSources": []}


def scanner_credentials(account_id: str) -> tuple[str, str, str]:
    """The fixed (access key id, secret, session token) of the management account's scanner session.

    Fixed, so an environment handed out once stays valid across resets.
    """
    return f"ASIASIM0{account_id}", f"simulator-secret-{account_id}", f"simulator-session-token-{account_id}"


def reset_moto() -> None:
    """Forget every account's state, like a fresh moto."""
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data
    from moto.organizations.models import organizations_backends
    from moto.s3.models import s3_backends

    from moto.core.base_backend import backend_lock

    # BackendDict.reset() re-creates every backend before dropping it; dropping is enough (and fast).
    with backend_lock:
        for backend_dict in BackendDict._instances:
            backend_dict.clear()
        BackendDict._instances.clear()
    reset_model_data()
    organizations_backends.master_accounts.clear()
    s3_backends.bucket_accounts.clear()


def apply_scenario(scenario: Scenario) -> None:
    """Create the scenario's organization and resources in moto (which must have been reset).

    moto draws every id (VPCs, subnets, endpoints, OUs, subscriptions) from one
    seeded random generator: seeding it from the scenario, and creating every
    account's regional EC2 state (default VPCs) here in a fixed order rather than
    lazily on a scan's first call, gives the same ids after every reset, so
    result fingerprints stay the same from run to run.
    """
    from moto.moto_api._internal import mock_random

    mock_random.seed(scenario_seed(scenario))
    _create_organization(scenario)
    vpc_ids = {account.id: _apply_account(scenario, account) for account in scenario.accounts}
    # After every account's keys exist: DevOps Guru's key may be another account's.
    for account in scenario.accounts:
        _apply_devops_guru_grants(account)
    # After every account's VPCs exist: a VPC may use another account's zone or shared Resolver rule.
    from scanner.simulator.private_dns import apply_private_dns

    apply_private_dns(scenario, vpc_ids)


def scenario_seed(scenario: Scenario) -> int:
    """A seed for moto's id generator that depends only on the scenario's name and accounts."""
    import hashlib

    text = "\x1f".join((scenario.name, scenario.organization_id, *scenario.account_ids, *scenario.regions))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@contextmanager
def _fixed_account_id(account_id: str) -> Iterator[None]:
    # moto makes up account ids; the scenario's are fixed.
    import moto.organizations.utils as org_utils

    original = org_utils.make_random_account_id
    org_utils.make_random_account_id = lambda: account_id
    try:
        yield
    finally:
        org_utils.make_random_account_id = original


def _create_organization(scenario: Scenario) -> None:
    from moto.iam.models import iam_backends
    from moto.organizations.models import organizations_backends

    management = scenario.management
    orgs = organizations_backends[management.id]["aws"]
    orgs.create_organization(region="us-east-1", FeatureSet="ALL")
    orgs.org.id = scenario.organization_id
    orgs.org.master_account_email = management.email
    for fake in orgs.accounts:
        if fake.id == management.id:
            fake.name = management.name
            fake.email = management.email
            fake.organization_id = scenario.organization_id
    for unit in orgs.ou:
        unit.organization_id = scenario.organization_id
    root_id = orgs.org.root_id
    ou_ids = {"": root_id}
    for path in scenario.organizational_units:
        parent, _, name = path.rpartition("/")
        answer = orgs.create_organizational_unit(Name=name, ParentId=ou_ids[parent])
        ou_ids[path] = answer["OrganizationalUnit"]["Id"]
    for account in scenario.accounts:
        if account.id == management.id:
            fake = next(a for a in orgs.accounts if a.id == management.id)
        else:
            with _fixed_account_id(account.id):
                orgs.create_account(AccountName=account.name, Email=account.email, RoleName=scenario.role_name)
            fake = next(a for a in orgs.accounts if a.id == account.id)
            member_iam = iam_backends[account.id]["global"]
            if account.role_assumable:
                member_iam.put_role_policy(scenario.role_name, "OrganizationAccess", scenario.role_policy)
                if scenario.external_id is not None:
                    member_iam.get_role(scenario.role_name).assume_role_policy_document = _trust_policy(
                        management.id, scenario.external_id
                    )
            else:
                # The role AWS Organizations creates is gone: assuming it is denied.
                member_iam.delete_role(scenario.role_name)
        fake.parent_id = ou_ids[account.ou]
        fake.organization_id = scenario.organization_id
        if account.status == "SUSPENDED":
            fake.status = fake.state = "SUSPENDED"

    # The scanner's own identity in the management account: a role session (with a session token,
    # as SSO or an instance role would give) whose keys are fixed, so they survive resets.
    iam = iam_backends[management.id]["global"]
    iam.create_role(
        role_name=SCANNER_ROLE,
        assume_role_policy_document=_trust_policy(management.id),
        path="/",
        permissions_boundary=None,
        description="The identity orgscan scans the simulated organization with",
        tags=[],
        max_session_duration="43200",
    )
    iam.put_role_policy(SCANNER_ROLE, "OrganizationScanner", scenario.management_policy)
    _fixed_role_session(management.id, iam)


def _fixed_role_session(account_id: str, iam: Any) -> None:
    from moto.core.utils import utcnow
    from moto.sts.models import AssumedRole, sts_backends

    access_key_id, secret, token = scanner_credentials(account_id)
    key = iam.create_temp_access_key()
    iam.access_keys.pop(key.physical_resource_id, None)
    key.access_key_id = access_key_id
    key.secret_access_key = secret
    key.role_arn = f"arn:aws:iam::{account_id}:role/{SCANNER_ROLE}"
    iam.access_keys[key.physical_resource_id] = key
    session = AssumedRole(
        account_id=account_id,
        region_name="us-east-1",
        access_key=key,
        role_session_name=SCANNER_SESSION,
        role_arn=key.role_arn,
        policy="",
        duration=3600,
        external_id="",
    )
    session.session_token = token
    # The management session never expires: fault injection shortens only sessions assumed later.
    session.expiration = utcnow() + timedelta(days=3650)
    sts_backends[account_id]["aws"].assumed_roles.append(session)


def _apply_account(scenario: Scenario, account: Account) -> list[str]:
    """Create the account's resources; the ids of its declared VPCs, in order."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account.id]["global"]
    iam.account_summary._account_mfa_enabled = 1 if account.root_mfa else 0
    iam.account_summary._account_password_present = 1 if account.root_password else 0
    iam.account_summary._account_access_keys_present = 1 if account.root_access_keys else 0
    iam.account_summary._account_signing_certificates_present = 1 if account.root_signing_certificates else 0
    for role in account.iam_roles:
        iam.create_role(
            role_name=role.name,
            assume_role_policy_document=_trust_policy(account.id),
            path="/",
            permissions_boundary=None,
            description=role.description,
            tags=_tag_list(role.tags),
            max_session_duration="3600",
        )
    for user in account.iam_users:
        iam.create_user(region_name="us-east-1", user_name=user.name, path="/", tags=_tag_list(user.tags))
        _apply_user_credentials(account, iam, user)
    _apply_buckets(account)
    _apply_kms(account)
    _apply_sns(account)
    _apply_devops_guru(account)
    vpc_ids = _apply_vpcs(scenario, account)
    _apply_trails(account)
    _apply_event_data_stores(account)
    _apply_events(account)
    _apply_macie(account)
    _apply_cloudformation(account)
    return vpc_ids


def _apply_user_credentials(account: Account, iam: Any, user: Any) -> None:
    """Give ``user`` the console password, MFA devices and access keys the scenario sets, dated as it says."""
    from moto.core.utils import utcnow
    from moto.iam.models import AccessKeyLastUsed

    if user.console_password:
        iam.create_login_profile(user.name, f"scenario-{uuid.uuid4().hex}")
    for index in range(user.mfa_devices):
        iam.enable_mfa_device(user.name, f"arn:aws:iam::{account.id}:mfa/{user.name}-{index}", "123456", "654321")
    now = utcnow()
    for spec in user.access_keys:
        key = iam.create_access_key(user.name, status=spec.status)
        key.create_date = now - timedelta(days=spec.age_days)
        if spec.last_used_days_ago is not None:
            # As AWS records it: the last time the key signed a request, with that request's service and region.
            key.last_used = AccessKeyLastUsed(now - timedelta(days=spec.last_used_days_ago), "s3", "us-east-1")


def _trust_policy(account_id: str, external_id: str | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "sts:AssumeRole"}
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _apply_buckets(account: Account) -> None:
    from moto.s3.models import s3_backends

    s3 = s3_backends[account.id]["aws"]
    for bucket in account.s3_buckets:
        s3.create_bucket(bucket.name, bucket.region)
        if bucket.tags:
            s3.put_bucket_tagging(bucket.name, bucket.tags)


def _apply_kms(account: Account) -> None:
    from moto.kms.models import kms_backends

    for spec in account.kms_keys:
        kms = kms_backends[account.id][spec.region]
        key = kms.create_key(
            spec.policy if spec.policy is not None else aws_default_key_policy(account.id),
            spec.usage,
            spec.spec,
            spec.description,
            None,
            spec.multi_region,
            spec.origin,
        )
        # Fixed ids keep ARNs, and so result fingerprints, the same from run to run.
        del kms.keys[key.id]
        key.id = spec.id
        key.arn = f"arn:aws:kms:{spec.region}:{account.id}:key/{spec.id}"
        if spec.multi_region:
            key.multi_region_configuration["PrimaryKey"]["Arn"] = key.arn
        kms.keys[key.id] = key
        if spec.tags:
            kms.tag_resource(key.id, [{"TagKey": k, "TagValue": v} for k, v in spec.tags.items()])
        key.key_rotation_status = spec.rotation
        for alias in spec.aliases:
            kms.create_alias(key.id, alias)
        if spec.manager == "AWS":
            policy = key.policy
            make_aws_managed(key, spec.aliases[0] if spec.aliases else "alias/aws/unknown", account.id, spec.region)
            if spec.policy is not None:
                key.policy = policy
            if spec.description:
                key.description = spec.description
            key.key_rotation_status = spec.rotation or key.key_rotation_status
        key.simulator_metadata = _origin_metadata(account.id, spec)
        _set_key_state(key, spec.state)
        for replica_region in spec.replica_regions:
            replica = kms.replicate_key(key.id, replica_region)
            replica.key_state = key.key_state
            replica.simulator_metadata = key.simulator_metadata


def _origin_metadata(account_id: str, spec: Any) -> dict[str, Any]:
    """The KeyMetadata fields AWS adds for imported key material and for keys of a custom key store."""
    derived = uuid.uuid5(uuid.NAMESPACE_URL, f"orgscan-simulator:{account_id}:{spec.region}:key-store:{spec.id}").hex
    if spec.origin == "EXTERNAL":
        # ExpirationModel is present once key material has been imported.
        return {} if spec.state == "PendingImport" else {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
    if spec.origin == "AWS_CLOUDHSM":
        return {"CustomKeyStoreId": f"cks-{derived[:17]}", "CloudHsmClusterId": f"cluster-{derived[17:28]}"}
    if spec.origin == "EXTERNAL_KEY_STORE":
        return {"CustomKeyStoreId": f"cks-{derived[:17]}", "XksKeyConfiguration": {"Id": f"xks-key-{derived[17:29]}"}}
    return {}


def _set_key_state(key: Any, state: str) -> None:
    from moto.core.utils import utcnow

    key.key_state = state
    key.enabled = state == "Enabled"
    if state == "PendingDeletion":
        key.deletion_date = utcnow() + timedelta(days=30)


def _apply_sns(account: Account) -> None:
    from moto.sns.models import sns_backends

    for topic_spec in account.sns_topics:
        sns = sns_backends[account.id][topic_spec.region]
        attributes = {}
        if topic_spec.kms_key:
            attributes["KmsMasterKeyId"] = topic_spec.kms_key
        if topic_spec.policy is not None:
            attributes["Policy"] = topic_spec.policy
        topic = sns.create_topic(topic_spec.name, attributes=attributes or None, tags=dict(topic_spec.tags) or None)
        for subscription in topic_spec.subscriptions:
            sns.subscribe(topic.arn, subscription.endpoint, subscription.protocol)


def _apply_devops_guru(account: Account) -> None:
    from scanner.simulator.devopsguru.models import devopsguru_backends

    for setup in account.devops_guru:
        guru = devopsguru_backends[account.id][setup.region]
        encryption: dict[str, Any] = {"OptInStatus": setup.encryption_opt_in, "Type": setup.encryption_type}
        if setup.encryption_type == "CUSTOMER_MANAGED_KEY":
            encryption["KMSKeyId"] = setup.kms_key
        if setup.encryption_type == "CUSTOMER_MANAGED_KEY" and setup.kms_key is None:
            encryption.pop("KMSKeyId")  # declared as left out (omit_fields)
        integration: dict[str, Any] = {
            "OpsCenter": {"OptInStatus": setup.ops_center},
            "LogsAnomalyDetection": {"OptInStatus": setup.logs_anomaly_detection},
            "KMSServerSideEncryption": encryption,
        }
        for name in setup.omit_fields:
            section, _, member = name.partition(".")
            if member:
                integration.get(section, {}).pop(member, None)
            else:
                integration.pop(section, None)
        guru.service_integration = integration
        guru.stack_names = list(setup.stacks)
        guru.tag_collections = {key: list(values) for key, values in setup.tags.items()}
        for topic in setup.notification_topics:
            topic_arn = topic if topic.startswith("arn:") else f"arn:aws:sns:{setup.region}:{account.id}:{topic}"
            guru.add_notification_channel({"Sns": {"TopicArn": topic_arn}})


def _apply_devops_guru_grants(account: Account) -> None:
    """The grant DevOps Guru creates on its customer managed key (unless the scenario revoked it)."""
    from scanner.simulator.devopsguru.models import create_devops_guru_grant

    for setup in account.devops_guru:
        if setup.encryption_type == "CUSTOMER_MANAGED_KEY" and setup.kms_key and not setup.grant_revoked:
            create_devops_guru_grant(account.id, setup.region, setup.kms_key, setup.grant_operations)
def _apply_macie(account: Account) -> None:
    # A region without a declared session keeps none: Macie has never been enabled there
    # (registration._patch_macie makes moto start that way, as AWS does).
    from moto.macie2.models import macie2_backends

    for session in account.macie:
        macie2_backends[account.id][session.region].enable_macie(status=session.status)


def _apply_cloudformation(account: Account) -> None:
    import warnings

    from moto.cloudformation.models import cloudformation_backends

    for spec in account.cloudformation_stacks:
        # One resource that creates nothing, as CloudFormation needs one; DescribeStacks reports the
        # template's Description as the stack's.
        template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09",
                                    "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
        if spec.description:
            template["Description"] = spec.description
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # moto warns that it does not model WaitConditionHandle
            cloudformation_backends[account.id][spec.region].create_stack(name=spec.name, template=json.dumps(template), parameters={})


def _apply_vpcs(scenario: Scenario, account: Account) -> list[str]:
    from moto.ec2.models import ec2_backends

    vpc_ids: list[str] = []
    if account.status == "SUSPENDED" and not account.vpcs:
        return vpc_ids  # never scanned: moto may create its default VPCs lazily
    # A VPC declared `default = true` is the region's default VPC: it is kept even when default_vpc is false.
    declared_default = {spec.region for spec in account.vpcs if spec.default}
    for region in scenario.regions:
        ec2 = ec2_backends[account.id][region]  # creates the region's default VPC now, with a seeded id
        if not account.default_vpc and region not in declared_default:
            _delete_default_vpc(ec2)
    for index, spec in enumerate(account.vpcs):
        ec2 = ec2_backends[account.id][spec.region]
        if spec.default:
            vpc = ec2.get_default_vpc()
            if vpc is None:
                vpc = ec2.create_default_vpc()
            subnet_ids = [subnet.id for subnet in ec2.describe_subnets(filters={"vpc-id": [vpc.id]})]
        else:
            vpc = ec2.create_vpc(cidr_block=spec.cidr)
            subnet_ids = [ec2.create_subnet(vpc.id, cidr).id for cidr in spec.subnets]
        vpc_ids.append(vpc.id)
        if spec.tags:
            ec2.create_tags([vpc.id], spec.tags)
        for endpoint_spec in spec.endpoints:
            interface = endpoint_spec.type == "Interface"
            endpoint = ec2.create_vpc_endpoint(
                vpc_id=vpc.id,
                service_name=endpoint_spec.service_name(spec.region),
                endpoint_type=endpoint_spec.type,
                policy_document=endpoint_spec.policy or FULL_ACCESS_ENDPOINT_POLICY,
                route_table_ids=[],
                subnet_ids=subnet_ids[:1] if interface else [],
                tags=dict(endpoint_spec.tags) or None,
                private_dns_enabled=endpoint_spec.private_dns if interface else False,
            )
            endpoint.state = endpoint_spec.state
            if endpoint_spec.without_policy:
                endpoint.policy_document = None
    return vpc_ids


def _delete_default_vpc(ec2: Any) -> None:
    vpc = ec2.get_default_vpc()
    if vpc is None:
        return
    for subnet in ec2.describe_subnets(filters={"vpc-id": [vpc.id]}):
        ec2.delete_subnet(subnet.id)
    for table in list(ec2.route_tables.values()):
        if table.vpc_id == vpc.id:
            ec2.route_tables.pop(table.id, None)
    for group in list(ec2.groups.get(vpc.id, {}).values()):
        ec2.groups[vpc.id].pop(group.id, None)
    for gateway in list(ec2.internet_gateways.values()):
        if gateway.vpc is not None and gateway.vpc.id == vpc.id:
            ec2.internet_gateways.pop(gateway.id, None)
    ec2.vpcs.pop(vpc.id, None)


def _apply_event_data_stores(account: Account) -> None:
    from scanner.simulator.cloudtrail_lake import create_event_data_store

    for spec in account.event_data_stores:
        create_event_data_store(
            account.id, spec.region, spec.name, organization=spec.organization, multi_region=spec.multi_region,
            status=spec.status, advanced_event_selectors=spec.advanced_event_selectors,
        )


def _apply_trails(account: Account) -> None:
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.s3.models import s3_backends

    s3 = s3_backends[account.id]["aws"]
    for spec in account.trails:
        bucket = spec.bucket or f"aws-cloudtrail-logs-{account.id}-{uuid.uuid5(uuid.NAMESPACE_URL, spec.name).hex[:8]}"
        if bucket not in s3.buckets:
            s3.create_bucket(bucket, spec.region)
        cloudtrail = cloudtrail_backends[account.id][spec.region]
        trail = cloudtrail.create_trail(
            name=spec.name,
            bucket_name=bucket,
            s3_key_prefix="",
            sns_topic_name="",
            is_global=spec.include_global_events,
            is_multi_region=spec.multi_region,
            log_validation=spec.log_file_validation,
            is_org_trail=spec.organization,
            cw_log_group_arn="",
            cw_role_arn="",
            kms_key_id=spec.kms_key_id or "",
            tags_list=_tag_list(spec.tags),
        )
        if spec.logging:
            trail.start_logging()
        if spec.advanced_event_selectors:
            trail.put_event_selectors([], [dict(s) for s in spec.advanced_event_selectors])
        else:
            trail.put_event_selectors([dict(s) for s in spec.event_selectors] or [dict(DEFAULT_EVENT_SELECTOR)], [])


def _apply_events(account: Account) -> None:
    from moto.events.models import events_backends

    for spec in account.api_destinations:
        events = events_backends[account.id][spec.region]
        connection_name = spec.connection or f"{spec.name}-connection"
        existing = events.connections.get(connection_name) if hasattr(events, "connections") else None
        if existing is None:
            existing = events.create_connection(
                connection_name,
                "",
                "API_KEY",
                {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "stored-in-secrets-manager"}},
            )
        events.create_api_destination(spec.name, "", existing.arn, spec.url, "10", spec.http_method)
