"""tags_no_sensitive_data over an account with tens of thousands of tagged resources: streamed, bounded memory.

The simulator would take minutes to hold 30,000 resources, so this test feeds
the check pages the way ``AwsReader.stream`` yields them (generated lazily, as
botocore's paginator does) and measures the check itself.
"""
from __future__ import annotations

import inspect
import time
import tracemalloc
from typing import Any, Iterator

from checks.sensitive_data.tags_no_sensitive_data import tags_no_sensitive_data
from scanner.aws import AwsReader
from scanner.context import Account, CheckContext
from scanner.model import Status

RESOURCES = 20_000
PAGE = 100
ACCOUNT = "123456789012"


class PagedAccount:
    """Answers the tag sources' calls with generated pages; nothing is materialised up front."""

    region = "us-west-2"

    def stream(self, service: str, operation: str, **params: Any) -> Iterator[dict]:
        if operation == "get_resources":
            for start in range(0, RESOURCES, PAGE):
                yield {"ResourceTagMappingList": [self._mapping(i) for i in range(start, min(start + PAGE, RESOURCES))]}
        # every other source is empty in this account

    def call(self, service: str, operation: str, **params: Any) -> dict:
        return {"trailList": []}

    def collect(self, service: str, operation: str, result_key: str, **params: Any) -> list:
        return []

    @staticmethod
    def _mapping(i: int) -> dict:
        tags = [{"Key": "Name", "Value": f"web-{i:05d}"}, {"Key": "Environment", "Value": "prod"},
                {"Key": "CostCenter", "Value": f"CC-{i % 97}"}, {"Key": "Owner", "Value": "team-platform"}]
        if i % 10_000 == 7:
            tags.append({"Key": "Contact", "Value": f"person{i}@example.com"})
        return {"ResourceARN": f"arn:aws:ec2:us-west-2:{ACCOUNT}:instance/i-{i:017x}", "Tags": tags}


def test_twenty_thousand_resources_stream_in_bounded_memory():
    context = CheckContext(account=Account(ACCOUNT), region="us-west-2", api_region="us-west-2", aws=PagedAccount())  # type: ignore[arg-type]
    tracemalloc.start()
    started = time.perf_counter()
    findings = list(tags_no_sensitive_data(context))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [f.status for f in findings] == [Status.FAIL] * (RESOURCES // 10_000)
    assert all(f.evidence["tags"][0]["kind"] == "email_address" for f in findings)
    # Only the ids already judged are kept (for de-duplication), never the tags.
    assert peak < 25 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    # No bound on the time: tests are not benchmarks (bench/ measures speed); a loaded machine must not fail this.
    print(f"{RESOURCES} resources: {elapsed:.1f} s, peak {peak / 1e6:.1f} MB")


def test_the_paged_double_has_the_real_readers_methods_and_positional_parameters():
    # The double stands in for AwsReader: the methods the check calls must exist there with the same
    # positional parameters, or the check could pass here and fail on a real reader.
    for name in ("stream", "call", "collect"):
        real = [p.name for p in inspect.signature(getattr(AwsReader, name)).parameters.values()
                if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        double = [p.name for p in inspect.signature(getattr(PagedAccount, name)).parameters.values()
                  if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        assert double == real, name
