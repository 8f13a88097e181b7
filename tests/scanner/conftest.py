"""Fixtures shared by the host's tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def unreachable_aws(monkeypatch):
    """No AWS endpoint answers: a command that makes any AWS call fails with a connection error, never a usage
    error, so a usage error proves it was decided before any AWS call."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
