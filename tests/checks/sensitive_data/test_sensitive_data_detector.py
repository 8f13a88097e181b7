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

from checks.sensitive_data import patterns, vendor_tokens
from checks.sensitive_data.detector import (
    SensitiveDataDetector,
    detector_from_options,
    is_credential_name,
    mask,
    redact_identifier,
)
from checks.sensitive_data.names_no_sensitive_data import names_no_sensitive_data
from checks.sensitive_data.tags_no_sensitive_data import tags_no_sensitive_data
from scanner.errors import UsageError
from scanner.options import validate_check_options

CORPUS = [json.loads(line) for line in (Path(__file__).parent / "tag_corpus.jsonl").read_text().splitlines() if line]
HELD_OUT = [row for row in CORPUS if row["split"] == "held_out"]
TUNING = [row for row in CORPUS if row["split"] == "tuning"]
#: The targets issue 13 sets for the half the detector was not tuned on.
TARGET_PRECISION, TARGET_RECALL = 0.98, 0.97
#: Kinds that are all "a credential recognised by where it sits" rather than by its format.
CREDENTIAL_CONTEXT_KINDS = {"credential_named_field", "credential_assignment"}


def _confusion(detector: SensitiveDataDetector, rows: list[dict]) -> dict[str, int]:
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for row in rows:
        predicted = bool(detector.scan_tag(row["key"], row["value"]))
        counts[("t" if predicted == row["sensitive"] else "f") + ("p" if predicted else "n")] += 1
    return counts


def _precision_recall(counts: dict[str, int]) -> tuple[float, float]:
    return counts["tp"] / (counts["tp"] + counts["fp"]), counts["tp"] / (counts["tp"] + counts["fn"])


def test_corpus_is_large_labelled_sourced_and_split_before_tuning():
    from build_corpus import split_of

    assert len(CORPUS) >= 500
    assert {"key", "value", "sensitive", "kind", "source", "split"} <= set().union(*CORPUS)
    assert all(isinstance(row["sensitive"], bool) and row["source"] for row in CORPUS)
    # the split is a function of the row alone (a hash), not of anything the detector did
    assert all(row["split"] == split_of(row["key"], row["value"]) for row in CORPUS)
    for half in (TUNING, HELD_OUT):
        assert len(half) >= 200
        assert 0.35 <= sum(row["sensitive"] for row in half) / len(half) <= 0.75
    kinds = {row["kind"] for row in CORPUS if row["sensitive"]}
    assert {"aws_access_key_id", "aws_secret_access_key", "private_key", "credential_named_field", "credential_assignment",
            "url_credentials", "github_token", "slack_token", "stripe_secret_key", "jwt", "email_address", "phone_number",
            "payment_card_number", "us_ssn", "iban", "twilio_api_key", "docker_hub_token", "person_name"} <= kinds
    # vendor formats cite the vendor's documentation; phone numbers come from libphonenumber's examples
    vendor_rows = [row for row in CORPUS if row["kind"] in vendor_tokens.VENDOR_KINDS and row["source"] != build_corpus_v1()]
    assert vendor_rows and all(row["source"].startswith("https://") for row in vendor_rows)
    regions = {row["source"].split("'")[1] for row in CORPUS if row["source"].startswith("phonenumbers.example_number")}
    assert len(regions) >= 40
    negatives = {row["key"] for row in CORPUS if not row["sensitive"]}
    assert {"OrderNumber", "Ticket", "PartNumber", "CostCentre", "Version", "Checksum"} <= negatives


def build_corpus_v1() -> str:
    from build_corpus import V1_SOURCE

    return V1_SOURCE


def test_held_out_precision_and_recall_meet_the_targets():
    tuning = _precision_recall(_confusion(SensitiveDataDetector(), TUNING))
    counts = _confusion(SensitiveDataDetector(), HELD_OUT)
    precision, recall = _precision_recall(counts)
    print(f"tuning: precision={tuning[0]:.3f} recall={tuning[1]:.3f}; held out ({len(HELD_OUT)}): {counts} "
          f"precision={precision:.3f} recall={recall:.3f}")
    assert precision >= TARGET_PRECISION
    assert recall >= TARGET_RECALL


