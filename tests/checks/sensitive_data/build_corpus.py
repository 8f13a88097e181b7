"""Rebuild ``tag_corpus.jsonl``: the labelled tag corpus the detector is measured on.

    python tests/checks/sensitive_data/build_corpus.py

Deterministic (fixed seed): running it again writes the same file. Each row is
``{"key", "value", "sensitive", "kind", "source", "split"}``:

* ``sensitive`` is the label and ``kind`` the expected kind (``benign`` for negatives);
* ``source`` says where the value's shape comes from: the vendor's documentation URL for
  a token format, ``phonenumbers.example_number(<region>)`` for a phone number, or
  ``orgscan corpus v1`` for the 273 hand-written rows of the first corpus;
* ``split`` is ``tuning`` or ``held_out``, fixed by a SHA-256 of key and value, so it was
  decided before any tuning and does not move when rows are added.

Token bodies are random characters of the documented alphabet and length: none of
them is a real credential.
"""
from __future__ import annotations

import hashlib
import json
import random
import string
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "tag_corpus.jsonl"
V1_SOURCE = "orgscan corpus v1 (hand-written)"

rng = random.Random(20261130)
ALNUM = string.ascii_letters + string.digits
LOWER_HEX = "0123456789abcdef"
BASE64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"
UPPER_ALNUM = string.ascii_uppercase + string.digits


def body(alphabet: str, length: int) -> str:
    """Random characters until the body has upper case, lower case and a digit where the alphabet allows."""
    while True:
        text = "".join(rng.choice(alphabet) for _ in range(length))
        wanted = [set(string.ascii_uppercase), set(string.ascii_lowercase), set(string.digits)]
        if all(not (group & set(alphabet)) or group & set(text) for group in wanted):
            return text


def split_of(key: str, value: str) -> str:
    """``tuning`` or ``held_out``: a stable hash of the row, independent of order and of the detector."""
    digest = hashlib.sha256(f"{key}\0{value}".encode("utf-8", "surrogatepass")).digest()
    return "tuning" if digest[0] % 2 == 0 else "held_out"


DOCS = {
    "github": "https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/about-authentication-to-github#githubs-token-formats",
    "gitlab": "https://docs.gitlab.com/ee/security/token_overview.html#token-prefixes",
    "slack": "https://api.slack.com/authentication/token-types",
    "slack_webhook": "https://api.slack.com/messaging/webhooks",
    "stripe": "https://docs.stripe.com/keys",
    "twilio": "https://www.twilio.com/docs/iam/api-keys",
    "twilio_sid": "https://www.twilio.com/docs/glossary/what-is-a-sid",
    "docker": "https://docs.docker.com/security/for-developers/access-tokens/",
    "pagerduty": "https://support.pagerduty.com/main/docs/api-access-keys",
    "sendgrid": "https://www.twilio.com/docs/sendgrid/ui/account-and-settings/api-keys",
    "npm": "https://docs.npmjs.com/about-access-tokens",
    "pypi": "https://pypi.org/help/#apitoken",
    "google": "https://cloud.google.com/docs/authentication/api-keys",
    "openai": "https://platform.openai.com/docs/api-reference/authentication",
    "anthropic": "https://docs.anthropic.com/en/api/overview",
    "mailchimp": "https://mailchimp.com/developer/marketing/guides/quick-start/",
    "telegram": "https://core.telegram.org/bots/api#authorizing-your-bot",
    "square": "https://developer.squareup.com/docs/build-basics/access-tokens",
    "shopify": "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens",
    "vault": "https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes",
    "huggingface": "https://huggingface.co/docs/hub/security-tokens",
    "newrelic": "https://docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/",
    "postman": "https://learning.postman.com/docs/developer/postman-api/authentication/",
    "digitalocean": "https://docs.digitalocean.com/reference/api/create-personal-access-token/",
    "grafana": "https://grafana.com/docs/grafana/latest/administration/service-accounts/",
    "databricks": "https://docs.databricks.com/en/dev-tools/auth/pat.html",
    "azure_storage": "https://learn.microsoft.com/en-us/azure/storage/common/storage-configure-connection-string",
    "doppler": "https://docs.doppler.com/reference/auth-token-formats",
    "aws_keys": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
    "aws_env": "https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html",
    "aws_files": "https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html",
    "card_test_numbers": "https://docs.stripe.com/testing#cards",
    "ssa_ssn": "https://www.ssa.gov/employer/randomization.html",
    "arn": "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html",
    "tagging": "https://docs.aws.amazon.com/whitepapers/latest/tagging-best-practices/other-considerations.html",
}


