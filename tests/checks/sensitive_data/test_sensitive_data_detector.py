"""The detector behind the sensitive-data checks: validators, masking, allowlists, and its measured quality.

The labelled corpus (``tag_corpus.jsonl``, one tag per line with ``sensitive``
and the expected ``kind``) is the published benchmark: precision and recall are
computed here and quoted in docs/checks/cloudtrail-and-sensitive-data.md.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.sensitive_data import patterns
from checks.sensitive_data.detector import (
    SensitiveDataDetector,
    detector_from_options,
    is_credential_name,
    mask,
    redact_identifier,
)

CORPUS = [json.loads(line) for line in (Path(__file__).parent / "tag_corpus.jsonl").read_text().splitlines() if line]


def _confusion(detector: SensitiveDataDetector) -> dict[str, int]:
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for row in CORPUS:
        predicted = bool(detector.scan_tag(row["key"], row["value"]))
        counts[("t" if predicted == row["sensitive"] else "f") + ("p" if predicted else "n")] += 1
    return counts


def test_corpus_is_large_enough_and_balanced():
    sensitive = sum(row["sensitive"] for row in CORPUS)
    assert len(CORPUS) >= 200
    assert 0.4 <= sensitive / len(CORPUS) <= 0.6
    kinds = {row["kind"] for row in CORPUS if row["sensitive"]}
    # every kind the issue names is represented
    assert {"aws_access_key_id", "aws_secret_access_key", "private_key", "credential_named_field", "url_credentials",
            "github_token", "slack_token", "stripe_secret_key", "jwt", "email_address", "phone_number",
            "payment_card_number", "us_ssn", "iban"} <= kinds


def test_precision_and_recall_on_the_labelled_corpus():
    counts = _confusion(SensitiveDataDetector())
    precision = counts["tp"] / (counts["tp"] + counts["fp"])
    recall = counts["tp"] / (counts["tp"] + counts["fn"])
    print(f"corpus={len(CORPUS)} {counts} precision={precision:.3f} recall={recall:.3f}")
    assert precision >= 0.97
    assert recall >= 0.95


def test_detected_kind_matches_the_label():
    detector = SensitiveDataDetector()
    wrong = []
    for row in CORPUS:
        if row["sensitive"]:
            kinds = {d.kind for d in detector.scan_tag(row["key"], row["value"])}
            if kinds and row["kind"] not in kinds:
                wrong.append((row["key"], row["kind"], sorted(kinds)))
    assert len(wrong) <= 3, wrong


def test_no_preview_reveals_a_sensitive_value():
    detector = SensitiveDataDetector()
    for row in CORPUS:
        for detection in detector.scan_tag(row["key"], row["value"]):
            shown = detection.preview.replace("****", "")
            assert len(shown) <= 6
            if row["sensitive"]:
                assert row["value"] not in detection.preview


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::123456789012:role/deploy", "123456789012", "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "10.0.0.0/16", "2024-03-15", "2024-03-15T10:22:00+01:00", "1.2.3", "v10.0.19045", "prod-web-01",
        "ami-0abcdef1234567890", "i-0123456789abcdef0", "vpc-0123abcd4567ef890", "payments", "the quick brown fox",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "ip-10-0-1-23.ec2.internal", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db/password-AbCdEf",
        "https://grafana.example.com/d/abc?orgId=1&refresh=30s", "1700000000123", "AIDAABCDEFGHIJKLMNOP",
    ],
)
def test_identifiers_and_ordinary_words_do_not_trigger(value):
    assert SensitiveDataDetector().scan_tag("Name", value) == []


@pytest.mark.parametrize(
    "key,value,kind",
    [
        ("Owner", "jane.doe@example.com", "email_address"),
        ("Card", "4111 1111 1111 1111", "payment_card_number"),
        ("Notes", "SSN 123-45-6789", "us_ssn"),
        ("Bank", "DE89 3704 0044 0532 0130 00", "iban"),
        ("OnCall", "+44 20 7946 0958", "phone_number"),
        ("k", "AKIAIOSFODNN7EXAMPLE", "aws_access_key_id"),
        ("k", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key"),
        ("DB_PASSWORD", "hunter22", "credential_named_field"),
        ("url", "postgres://app:pw123456@db.example.com/app", "url_credentials"),
    ],
)
def test_each_kind_is_found(key, value, kind):
    assert kind in {d.kind for d in SensitiveDataDetector().scan_tag(key, value)}


def test_validators_reject_near_misses():
    assert patterns.luhn_valid("4111111111111111")
    assert not patterns.luhn_valid("4111111111111112")
    assert patterns.iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not patterns.iban_valid("GB82WEST12345698765433")  # mod-97 fails
    assert not patterns.iban_valid("GB82WEST1234569876543")  # wrong length for GB
    assert not patterns.ssn_valid("666", "12", "3456")
    assert not patterns.ssn_valid("900", "12", "3456")
    assert not patterns.ssn_valid("123", "00", "3456")
    assert SensitiveDataDetector().scan_tag("Count", "4111111111111112") == []


def test_credential_names():
    for name in ("DB_PASSWORD", "db-password", "ApiKey", "api_key", "GITHUB_TOKEN", "client_secret", "TokenValue"):
        assert is_credential_name(name), name
    for name in ("SecretArn", "TokenExpiry", "PasswordPolicy", "secret_name", "PasswordLastChanged", "Owner"):
        assert not is_credential_name(name), name
    detector = SensitiveDataDetector()
    for placeholder in ("", "none", "***", "${DB_PASSWORD}", "{{resolve:ssm:/x}}", "/prod/db/password", "90d"):
        assert detector.scan_tag("db_password", placeholder) == [], placeholder


def test_allowlist_and_ignored_kinds():
    detector = detector_from_options(
        {"allow_value_patterns": [r".*@example\.com"], "ignore_kinds": ["phone_number"]}, "tags_no_sensitive_data"
    )
    assert detector.scan_tag("Owner", "team@example.com") == []
    assert detector.scan_tag("Phone", "+1 415 555 2671") == []
    assert [d.kind for d in detector.scan_tag("Owner", "jane@corp.io")] == ["email_address"]


@pytest.mark.parametrize(
    "options,message",
    [
        ({"allow_value_pattern": []}, "unknown option(s) ['allow_value_pattern']"),
        ({"allow_value_patterns": "x"}, "allow_value_patterns must be a list of strings"),
        ({"allow_value_patterns": ["("]}, "is not a regular expression"),
        ({"ignore_kinds": ["emails"]}, "unknown kind(s) ['emails']"),
    ],
)
def test_bad_options_name_the_check_and_the_option(options, message):
    with pytest.raises(ValueError) as error:
        detector_from_options(options, "tags_no_sensitive_data")
    assert message in str(error.value)
    assert "[checks.tags_no_sensitive_data]" in str(error.value)


def test_redacted_identifier_keeps_structure_and_hides_the_value():
    arn = "arn:aws:iam::123456789012:user/jane.doe@example.com"
    redacted = redact_identifier(arn)
    assert redacted.startswith("arn:aws:iam::123456789012:user/")
    assert "jane.doe@example.com" not in redacted
    assert redact_identifier("arn:aws:iam::123456789012:role/deploy") == "arn:aws:iam::123456789012:role/deploy"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=80))
def test_mask_never_shows_more_than_three_characters_of_each_end(value):
    preview = mask(value)
    assert preview.count("****") == 1
    shown = preview.replace("****", "", 1)
    assert len(shown) <= min(6, len(value) // 4 + 1) or len(value) < 8 and shown == ""


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120), st.text(max_size=40))
def test_detector_never_raises_and_previews_stay_masked(value, key):
    for detection in SensitiveDataDetector().scan_tag(key, value):
        assert detection.kind in patterns.KIND_DESCRIPTIONS
        assert len(detection.preview.replace("****", "")) <= 6