def test_detected_kind_matches_the_label():
    detector = SensitiveDataDetector()
    wrong = []
    for row in CORPUS:
        if row["sensitive"]:
            kinds = {d.kind for d in detector.scan_tag(row["key"], row["value"])}
            expected = CREDENTIAL_CONTEXT_KINDS if row["kind"] in CREDENTIAL_CONTEXT_KINDS else {row["kind"]}
            if kinds and not kinds & expected:
                wrong.append((row["key"], row["kind"], sorted(kinds)))
    assert len(wrong) <= len(CORPUS) // 100, wrong


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
        ("AwsSecretKey", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key"),
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
        tags_no_sensitive_data.metadata, {"allow-value-patterns": [r".*@example\.com"], "ignore_kinds": ["phone_number"]}
    )
    assert detector.scan_tag("Owner", "team@example.com") == []
    assert detector.scan_tag("Phone", "+1 415 555 2671") == []
    assert [d.kind for d in detector.scan_tag("Owner", "jane@corp.io")] == ["email_address"]


@pytest.mark.parametrize(
    "options,message",
    [
        ({"allow_value_pattern": []}, "allow_value_pattern: unknown option; did you mean 'allow_value_patterns'?"),
        ({"allow_value_patterns": "x"}, "allow_value_patterns: expected a list of regular expressions"),
        ({"allow_value_patterns": ["("]}, "allow_value_patterns[0]: expected a regular expression"),
        ({"ignore_kinds": ["email_address", "emails"]}, "ignore_kinds[1]: expected one of "),
    ],
)
def test_bad_options_name_the_check_and_the_option(options, message):
    # Refused when the scan is planned, against the schemas the sensitive-data checks declare.
    with pytest.raises(UsageError) as error:
        validate_check_options({"tags_no_sensitive_data": tags_no_sensitive_data}, {"tags_no_sensitive_data": options}, "orgscan.toml")
    assert str(error.value).startswith(f"orgscan.toml [checks.tags_no_sensitive_data] {message}")


def test_every_kind_the_detector_knows_can_be_ignored():
    # The schema's list of kinds is the detector's own: a new kind is accepted in ignore_kinds at once.
    validate_check_options({"names_no_sensitive_data": names_no_sensitive_data},
                           {"names_no_sensitive_data": {"ignore_kinds": sorted(patterns.KIND_DESCRIPTIONS)}})


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


# -- issue 13's detector items, both directions -----------------------------------------------------------------
# Expected verdicts follow the documentation each row cites: the AWS CLI's documented credential forms
# (https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html,
#  https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html), the vendors' token-format pages
# (cited per row in tag_corpus.jsonl), and AWS's guidance never to put confidential data in tags or names
# (https://docs.aws.amazon.com/whitepapers/latest/tagging-best-practices/other-considerations.html).
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # the AWS documentation's example secret key


def _kinds(key: str, value: str) -> set[str]:
    return {d.kind for d in SensitiveDataDetector().scan_tag(key, value)}


@pytest.mark.parametrize(
    "key,value,kind",
    [
        ("Notes", f"aws_secret_access_key={SECRET_KEY}", "aws_secret_access_key"),
        ("Notes", f"aws_secret_access_key = {SECRET_KEY}", "aws_secret_access_key"),
        ("env", f"export AWS_SECRET_ACCESS_KEY=\"{SECRET_KEY}\"", "aws_secret_access_key"),
        ("env", "DB_PASSWORD=Tr0ub4dor3", "credential_assignment"),
        ("env", "export X_TOKEN=abcd1234efgh", "credential_assignment"),
        ("env", "MYSQL_ROOT_PASSWORD='s3cr3tValue'", "credential_assignment"),
        ("Notes", "db password: Zq8#kLm2", "credential_assignment"),
        ("config", "key=AKIAIOSFODNN7EXAMPLE", "aws_access_key_id"),
        ("Name", "deploy_AKIAIOSFODNN7EXAMPLE", "aws_access_key_id"),
        ("env", "export PAGERDUTY_TOKEN=y_NbAkKc66ryYTWUXYEu", "credential_assignment"),
    ],
)
def test_environment_variable_and_credentials_file_forms_are_found(key, value, kind):
    assert kind in _kinds(key, value)


