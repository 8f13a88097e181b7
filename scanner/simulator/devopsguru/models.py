"""DevOps Guru state for one account and region, and the operations on it."""
from __future__ import annotations

import copy
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend

from scanner.simulator.devopsguru.exceptions import ResourceNotFoundException, ValidationException

OPT_IN_STATUSES = ("ENABLED", "DISABLED")
#: The grantee of the grant DevOps Guru creates on its customer managed key: its service principal, which is
#: what KMS's ListGrants reports for a grant to an AWS service (botocore's kms model, GrantListEntry.GranteePrincipal).
DEVOPS_GURU_GRANTEE = "devops-guru.amazonaws.com"
#: What DevOps Guru needs to write and read its data under the key (envelope encryption).
DEVOPS_GURU_GRANT_OPERATIONS = ("Decrypt", "GenerateDataKey")
# DevOps Guru only accepts tag keys with this prefix as application boundaries (case-insensitive).
APP_BOUNDARY_PREFIX = "devops-guru-"


def default_service_integration() -> dict[str, Any]:
    """What a fresh account and region answers: OpsCenter and log anomaly detection off, the AWS owned key."""
    return {
        "OpsCenter": {"OptInStatus": "DISABLED"},
        "LogsAnomalyDetection": {"OptInStatus": "DISABLED"},
        "KMSServerSideEncryption": {"OptInStatus": "ENABLED", "Type": "AWS_OWNED_KMS_KEY"},
    }


