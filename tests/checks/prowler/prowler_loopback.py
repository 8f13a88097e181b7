"""A small AWS Organization served by moto on 127.0.0.1, for running real Prowler through the bridge.

Prowler is an HTTP client like any other: it reaches this organization through
``AWS_ENDPOINT_URL`` and a member account's credentials from a real
``sts:AssumeRole``. Only fake credentials exist here.
"""
from __future__ import annotations

import socket
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

MANAGEMENT_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
REGION = "us-east-1"
ROLE_NAME = "OrganizationAccountAccessRole"


@dataclass(frozen=True)
class LoopbackOrganization:
    endpoint_url: str
    management_account_id: str
    member_account_id: str
    #: Resources created in the member account, by what Prowler should say about them.
    unrotated_key_id: str
    rotated_key_id: str

    def assume_member_role(self) -> dict[str, str]:
        """The member account's credentials, as environment variables, from a real AssumeRole."""
        sts = self.client("sts")
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{self.member_account_id}:role/{ROLE_NAME}", RoleSessionName="orgscan-prowler-test"
        )["Credentials"]
        return {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }

    def client(self, service: str, credentials: dict[str, str] | None = None):
        import boto3

        credentials = credentials or MANAGEMENT_CREDENTIALS
        return boto3.session.Session(
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
            region_name=REGION,
        ).client(service, endpoint_url=self.endpoint_url)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def loopback_organization() -> Iterator[LoopbackOrganization]:
    """An organization with one member account holding one KMS key without rotation and one with it."""
    import logging

    from moto.server import ThreadedMotoServer

    # Prowler calls APIs moto lacks (cloudtrail:LookupEvents); their tracebacks are noise here.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint_url = f"http://127.0.0.1:{port}"
        bootstrap = LoopbackOrganization(endpoint_url, "", "", "", "")
        organizations = bootstrap.client("organizations")
        organization = organizations.create_organization(FeatureSet="ALL")["Organization"]
        member_account_id = organizations.create_account(Email="member@example.com", AccountName="member")[
            "CreateAccountStatus"
        ]["AccountId"]
        partial = LoopbackOrganization(endpoint_url, organization["MasterAccountId"], member_account_id, "", "")
        kms = partial.client("kms", partial.assume_member_role())
        unrotated = kms.create_key(Description="no rotation")["KeyMetadata"]["KeyId"]
        rotated = kms.create_key(Description="rotated")["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=rotated)
        yield LoopbackOrganization(endpoint_url, organization["MasterAccountId"], member_account_id, unrotated, rotated)
    finally:
        server.stop()