@pytest.mark.parametrize(
    "key,value",
    [
        ("env", "DB_PASSWORD=${DB_PASSWORD}"), ("env", "export X_TOKEN=$VAULT_TOKEN"), ("env", "API_TOKEN=<redacted>"),
        ("env", "DB_HOST=db.internal PORT=5432"), ("Notes", "export PATH=/usr/local/bin"), ("env", "LOG_LEVEL=debug"),
        ("Notes", "password_policy=strict"), ("env", "DB_PASSWORD=arn:aws:secretsmanager:us-east-1:123456789012:secret:db"),
    ],
)
def test_assignments_that_hold_no_credential_are_not_reported(key, value):
    assert _kinds(key, value) == set()


@pytest.mark.parametrize(
    "value,kind",
    [
        ("SK" + "0123456789abcdef" * 2, "twilio_api_key"),                       # https://www.twilio.com/docs/iam/api-keys
        ("dckr_pat_" + "Ab3dE_fGh1-jKl2mN3oPq4rSt5u", "docker_hub_token"),       # https://docs.docker.com/security/for-developers/access-tokens/
        ("xoxb-" + "1234567890-1234567890-" + "AbCdEfGhIjKlMnOpQrStUvWx", "slack_token"),  # https://api.slack.com/authentication/token-types
        ("ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "github_token"),
        ("github_pat_" + "A" * 11 + "b" * 11 + "_" + "c1" * 29 + "d", "github_token"),
        ("glpat-" + "x1Y2z3W4v5U6t7S8r9Q0", "gitlab_token"),
        ("hvs." + "CAESIJ" + "a1b2C3d4" * 4, "vault_token"),                      # Vault token prefixes
        ("shpat_" + "0123456789abcdef" * 2, "shopify_token"),
        ("hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh", "huggingface_token"),
        ("NRAK-" + "A1B2C3D4E5F6G7H8I9J0K1L2M3N", "new_relic_key"),
        ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "stripe_secret_key"),
    ],
)
def test_vendor_token_formats_are_found(value, kind):
    assert kind in _kinds("Notes", value)
    assert kind in _kinds("env", f"TOKEN_FOR_CI={value}")


@pytest.mark.parametrize(
    "key,value",
    [
        ("PAGERDUTY_TOKEN", "y_NbAkKc66ryYTWUXYEu"),    # PagerDuty REST API keys: 20 characters, no prefix
        ("PagerDutyKey", "y_NbAkKc66ryYTWUXYEu"),
        ("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef"),
    ],
)
def test_prefixless_vendor_keys_are_found_by_their_key(key, value):
    assert "credential_named_field" in _kinds(key, value)


def test_an_auth_key_holds_a_credential_unless_it_names_a_scheme():
    assert _kinds("REDIS_AUTH", "x9Lq2mZ8r") == {"credential_named_field"}
    for scheme in ("oauth2", "sigv4", "basic", "none"):
        assert _kinds("Auth", scheme) == set(), scheme


def test_vendor_rules_do_not_fire_inside_longer_identifiers():
    # an ARN whose account id and a long topic name look like a Telegram token's "digits:35 characters"
    arn = "arn:aws:sns:us-east-1:123456789012:payments-settlement-alerts-production-eu"
    assert _kinds("Target", arn) == set()
    assert _kinds("Checksum", "0123456789abcdef0123456789abcdef") == set()  # 32 hex, no SK/AC prefix
    assert _kinds("Notes", "sk-learn-pipeline-config") == set()


@pytest.mark.parametrize(
    "key,value",
    [("Owner", "Jane Doe"), ("Contact", "Doe, Jane"), ("TechnicalContact", "Dr. Emily Carter"),
     ("CreatedBy", "Aoife O'Brien"), ("owner", "Lukas Müller")],
)
def test_a_persons_name_under_an_owner_or_contact_key_is_found(key, value):
    assert _kinds(key, value) == {"person_name"}