class DevOpsGuruBackend(BaseBackend):
    """One account's DevOps Guru in one region."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.service_integration = default_service_integration()
        self.stack_names: list[str] = []
        self.tag_collections: dict[str, list[str]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.health = {"OpenReactiveInsights": 0, "OpenProactiveInsights": 0, "MetricsAnalyzed": 0, "ResourceHours": 0}

    # -- service integration -------------------------------------------------------------------

    def describe_service_integration(self) -> dict[str, Any]:
        return copy.deepcopy(self.service_integration)

    def update_service_integration(self, config: dict[str, Any]) -> None:
        for section in ("OpsCenter", "LogsAnomalyDetection"):
            status = (config.get(section) or {}).get("OptInStatus")
            if status:
                self.service_integration[section] = {"OptInStatus": status}
        kms = config.get("KMSServerSideEncryption")
        if kms:
            setting = self._kms_setting(kms)
            self.service_integration["KMSServerSideEncryption"] = setting
            if setting.get("KMSKeyId"):
                create_devops_guru_grant(self.account_id, self.region_name, setting["KMSKeyId"])

    @staticmethod
    def _kms_setting(kms: dict[str, Any]) -> dict[str, Any]:
        encryption_type = kms.get("Type") or "AWS_OWNED_KMS_KEY"
        status = kms.get("OptInStatus") or "ENABLED"
        key_id = kms.get("KMSKeyId")
        if encryption_type == "CUSTOMER_MANAGED_KEY" and not key_id:
            raise ValidationException(
                "KMSKeyId is required when Type is CUSTOMER_MANAGED_KEY",
                [{"Name": "KMSKeyId", "Message": "KMSKeyId is required when Type is CUSTOMER_MANAGED_KEY"}],
                reason="INVALID_PARAMETER_COMBINATION",
            )
        setting: dict[str, Any] = {"OptInStatus": status, "Type": encryption_type}
        if encryption_type == "CUSTOMER_MANAGED_KEY":
            setting["KMSKeyId"] = key_id
        return setting

    # -- resource collection --------------------------------------------------------------------

    def get_resource_collection(self, collection_type: str) -> dict[str, Any]:
        if collection_type == "AWS_CLOUD_FORMATION":
            return {"CloudFormation": {"StackNames": list(self.stack_names)}}
        if collection_type == "AWS_TAGS":
            return {"Tags": [{"AppBoundaryKey": key, "TagValues": list(values)} for key, values in self.tag_collections.items()]}
        # AWS_SERVICE: a collection built from the services' own resources, which nothing here defines.
        return {}

    def update_resource_collection(self, action: str, collection: dict[str, Any]) -> None:
        stacks = (collection.get("CloudFormation") or {}).get("StackNames")
        tags = collection.get("Tags")
        if stacks is None and tags is None:
            raise ValidationException(
                "ResourceCollection must name CloudFormation stacks or tags", reason="INVALID_PARAMETER_COMBINATION"
            )
        for tag in tags or []:
            if not tag["AppBoundaryKey"].lower().startswith(APP_BOUNDARY_PREFIX):
                message = f"AppBoundaryKey {tag['AppBoundaryKey']!r} must begin with the prefix DevOps-Guru-"
                raise ValidationException(message, [{"Name": "AppBoundaryKey", "Message": message}])
        if action == "ADD":
            for name in stacks or []:
                if name not in self.stack_names:
                    self.stack_names.append(name)
            for tag in tags or []:
                values = self.tag_collections.setdefault(tag["AppBoundaryKey"], [])
                values.extend(value for value in tag["TagValues"] if value not in values)
        else:
            self.stack_names = [name for name in self.stack_names if name not in set(stacks or [])]
            for tag in tags or []:
                key = tag["AppBoundaryKey"]
                remaining = [value for value in self.tag_collections.get(key, []) if value not in set(tag["TagValues"])]
                if remaining and tag["TagValues"]:
                    self.tag_collections[key] = remaining
                else:
                    self.tag_collections.pop(key, None)

    def is_in_use(self) -> bool:
        """DevOps Guru analyses something here: a stack or a tag boundary is in the collection."""
        return bool(self.stack_names or self.tag_collections)

    # -- notification channels ------------------------------------------------------------------

    def list_notification_channels(self) -> list[dict[str, Any]]:
        return [{"Id": channel_id, "Config": copy.deepcopy(config)} for channel_id, config in self.channels.items()]

    def add_notification_channel(self, config: dict[str, Any]) -> str:
        topic_arn = config["Sns"].get("TopicArn")
        for channel_id, existing in self.channels.items():
            if existing["Sns"].get("TopicArn") == topic_arn:
                # The service answers an existing topic with the channel it already has.
                return channel_id
        from moto.moto_api._internal import mock_random

        channel_id = str(mock_random.uuid4())  # seeded like moto's other ids
        self.channels[channel_id] = copy.deepcopy(config)
        return channel_id

    def remove_notification_channel(self, channel_id: str) -> None:
        if self.channels.pop(channel_id, None) is None:
            raise ResourceNotFoundException(
                f"Notification channel {channel_id} does not exist", resource_id=channel_id, resource_type="NotificationChannel"
            )

    # -- health ---------------------------------------------------------------------------------

    def describe_account_health(self) -> dict[str, Any]:
        health = dict(self.health)
        health.setdefault("AnalyzedResourceCount", len(self.stack_names) + sum(len(v) for v in self.tag_collections.values()))
        return health


def _resolve_key(account_id: str, region: str, key_ref: str) -> Any | None:
    """The moto key a KMSKeyId names, as DevOps Guru in ``account_id``/``region`` would use it (None: no such key)."""
    from moto.kms.models import kms_backends

    key_account, key_region, name = account_id, region, key_ref
    if key_ref.startswith("arn:"):
        parts = key_ref.split(":", 5)
        if len(parts) != 6 or parts[2] != "kms" or not parts[3] or not parts[4]:
            return None  # not a KMS ARN: nothing DevOps Guru could create a grant on
        key_account, key_region, name = parts[4], parts[3], parts[5]
    try:
        backend = kms_backends[key_account][key_region]
    except KeyError:  # a region moto does not know
        return None
    if name.startswith("alias/"):
        return next((key for key in backend.keys.values() if name in key.aliases), None)
    elif name.startswith("key/"):
        name = name[4:]
    return backend.keys.get(name)


def create_devops_guru_grant(account_id: str, region: str, key_ref: str, operations: tuple[str, ...] = DEVOPS_GURU_GRANT_OPERATIONS) -> None:
    """Give DevOps Guru its grant on the key it is configured with, as it does when a customer managed key is set.

    Like the service (which calls CreateGrant once), an existing DevOps Guru grant on the key is kept.
    A key that does not exist gets no grant.
    """
    key = _resolve_key(account_id, region, key_ref)
    if key is None:
        return
    if any(grant.grantee_principal == DEVOPS_GURU_GRANTEE for grant in key.grants.values()):
        return
    key.add_grant("", DEVOPS_GURU_GRANTEE, list(operations), constraints={}, retiring_principal=DEVOPS_GURU_GRANTEE)


devopsguru_backends = BackendDict(DevOpsGuruBackend, "devops-guru")
