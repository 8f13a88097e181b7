"""Credentials never reach a log line, whatever botocore or a plugin logs."""
import logging

from scanner.logsetup import configure_logging, redact


def test_redacts_credential_shapes():
    line = (
        "headers={'X-Amz-Security-Token': b'IQoJb3JpZ2luX2VjEXAMPLETOKEN', 'Authorization': b'AWS4-HMAC-SHA256 "
        "Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/sts/aws4_request, Signature=abc'} "
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY SessionToken: FwoGZXIvYXdzEXAMPLE ASIAIOSFODNN7EXAMPLE"
    )
    cleaned = redact(line)
    for secret in ("IQoJb3JpZ2luX2VjEXAMPLETOKEN", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                   "FwoGZXIvYXdzEXAMPLE", "ASIAIOSFODNN7EXAMPLE"):
        assert secret not in cleaned


def test_sdk_never_logs_bodies_even_at_debug(capfd):
    configure_logging("debug")
    assert logging.getLogger("botocore").getEffectiveLevel() == logging.INFO
    logging.getLogger("orgscan.test").debug("token=%s", "supersecretvalue123")
    assert "supersecretvalue123" not in capfd.readouterr().err
    configure_logging("warning")
