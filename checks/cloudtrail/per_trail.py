"""The loop shared by the per-trail checks: one result per trail, in the trail's home region."""
from __future__ import annotations

from typing import Callable, Iterator

from checks.trails import Trail, own_trails_in_region

from scanner.errors import MalformedResponse
from checks.sensitive_data.detector import redact_identifier
from scanner.findings import judge_apart
from scanner.model import Finding, Status


def judge_own_trails(ctx, judge: Callable[[Trail], tuple[bool, str, dict]]) -> Iterator[Finding]:
    """PASS or FAIL per trail this account owns in the target region; ERROR for a malformed trail entry."""
    for position, trail in enumerate(own_trails_in_region(ctx.aws, ctx.region, ctx.account_id)):
        if isinstance(trail, MalformedResponse):
            yield Finding(
                Status.ERROR,
                resource_id=f"trailList[{position}]",
                message=f"unreadable trail in the DescribeTrails answer: {trail}",
                region=ctx.region,
            )
            continue
        arn = redact_identifier(trail.arn)

        def verdict(trail: Trail = trail, arn: str = arn) -> Finding:
            passed, message, evidence = judge(trail)
            return Finding(
                Status.PASS if passed else Status.FAIL,
                resource_id=arn,
                resource_arn=arn,
                region=trail.home_region,
                message=message,
                evidence={"trail_arn": arn, "is_multi_region_trail": trail.multi_region,
                          "is_organization_trail": trail.organization_trail, **evidence},
            )

        # A trail that cannot be judged is an ERROR for that trail; the next one is still judged.
        yield from judge_apart(arn, verdict, resource_arn=arn, region=trail.home_region, redact_text=redact_identifier)
