"""Hub-and-spoke DNS: private hosted zones and Resolver rules that other accounts' VPCs use, as AWS answers for them.

moto 5.2.1 keeps every account's Route 53 and Resolver state apart, so two things
AWS does across accounts are missing:

- ``ListHostedZonesByVPC`` lists only the caller's own zones. AWS lists "all the
  private hosted zones that a specified VPC is associated with, regardless of
  which Amazon Web Services account or Amazon Web Services service owns the
  hosted zones", with the owner in ``Owner.OwningAccount`` (Route 53 API
  Reference). A zone of another account is associated with a VPC after that
  account's ``CreateVPCAssociationAuthorization`` and the VPC owner's
  ``AssociateVPCWithHostedZone`` (Route 53 Developer Guide, "Associating an
  Amazon VPC and a private hosted zone that you created with different AWS
  accounts"); the scenario declares the end state.
- ``GetResolverRule`` finds only the caller's own rules. A rule shared through
  AWS RAM can be read and associated by the accounts it is shared with; AWS then
  reports it with the owner's ``OwnerId`` and ``ShareStatus`` ``SHARED_WITH_ME``
  (``SHARED_BY_ME`` to its owner) (Route 53 Developer Guide, "Sharing Resolver
  rules with other AWS accounts and using shared rules").

:func:`install` patches both (and lets Route 53's GET calls pass moto's signature check under
IAM enforcement); :func:`apply_private_dns` writes a scenario's zones,
rules and associations into moto's models once every account's VPCs exist.
"""
from __future__ import annotations

import copy
from typing import Any

from scanner.simulator.scenario import Scenario


def _other_accounts_zones(caller: str, vpc_id: str) -> list[dict[str, Any]]:
    """Zones of other accounts associated with ``vpc_id``, in ListHostedZonesByVPC's shape."""
    from moto.route53.models import route53_backends

    summaries = []
    for account_id in list(route53_backends.keys()):
        if account_id == caller or "global" not in route53_backends[account_id]:
            continue
        backend = route53_backends[account_id]["global"]
        for zone in list(backend.zones.values()):
            if zone.private_zone and any(vpc.get("vpc_id") == vpc_id for vpc in zone.vpcs):
                summaries.append({"HostedZoneId": zone.resource_id, "Name": zone.name, "Owner": {"OwningAccount": account_id}})
    return summaries


def _owns_vpc(account_id: str, vpc_id: str) -> bool:
    from moto.ec2.models import ec2_backends

    if account_id not in ec2_backends:
        return False
    return any(vpc_id in backend.vpcs for backend in list(ec2_backends[account_id].values()))


def _shared_rule(caller: str, region: str, rule_id: str) -> Any:
    """Another account's rule ``rule_id`` in ``region`` shared with ``caller``, as the caller sees it; else ``None``."""
    from moto.route53resolver.models import route53resolver_backends

    for account_id in list(route53resolver_backends.keys()):
        if account_id == caller or region not in route53resolver_backends[account_id]:
            continue
        rule = route53resolver_backends[account_id][region].resolver_rules.get(rule_id)
        if rule is not None and caller in getattr(rule, "simulator_shared_with", ()):
            view = copy.copy(rule)
            view.share_status = "SHARED_WITH_ME"
            return view
    return None


