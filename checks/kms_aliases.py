"""KMS aliases as the checks read them: one home for the KMS, DevOps Guru and sensitive-data checks.

"The alias/aws/ prefix is reserved for AWS managed key" (AWS KMS Developer Guide, "Create aliases",
https://docs.aws.amazon.com/kms/latest/developerguide/alias-create.html): no one else can give a key
such an alias, so it tells an AWS managed key apart without a DescribeKey.
"""
from __future__ import annotations

from typing import Any, Mapping

from scanner.errors import MalformedResponse

AWS_MANAGED_ALIAS_PREFIX = "alias/aws/"

#: The IAM action behind :func:`aliases_by_key`, for the checks' declarations.
LIST_ALIASES = "kms:ListAliases"


def aliases_by_key(ctx: Any) -> dict[str, list[str]]:
    """Alias names per target key id in this account and region (ListAliases, every page, once per target)."""
    by_key: dict[str, list[str]] = {}
    for alias in ctx.aws.collect("kms", "list_aliases", "Aliases"):
        if not isinstance(alias, Mapping):
            raise MalformedResponse("ListAliases: an entry is not an object")
        name, target = alias.get("AliasName"), alias.get("TargetKeyId")
        if isinstance(name, str) and isinstance(target, str):
            by_key.setdefault(target, []).append(name)
    return by_key


def aws_managed(aliases: Any) -> bool:
    """Whether any of a key's alias names marks it AWS managed."""
    return any(name.startswith(AWS_MANAGED_ALIAS_PREFIX) for name in aliases)
