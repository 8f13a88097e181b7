"""Response parsing never crashes: any answer either parses or raises MalformedResponse naming the field.

The simulator only answers in the documented shapes, so these tests hand the
parsers arbitrary JSON through a stand-in for the AWS reader (the parsers are
what is under test here, not AWS).
"""
from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings, strategies as st

from checks.devopsguru.gather import devops_guru_endpoints, devops_guru_usage, encryption_setting, parse_key_ref
from checks.kms.gather import parse_key_metadata
from scanner.errors import MalformedResponse

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(
        st.sampled_from(
            ["ServiceIntegration", "KMSServerSideEncryption", "OptInStatus", "Type", "KMSKeyId", "ResourceCollection", "CloudFormation",
             "StackNames", "Tags", "AppBoundaryKey", "TagValues", "KeyMetadata", "Arn", "KeyId", "KeyState", "KeyManager", "KeySpec",
             "MultiRegion", "MultiRegionConfiguration", "MultiRegionKeyType", "VpcEndpointId", "VpcId", "ServiceName"]
        ),
        children,
        max_size=5,
    ),
    max_leaves=20,
)


class AnsweringReader:
    """Answers every call with the same given response."""

    def __init__(self, response):
        self.response = response

    def call(self, service, operation, **params):
        return self.response

    def pages(self, service, operation, **params):
        return [self.response]

    def collect(self, service, operation, result_key, **params):
        return [item for page in self.pages(service, operation) for item in (page.get(result_key, []) if isinstance(page, dict) else [])]


def _ctx(response):
    return SimpleNamespace(aws=AnsweringReader(response), region="us-east-1", account_id="222222222222", partition="aws")


def _parses_or_names_the_problem(function, *args):
    try:
        function(*args)
    except MalformedResponse as error:
        assert str(error) and "\n" not in str(error)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_service_integration_and_usage_parse_or_raise_malformed(response):
    _parses_or_names_the_problem(encryption_setting, _ctx(response))
    _parses_or_names_the_problem(devops_guru_usage, _ctx(response))


@settings(max_examples=300, deadline=None)
@given(_json)
def test_key_metadata_parses_or_raises_malformed(response):
    _parses_or_names_the_problem(parse_key_metadata, response, "alias/x")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.just("VpcEndpoints"), st.lists(_json, max_size=3)))
def test_endpoints_parse_or_raise_malformed(page):
    ctx = _ctx(page)
    _parses_or_names_the_problem(devops_guru_endpoints, ctx)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_key_references_parse_or_raise_malformed(text):
    _parses_or_names_the_problem(parse_key_ref, text, _ctx({}))