def install() -> None:
    """Patch moto's Route 53 and Resolver backends to answer across accounts as AWS does."""
    from moto.route53.models import Route53Backend
    from moto.route53resolver.exceptions import ResourceNotFoundException
    from moto.route53resolver.models import Route53ResolverBackend

    original_list = Route53Backend.list_hosted_zones_by_vpc

    def list_hosted_zones_by_vpc(self: Any, vpc_id: str) -> list[dict[str, Any]]:
        zones = list(original_list(self, vpc_id))
        # Other accounts' zones are listed to the VPC's owner only: they are associated with its VPC.
        if _owns_vpc(self.account_id, vpc_id):
            zones.extend(_other_accounts_zones(self.account_id, vpc_id))
        return zones

    Route53Backend.list_hosted_zones_by_vpc = list_hosted_zones_by_vpc  # type: ignore[method-assign]

    # moto fills the parameters of a bodiless GET (ListHostedZonesByVPC is GET /hostedzonesbyvpc?vpcid=...) with the
    # request headers and query; its signature check then signs them as a payload, where the client signed an empty
    # one, and rejects the call under IAM enforcement. The query is signed as part of the path already.
    from xml.sax.saxutils import escape

    from moto.core.exceptions import _RESTError
    from moto.route53.responses import Route53

    original_authorize = Route53._authenticate_and_authorize_normal_action

    def authorize(self: Any, resource: str = "*") -> None:
        if self.method != "GET" or self.raw_body:
            original_authorize(self, resource)
            return
        saved = self.data
        self.data = {}
        try:
            original_authorize(self, resource)
        finally:
            self.data = saved

    def authorize_as_route53(self: Any, resource: str = "*") -> None:
        # moto writes its authorization errors as <ErrorResponse><Errors><Error>, the query services' shape; Route 53
        # answers <ErrorResponse><Error> (its REST-XML shape), which is what the SDK reads the error code from.
        try:
            authorize(self, resource)
        except _RESTError as error:
            error.description = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
                f"<Error><Type>Sender</Type><Code>{escape(error.error_type)}</Code><Message>{escape(error.message)}</Message>"
                "</Error><RequestId>simulator</RequestId></ErrorResponse>"
            )
            raise

    Route53._authenticate_and_authorize_normal_action = authorize_as_route53  # type: ignore[method-assign]

    original_get = Route53ResolverBackend.get_resolver_rule

    def get_resolver_rule(self: Any, resolver_rule_id: str) -> Any:
        try:
            return original_get(self, resolver_rule_id)
        except ResourceNotFoundException:
            shared = _shared_rule(self.account_id, self.region_name, resolver_rule_id)
            if shared is None:
                raise
            return shared

    Route53ResolverBackend.get_resolver_rule = get_resolver_rule  # type: ignore[method-assign]


def apply_private_dns(scenario: Scenario, vpc_ids: dict[str, list[str]]) -> None:
    """Create the scenario's private hosted zones and Resolver rules, then associate the VPCs that name them.

    ``vpc_ids[account]`` holds the ids of the account's declared VPCs, in order. A zone
    is created with its account's first declared VPC of its region (the region's
    default VPC when none is declared), as AWS needs a VPC of the zone's own
    account at creation.
    """
    from moto.ec2.models import ec2_backends
    from moto.moto_api._internal import mock_random
    from moto.route53.models import route53_backends
    from moto.route53resolver.models import ResolverRule, ResolverRuleAssociation, route53resolver_backends

    zones: dict[tuple[str, str], Any] = {}
    rules: dict[tuple[str, str, str], Any] = {}
    for account in scenario.accounts:
        route53 = route53_backends[account.id]["global"]
        for spec in account.hosted_zones:
            own = [vpc_ids[account.id][i] for i, vpc in enumerate(account.vpcs) if vpc.region == spec.region]
            creator = own[0] if own else ec2_backends[account.id][spec.region].get_default_vpc().id
            zones[(account.id, spec.name)] = route53.create_hosted_zone(
                spec.name, private_zone=True, caller_reference=f"scenario-{spec.name}", vpcid=creator, vpcregion=spec.region
            )
        for spec in account.resolver_rules:
            resolver = route53resolver_backends[account.id][spec.region]
            rule_id = f"rslvr-rr-{mock_random.get_random_hex(17)}"
            rule = ResolverRule(
                account.id, spec.region, rule_id, f"scenario-{spec.name}", spec.type, spec.domain.rstrip("."),
                [{"Ip": address, "Port": 53} for address in spec.target_ips] or None, None, spec.name,
            )
            rule.status = spec.status
            rule.share_status = "SHARED_BY_ME" if spec.shared_with else "NOT_SHARED"
            rule.simulator_shared_with = frozenset(spec.shared_with)
            resolver.resolver_rules[rule_id] = rule
            rules[(account.id, spec.region, spec.name)] = rule
    for account in scenario.accounts:
        for index, vpc in enumerate(account.vpcs):
            vpc_id = vpc_ids[account.id][index]
            for reference in vpc.hosted_zones:
                zone = zones[(reference.account, reference.name.rstrip(".").lower() + ".")]
                if not any(existing.get("vpc_id") == vpc_id for existing in zone.vpcs):
                    zone.add_vpc(vpc_id, vpc.region)
            for reference in vpc.resolver_rules:
                rule = rules[(reference.account, vpc.region, reference.name)]
                association_id = f"rslvr-rrassoc-{mock_random.get_random_hex(17)}"
                resolver = route53resolver_backends[account.id][vpc.region]
                resolver.resolver_rule_associations[association_id] = ResolverRuleAssociation(
                    vpc.region, association_id, rule.id, vpc_id, reference.name
                )
