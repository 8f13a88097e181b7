"""Fixtures of the DevOps Guru check tests (scenario builders live in devopsguru_scenarios.py)."""
import pytest

from devopsguru_scenarios import make_judge


@pytest.fixture
def judge(make_org):
    """``judge(check, member, other=None, account=MEMBER, region=REGION, options=None, faults=None, prepare=None) -> [Finding]``."""
    return make_judge(make_org)
