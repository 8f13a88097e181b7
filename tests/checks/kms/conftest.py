"""Fixtures of the KMS key-policy check tests (scenario builders live in kms_scenarios.py)."""
import pytest

from kms_scenarios import make_judge


@pytest.fixture
def judge(make_org):
    """``judge(check, keys, faults=None) -> {resource_id: Finding}`` for the member account's region."""
    return make_judge(make_org)
