"""What a check receives: one account, one region, cached read access to AWS, organization facts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from scanner.aws import AwsReader
from scanner.model import GLOBAL_REGION


@dataclass(frozen=True)
class Account:
    """An AWS account to scan."""

    id: str
    name: str = ""
    partition: str = "aws"
    email_domain: str = ""


@dataclass(frozen=True)
class OrganizationFacts:
    """Facts about the organization as a whole, read once per scan from the management account.

    ``management`` is a cached reader over the caller's (management or delegated
    administrator) account, for facts such as organization trails that cover
    every member. It is ``None`` in single-account mode.
    """

    id: str | None
    management_account_id: str | None
    management: AwsReader | None = None


@dataclass(frozen=True)
class CheckContext:
    """One target (account, region) as one check sees it.

    - ``region`` is the region judged, or ``global`` for account-wide checks.
    - ``api_region`` is where calls go by default (for account-wide checks, the
      scan's first region).
    - ``aws`` reads AWS for this account; every call is cached per target and
      must be declared in the check's ``iam_actions``.
    - ``options`` are this check's settings from the config file
      (``[checks.<id>]``).
    - ``scan_regions`` are the account's planned regions, in order; a regional
      check that also judges something global (IAM) does so only in the first.
    """

    account: Account
    region: str
    api_region: str
    aws: AwsReader
    organization: OrganizationFacts | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    scan_mode: str = "account"
    scan_regions: tuple[str, ...] = ()
    credentials_provider: Callable[[bool], Mapping[str, str]] | None = field(default=None, repr=False)

    def credentials_environment(self, fresh: bool = False) -> dict[str, str]:
        """The account's credentials as ``AWS_*`` environment variables, for a subprocess.

        Only for bridges to external tools (the Prowler bridge); pass them in an
        environment, never on a command line, and never log them. ``fresh``
        assumes the role anew, so a long subprocess gets a whole session.
        """
        if self.credentials_provider is None:
            raise RuntimeError("this context has no credentials to hand to a subprocess")
        return dict(self.credentials_provider(fresh))

    @property
    def account_id(self) -> str:
        return self.account.id

    @property
    def partition(self) -> str:
        return self.account.partition

    @property
    def is_global(self) -> bool:
        return self.region == GLOBAL_REGION

    def arn(self, service: str, resource: str, region: str | None = None) -> str:
        """An ARN in this account; ``region`` defaults to the target region ('' for global services)."""
        if region is None:
            region = "" if self.is_global else self.region
        return f"arn:{self.partition}:{service}:{region}:{self.account.id}:{resource}"