def aws_key_id() -> str:
    return rng.choice(["AKIA", "ASIA"]) + body("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)


def aws_secret() -> str:
    return body(BASE64, 40)


# -- vendor token formats: (kind, doc, generator) -------------------------------------------------------------
VENDOR_FORMATS = [
    ("github_token", "github", lambda: "ghp_" + body(ALNUM, 36)),
    ("github_token", "github", lambda: "gho_" + body(ALNUM, 36)),
    ("github_token", "github", lambda: "github_pat_" + body(ALNUM, 22) + "_" + body(ALNUM, 59)),
    ("gitlab_token", "gitlab", lambda: "glpat-" + body(URLSAFE, 20)),
    ("slack_token", "slack", lambda: f"xoxb-{rng.randint(10**10, 10**12)}-{rng.randint(10**10, 10**12)}-{body(ALNUM, 24)}"),
    ("slack_token", "slack", lambda: f"xoxp-{rng.randint(10**10, 10**12)}-{rng.randint(10**10, 10**12)}-{rng.randint(10**10, 10**12)}-{body(LOWER_HEX, 32)}"),
    ("slack_token", "slack_webhook", lambda: f"https://hooks.slack.com/services/T{body(UPPER_ALNUM, 8)}/B{body(UPPER_ALNUM, 8)}/{body(ALNUM, 24)}"),
    ("stripe_secret_key", "stripe", lambda: "sk_live_" + body(ALNUM, 24)),
    ("stripe_secret_key", "stripe", lambda: "rk_live_" + body(ALNUM, 24)),
    ("stripe_secret_key", "stripe", lambda: "sk_test_" + body(ALNUM, 24)),
    ("twilio_api_key", "twilio", lambda: "SK" + body(LOWER_HEX, 32)),
    ("twilio_api_key", "twilio_sid", lambda: "AC" + body(LOWER_HEX, 32) + ":" + body(LOWER_HEX, 32)),
    ("docker_hub_token", "docker", lambda: "dckr_pat_" + body(URLSAFE, 27)),
    ("sendgrid_api_key", "sendgrid", lambda: "SG." + body(URLSAFE, 22) + "." + body(URLSAFE, 43)),
    ("npm_token", "npm", lambda: "npm_" + body(ALNUM, 36)),
    ("pypi_token", "pypi", lambda: "pypi-AgEIcHlwaS5vcmc" + body(URLSAFE, 80)),
    ("google_api_key", "google", lambda: "AIza" + body(URLSAFE, 35)),
    ("openai_api_key", "openai", lambda: "sk-proj-" + body(URLSAFE, 48)),
    ("openai_api_key", "anthropic", lambda: "sk-ant-api03-" + body(URLSAFE, 93) + "AA"),
    ("mailchimp_api_key", "mailchimp", lambda: body(LOWER_HEX, 32) + f"-us{rng.randint(1, 21)}"),
    ("telegram_bot_token", "telegram", lambda: f"{rng.randint(10**8, 10**9)}:AA{body(URLSAFE, 33)}"),
    ("square_token", "square", lambda: "sq0csp-" + body(URLSAFE, 43)),
    ("shopify_token", "shopify", lambda: "shpat_" + body(LOWER_HEX, 32)),
    ("vault_token", "vault", lambda: "hvs." + body(URLSAFE, 90)),
    ("huggingface_token", "huggingface", lambda: "hf_" + body(string.ascii_letters, 34)),
    ("new_relic_key", "newrelic", lambda: "NRAK-" + body(UPPER_ALNUM, 27)),
    ("postman_api_key", "postman", lambda: "PMAK-" + body(LOWER_HEX, 24) + "-" + body(LOWER_HEX, 34)),
    ("digitalocean_token", "digitalocean", lambda: "dop_v1_" + body(LOWER_HEX, 64)),
    ("grafana_token", "grafana", lambda: "glsa_" + body(ALNUM, 32) + "_" + body(LOWER_HEX, 8)),
    ("databricks_token", "databricks", lambda: "dapi" + body(LOWER_HEX, 32)),
    ("azure_storage_key", "azure_storage", lambda: "DefaultEndpointsProtocol=https;AccountName=prodlogs;AccountKey=" + body(BASE64, 86) + "==;EndpointSuffix=core.windows.net"),
    ("doppler_token", "doppler", lambda: "dp.pt." + body(ALNUM, 43)),
]
NEUTRAL_KEYS = ["Notes", "Description", "config", "Comment", "deploy-notes", "Misc"]
VENDOR_ENV_NAMES = {
    "github_token": "GITHUB_TOKEN", "gitlab_token": "GITLAB_TOKEN", "slack_token": "SLACK_BOT_TOKEN",
    "stripe_secret_key": "STRIPE_SECRET_KEY", "twilio_api_key": "TWILIO_API_KEY", "docker_hub_token": "DOCKERHUB_TOKEN",
    "sendgrid_api_key": "SENDGRID_API_KEY", "npm_token": "NPM_TOKEN", "pypi_token": "TWINE_PASSWORD",
    "google_api_key": "GOOGLE_API_KEY", "openai_api_key": "OPENAI_API_KEY", "mailchimp_api_key": "MAILCHIMP_API_KEY",
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN", "square_token": "SQUARE_APP_SECRET", "shopify_token": "SHOPIFY_ACCESS_TOKEN",
    "vault_token": "VAULT_TOKEN", "huggingface_token": "HF_TOKEN", "new_relic_key": "NEW_RELIC_API_KEY",
    "postman_api_key": "POSTMAN_API_KEY", "digitalocean_token": "DIGITALOCEAN_TOKEN", "grafana_token": "GRAFANA_TOKEN",
    "databricks_token": "DATABRICKS_TOKEN", "azure_storage_key": "AZURE_STORAGE_CONNECTION_STRING", "doppler_token": "DOPPLER_TOKEN",
}


def vendor_rows() -> list[dict]:
    rows = []
    for kind, doc, make in VENDOR_FORMATS:
        source = DOCS[doc]
        rows.append(row(rng.choice(NEUTRAL_KEYS), make(), kind, source))  # bare, under a key that says nothing
        rows.append(row("env", f"{VENDOR_ENV_NAMES[kind]}={make()}", kind, source))  # environment-variable form
        rows.append(row("Notes", f"rotate before friday: {make()}", kind, source))  # inside free text
    # PagerDuty REST API keys are 20-character strings with no prefix: only the context tells
    for key, template, kind in (("PAGERDUTY_TOKEN", "{}", "credential_named_field"),
                                ("pagerduty_api_key", "{}", "credential_named_field"),
                                ("PagerDutyKey", "{}", "credential_named_field"),
                                ("env", "export PAGERDUTY_TOKEN={}", "credential_assignment"),
                                ("env", "PD_API_KEY={}", "credential_assignment"),
                                ("Notes", "pagerduty token={}", "credential_assignment")):
        rows.append(row(key, template.format(body(URLSAFE + "+", 20)), kind, DOCS["pagerduty"]))
    return rows


def env_rows() -> list[dict]:
    """Secrets written the way environment files, shell profiles and ~/.aws/credentials write them."""
    forms = [
        ("Notes", lambda: f"aws_secret_access_key={aws_secret()}", "aws_secret_access_key", "aws_files"),
        ("Notes", lambda: f"aws_secret_access_key = {aws_secret()}", "aws_secret_access_key", "aws_files"),
        ("env", lambda: f"AWS_SECRET_ACCESS_KEY={aws_secret()}", "aws_secret_access_key", "aws_env"),
        ("env", lambda: f"export AWS_SECRET_ACCESS_KEY=\"{aws_secret()}\"", "aws_secret_access_key", "aws_env"),
        ("config", lambda: f"key={aws_key_id()}", "aws_access_key_id", "aws_keys"),
        ("config", lambda: f"aws_access_key_id={aws_key_id()}", "aws_access_key_id", "aws_files"),
        ("Name", lambda: f"deploy_{aws_key_id()}", "aws_access_key_id", "aws_keys"),
        ("env", lambda: f"DB_PASSWORD={body(ALNUM + '!#%', 14)}", "credential", "aws_env"),
        ("env", lambda: f"MYSQL_ROOT_PASSWORD={body(ALNUM, 16)}", "credential", "aws_env"),
        ("env", lambda: f"export X_TOKEN={body(ALNUM, 24)}", "credential", "aws_env"),
        ("env", lambda: f"export API_TOKEN='{body(URLSAFE, 32)}'", "credential", "aws_env"),
        ("Notes", lambda: f"REDIS_AUTH={body(ALNUM, 20)} set on the cluster", "credential", "aws_env"),
        ("Notes", lambda: f"db password: {body(ALNUM + '@$', 12)}", "credential", "aws_env"),
        ("Notes", lambda: f"SMTP_PASS={body(ALNUM, 12)}", "credential", "aws_env"),
        ("env", lambda: f"CLIENT_SECRET={body(URLSAFE, 40)}", "credential", "aws_env"),
        ("config", lambda: f"app_secret: {body(ALNUM, 28)}", "credential", "aws_env"),
    ]
    rows = []
    for key, make, kind, doc in forms:
        for _ in range(3):
            rows.append(row(key, make(), kind, DOCS[doc]))
    return rows


PHONE_REGIONS = [
    "US", "CA", "GB", "IE", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "SE", "NO", "DK", "FI", "PL", "CZ", "PT",
    "GR", "RO", "HU", "TR", "IL", "AE", "SA", "EG", "ZA", "NG", "KE", "IN", "PK", "BD", "SG", "MY", "TH", "VN", "ID",
    "PH", "JP", "KR", "CN", "HK", "TW", "AU", "NZ", "BR", "AR", "CL", "CO", "MX", "PE", "UA", "RU", "MA",
]
PHONE_KEYS = ["Phone", "OnCall", "Contact", "Owner", "EscalationContact", "mobile", "pager"]


def phone_rows() -> list[dict]:
    rows = []
    for region in PHONE_REGIONS:
        fixed = phonenumbers.example_number(region)
        mobile = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
        source = f"phonenumbers.example_number({region!r})"
        mobile_source = f"phonenumbers.example_number_for_type({region!r}, MOBILE)"
        international = phonenumbers.format_number(fixed, PhoneNumberFormat.INTERNATIONAL)
        rows.append(row(rng.choice(["Notes", "Description", "Escalation"]), f"call {international} out of hours", "phone_number", source))
        if mobile is not None:
            rows.append(row(rng.choice(PHONE_KEYS), phonenumbers.format_number(mobile, PhoneNumberFormat.E164), "phone_number", mobile_source))
            rows.append(row(rng.choice(PHONE_KEYS), phonenumbers.format_number(mobile, PhoneNumberFormat.NATIONAL), "phone_number", mobile_source))
    return rows


NAMES = ["Jane Doe", "John Smith", "Priya Raman", "Lukas Müller", "María García", "Chen Wei", "Aoife O'Brien",
         "Olumide Adeyemi", "Sophie Martin", "Doe, Jane", "Anna-Lena Schmidt", "Tomás Novák", "Fatima Zahra El Idrissi",
         "Kenji Watanabe", "Dr. Emily Carter", "Lars Eriksson", "Giulia Rossi", "Mateo Fernández", "Ngozi Okafor",
         "Hannah Becker"]
OWNER_KEYS = ["Owner", "owner", "Contact", "TechnicalContact", "BusinessOwner", "CreatedBy", "PointOfContact", "Requester"]


def person_rows() -> list[dict]:
    return [row(rng.choice(OWNER_KEYS), name, "person_name", DOCS["tagging"]) for name in NAMES]


# Test card numbers that processors publish (they pass Luhn), and an SSN the SSA documents as voided (078-05-1120).
CARDS = ["4111111111111111", "5555555555554444", "4242424242424242", "378282246310005", "6011111111111117",
         "3530111333300000", "5105105105105100", "4012888888881881"]


def identifier_rows() -> list[dict]:
    rows = []
    templates = ["u-{}", "trail-{}", "backup_{}", "svc.{}", "{}-prod", "cust/{}"]
    for index, card in enumerate(CARDS):
        rows.append(row("Name", templates[index % len(templates)].format(card), "payment_card_number", DOCS["card_test_numbers"]))
        rows.append(row("CustomerRef", f"acct_{card}", "payment_card_number", DOCS["card_test_numbers"]))
    for value in ("ssn-078051120", "emp_ssn_219099999", "user-ssn-123456789"):
        rows.append(row("Name", value, "us_ssn", DOCS["ssa_ssn"]))
    return rows


# -- negatives -----------------------------------------------------------------------------------------------

def negative_rows() -> list[dict]:
    rows = []
    source = DOCS["tagging"]
    digits = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
    number_keys = ["OrderNumber", "PO", "Ticket", "PartNumber", "CostCentre", "CostCenter", "ChangeRequest", "InvoiceId", "WorkOrder", "SKU"]
    shapes = [
        lambda: f"{digits(3)}-{digits(3)}-{digits(4)}", lambda: f"{digits(3)} {digits(3)} {digits(4)}",
        lambda: f"({digits(3)}) {digits(3)}-{digits(4)}", lambda: f"0{digits(3)} {digits(6)}",
        lambda: f"ORD-{digits(4)}-{digits(6)}", lambda: f"{digits(10)}", lambda: f"CC-{digits(4)}-{digits(3)}",
        lambda: f"PN {digits(3)}-{digits(4)}-{digits(2)}", lambda: f"INC{digits(7)}", lambda: f"+{digits(2)} {digits(4)} {digits(4)}",
    ]
    for index in range(40):
        rows.append(row(number_keys[index % len(number_keys)], shapes[index % len(shapes)](), "benign", source))
    for text in (f"order {digits(3)}-{digits(3)}-{digits(4)} shipped", f"ticket {digits(3)} {digits(3)} {digits(4)}",
                 f"part no. 0{digits(3)} {digits(3)} {digits(3)}", f"cost centre {digits(4)} {digits(4)} {digits(2)}",
                 f"PO#{digits(10)}", f"batch {digits(4)}-{digits(4)}-{digits(4)}"):
        rows.append(row("Notes", text, "benign", source))
    versions = ["1.24.3", "v2.3.4-rc.1", "20.04.6", "release-2024.03.15", "3.11.7", "v10.0.22631.3296", "5.15.0-1051-aws",
                "2.0.0+build.1848", "12.4.1", "0.18.0a3"]
    rows += [row(rng.choice(["Version", "AppVersion", "Release", "ImageTag"]), v, "benign", source) for v in versions]
    for _ in range(10):
        account = digits(12)
        arn = rng.choice([
            f"arn:aws:iam::{account}:role/deploy-{digits(3)}", f"arn:aws:kms:eu-west-1:{account}:key/{uuid()}",
            f"arn:aws:secretsmanager:us-east-1:{account}:secret:prod/api/token-{body(ALNUM, 6)}",
            f"arn:aws:sns:us-east-1:{account}:alerts", f"arn:aws:s3:::logs-{account}",
        ])
        rows.append(row(rng.choice(["SourceArn", "Target", "Notes", "KeyArn"]), arn, "benign", DOCS["arn"]))
    rows += [row(rng.choice(["RequestId", "CorrelationId", "Id", "ExecutionId"]), uuid(), "benign", source) for _ in range(8)]
    hash_keys = ["Checksum", "Commit", "Digest", "ETag", "BuildHash", "ContentSha", "Fingerprint"]
    for _ in range(6):
        rows.append(row(rng.choice(hash_keys), body(LOWER_HEX, 40), "benign", source))  # git SHA-1
        rows.append(row(rng.choice(hash_keys), body(LOWER_HEX, 64), "benign", source))  # SHA-256
        rows.append(row(rng.choice(hash_keys), body(LOWER_HEX, 32), "benign", source))  # MD5 / ETag
    for _ in range(10):
        # 40-character base64 strings without any credential context (digests, opaque ids)
        rows.append(row(rng.choice(hash_keys + ["Notes", "ObjectKey"]), body(BASE64, 40), "benign", source))
    for _ in range(4):
        rows.append(row("Integrity", "sha256-" + body(BASE64, 43) + "=", "benign", source))
    descriptive = ["aws-sso-readonly", "rotated-2024-01", "ci-pipeline-42", "managed-by-terraform", "stored in secrets manager",
                   "see vault path prod/db", "github-actions-oidc", "quarterly-rotation", "read-only", "service-account-7",
                   "owned-by-platform", "prod-db-rotation", "rotated 2024-06-30", "break-glass-only", "terraform-cloud-workspace",
                   "kms-encrypted", "okta-sso", "ldap-bind-user", "ask the platform team", "expires-2025-12"]
    credential_keys = ["Token", "ApiKey", "db_password", "Secret", "ClientSecret", "AccessKey", "SigningKey", "Credentials",
                       "AuthToken", "password"]
    rows += [row(credential_keys[index % len(credential_keys)], value, "benign", source) for index, value in enumerate(descriptive)]
    teams = ["platform-team", "Data Engineering", "cloud-platform", "SRE", "team-payments", "Finance Ops", "Security",
             "Platform Team", "ml-research", "Customer Success", "infra@", "DevOps Guild"]
    rows += [row(rng.choice(OWNER_KEYS), team, "benign", source) for team in teams]
    return rows


def uuid() -> str:
    raw = body(LOWER_HEX, 32)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def row(key: str, value: str, kind: str, source: str) -> dict:
    # "credential" rows are found by whichever credential rule applies: the label is what matters
    kind = {"credential": "credential_assignment"}.get(kind, kind)
    return {"key": key, "value": value, "sensitive": kind != "benign", "kind": kind, "source": source}


def build() -> list[dict]:
    original = [json.loads(line) for line in CORPUS.read_text().splitlines() if line]
    v1 = []
    for entry in original:
        if entry.get("source", V1_SOURCE) != V1_SOURCE:
            continue  # rows this script added on an earlier run
        v1.append({"key": entry["key"], "value": entry["value"], "sensitive": entry["sensitive"], "kind": entry["kind"],
                   "source": V1_SOURCE})
    added = vendor_rows() + env_rows() + phone_rows() + person_rows() + identifier_rows() + negative_rows()
    rows, seen = [], set()
    for entry in v1 + added:
        identity = (entry["key"], entry["value"])
        if identity in seen:
            continue
        seen.add(identity)
        rows.append({**entry, "split": split_of(entry["key"], entry["value"])})
    return rows


if __name__ == "__main__":
    built = build()
    CORPUS.write_text("".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in built))
    sensitive = sum(entry["sensitive"] for entry in built)
    held_out = sum(entry["split"] == "held_out" for entry in built)
    print(f"{len(built)} rows ({sensitive} sensitive), {held_out} held out")