@pytest.mark.parametrize(
    "key,value",
    [("Owner", "Platform Team"), ("Owner", "Data Engineering"), ("Contact", "platform-team"), ("Owner", "SRE"),
     ("Project", "Jane Doe"), ("Name", "Blue Harbor"), ("Owner", "cloud-platform")],
)
def test_team_names_and_names_under_other_keys_are_not_people(key, value):
    # a name is personal data by where it is written: only an owner/contact key says a value names a person
    assert "person_name" not in _kinds(key, value)


@pytest.mark.parametrize(
    "key,value",
    [("Owner", "4155552671"), ("OnCall", "090-1234-5678"), ("Contact", "07400 123456"), ("mobile", "+447400123456"),
     ("Notes", "call (212) 555-0147 after 6pm"), ("Notes", "escalate to +49 30 123456")],
)
def test_phone_numbers_valid_by_libphonenumber_are_found(key, value):
    assert "phone_number" in _kinds(key, value)


@pytest.mark.parametrize(
    "key,value",
    [("OrderNumber", "415-555-2671"), ("Ticket", "INC 415 555 2671"), ("PartNumber", "0800 123 456"),
     ("CostCentre", "(212) 555-0147"), ("Notes", "order 415-555-2671 shipped"), ("Notes", "PO#4155552671"),
     ("Notes", "4155552671"), ("Owner", "team 42"), ("Phone", "1111111"), ("Notes", "+1 555 000 0000")],
)
def test_reference_numbers_and_invalid_numbers_are_not_phones(key, value):
    assert "phone_number" not in _kinds(key, value)


def test_a_40_character_base64_string_needs_context_to_be_an_aws_secret_key():
    assert _kinds("Checksum", SECRET_KEY) == set()
    assert _kinds("Notes", f"object {SECRET_KEY}") == set()
    assert "aws_secret_access_key" in _kinds("AwsSecretKey", SECRET_KEY)
    assert "aws_secret_access_key" in _kinds("Notes", f"AKIAIOSFODNN7EXAMPLE {SECRET_KEY}")
    assert "aws_secret_access_key" in _kinds("Notes", f"aws secret {SECRET_KEY}")


@pytest.mark.parametrize("value", ["aws-sso-readonly", "rotated-2024-01", "ci-pipeline-42", "managed-by-terraform",
                                   "stored in secrets manager", "see vault path prod/db", "break-glass-only"])
def test_descriptive_labels_under_credential_keys_are_not_credentials(value):
    for key in ("Token", "ApiKey", "db_password", "ClientSecret"):
        assert _kinds(key, value) == set(), (key, value)
        assert _kinds("env", f"{key.upper()}={value}") == set(), (key, value)


@pytest.mark.parametrize("value", ["Summer-2024", "blue-elephant-42", "correct horse battery staple", "Tr0ub4dor&3", "hunter22"])
def test_passwords_and_passphrases_under_credential_keys_are_still_credentials(value):
    assert _kinds("db_password", value) == {"credential_named_field"}


@pytest.mark.parametrize(
    "identifier,hidden",
    [
        ("u-4111111111111111", "4111111111111111"), ("trail-4111111111111111", "4111111111111111"),
        ("backup_5555555555554444", "5555555555554444"), ("svc.4242424242424242", "4242424242424242"),
        ("4111111111111111-prod", "4111111111111111"), ("ssn-078051120", "078051120"),
        ("arn:aws:cloudtrail:us-east-1:123456789012:trail/trail-4111111111111111", "4111111111111111"),
        ("arn:aws:iam::123456789012:user/emp_ssn_219099999", "219099999"),
    ],
)
def test_card_numbers_and_ssns_inside_identifiers_are_masked(identifier, hidden):
    redacted = redact_identifier(identifier)
    assert hidden not in redacted
    assert "****" in redacted
    kinds = _kinds("Name", identifier)
    assert kinds & {"payment_card_number", "us_ssn"}


@pytest.mark.parametrize(
    "identifier",
    ["i-0123456789abcdef0", "arn:aws:iam::123456789012:role/deploy", "log-1700000000123", "v10.4111111111111111",
     "build-4111111111111112", "snap-0a1b2c3d4e5f67890", "10.0.4111111111111111", "release-2024.03.15", "order-078051120"],
)
def test_identifiers_without_card_numbers_or_ssns_are_unchanged(identifier):
    assert redact_identifier(identifier) == identifier
