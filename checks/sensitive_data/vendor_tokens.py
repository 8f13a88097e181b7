"""Vendor token formats: Yelp's detect-secrets plugins first, orgscan's own rules only where it has none.

detect-secrets is used in-process on one short string at a time through its
plugins' ``analyze_string`` (never its file-scanning CLI, its baseline or its
network ``verify``). Its import (about half a second: the package's
``__init__`` loads its scanning core) happens once, the first time a value is
scanned, and the plugin instances are built once and cached; a scan pays only
for running the plugins' compiled regular expressions on each value.

A span from a plugin counts only when it stands alone: a match that continues
a longer word on either side (``123456789012:...`` inside an ARN looks like the
start of a Telegram token) is dropped.
"""
from __future__ import annotations

import importlib
import re
from functools import lru_cache
from typing import Iterable

Span = tuple[int, int, str]

#: detect-secrets plugin (module, class) -> orgscan kind. Only plugins that recognise a
#: token *format*: the keyword, entropy, basic-auth and public-IP plugins are left out
#: (orgscan's own context rules and URL parser do that work on short tag values with
#: fewer false alarms, and a public IP address is not sensitive data).
LIBRARY_PLUGINS: dict[tuple[str, str], str] = {
    ("detect_secrets.plugins.aws", "AWSKeyDetector"): "aws_access_key_id",
    ("detect_secrets.plugins.github_token", "GitHubTokenDetector"): "github_token",
    ("detect_secrets.plugins.gitlab_token", "GitLabTokenDetector"): "gitlab_token",
    ("detect_secrets.plugins.slack", "SlackDetector"): "slack_token",
    ("detect_secrets.plugins.stripe", "StripeDetector"): "stripe_secret_key",
    ("detect_secrets.plugins.twilio", "TwilioKeyDetector"): "twilio_api_key",
    ("detect_secrets.plugins.sendgrid", "SendGridDetector"): "sendgrid_api_key",
    ("detect_secrets.plugins.pypi_token", "PypiTokenDetector"): "pypi_token",
    ("detect_secrets.plugins.openai", "OpenAIDetector"): "openai_api_key",
    ("detect_secrets.plugins.mailchimp", "MailchimpDetector"): "mailchimp_api_key",
    ("detect_secrets.plugins.telegram_token", "TelegramBotTokenDetector"): "telegram_bot_token",
    ("detect_secrets.plugins.discord", "DiscordBotTokenDetector"): "discord_bot_token",
    ("detect_secrets.plugins.square_oauth", "SquareOAuthDetector"): "square_token",
    ("detect_secrets.plugins.azure_storage_key", "AzureStorageKeyDetector"): "azure_storage_key",
    ("detect_secrets.plugins.artifactory", "ArtifactoryDetector"): "artifactory_token",
    ("detect_secrets.plugins.jwt", "JwtTokenDetector"): "jwt",
    ("detect_secrets.plugins.private_key", "PrivateKeyDetector"): "private_key",
}

# Formats detect-secrets 1.5 has no plugin for, from each vendor's documentation
# (the corpus cites the page per format). A plugin that does exist is never repeated here.
_OWN_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # fine-grained GitHub tokens: the plugin knows only ghp_/gho_/ghu_/ghs_/ghr_
    (re.compile(r"github_pat_[A-Za-z0-9_]{22,255}"), "github_token"),
    # Stripe test-mode and restricted test keys: the plugin knows only live keys
    (re.compile(r"(?:sk|rk)_test_[A-Za-z0-9]{16,}"), "stripe_secret_key"),
    (re.compile(r"AIza[0-9A-Za-z_\-]{35}"), "google_api_key"),
    # npm's granular tokens: the plugin knows only the .npmrc _authToken line
    (re.compile(r"npm_[A-Za-z0-9]{36}"), "npm_token"),
    # OpenAI project keys and Anthropic keys: the plugin knows only the legacy T3BlbkFJ form
    (re.compile(r"sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)[A-Za-z0-9_\-]{32,}"), "openai_api_key"),
    (re.compile(r"dckr_pat_[A-Za-z0-9_\-]{20,}"), "docker_hub_token"),
    (re.compile(r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"), "shopify_token"),
    (re.compile(r"hv[sbr]\.[A-Za-z0-9_\-]{24,}"), "vault_token"),
    (re.compile(r"hf_[A-Za-z]{34}"), "huggingface_token"),
    (re.compile(r"NRAK-[A-Z0-9]{27}"), "new_relic_key"),
    (re.compile(r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}"), "postman_api_key"),
    (re.compile(r"do[por]_v1_[a-f0-9]{64}"), "digitalocean_token"),
    (re.compile(r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"), "grafana_token"),
    (re.compile(r"dapi[a-f0-9]{32}(?:-\d)?"), "databricks_token"),
    (re.compile(r"dp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,}"), "doppler_token"),
)

#: Kinds this module can report, with their descriptions.
VENDOR_KINDS = {
    "github_token": "GitHub token",
    "gitlab_token": "GitLab token",
    "slack_token": "Slack token or webhook",
    "stripe_secret_key": "Stripe secret or restricted key",
    "twilio_api_key": "Twilio API key or account SID with its secret",
    "sendgrid_api_key": "SendGrid API key",
    "pypi_token": "PyPI token",
    "openai_api_key": "OpenAI/Anthropic API key",
    "mailchimp_api_key": "Mailchimp API key",
    "telegram_bot_token": "Telegram bot token",
    "discord_bot_token": "Discord bot token",
    "square_token": "Square OAuth secret",
    "azure_storage_key": "Azure Storage account key",
    "artifactory_token": "JFrog Artifactory API token or password",
    "jwt": "JSON Web Token",
    "private_key": "private key",
    "google_api_key": "Google API key",
    "npm_token": "npm token",
    "docker_hub_token": "Docker Hub personal access token",
    "shopify_token": "Shopify access token or secret",
    "vault_token": "HashiCorp Vault token",
    "huggingface_token": "Hugging Face token",
    "new_relic_key": "New Relic user key",
    "postman_api_key": "Postman API key",
    "digitalocean_token": "DigitalOcean token",
    "grafana_token": "Grafana service account token",
    "databricks_token": "Databricks personal access token",
    "doppler_token": "Doppler token",
}

_WORD_CHAR = re.compile(r"[A-Za-z0-9]")
_JWT_TAIL = re.compile(r"[A-Za-z0-9_\-.+/=]*")


@lru_cache(maxsize=1)
def library_plugins() -> tuple[tuple[object, str], ...]:
    """The detect-secrets plugin instances orgscan uses, with their orgscan kinds (imported and built once).

    A plugin missing from the installed version (an older release, or the
    Bridgecrew fork, which lacks some) is skipped; orgscan's own rules do not
    stand in for it, so the docs name the version to install.
    """
    plugins = []
    for (module_name, class_name), kind in LIBRARY_PLUGINS.items():
        try:
            plugin_class = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            continue
        plugins.append((plugin_class(), kind))
    return tuple(plugins)


# Every plugin pattern used needs a run of at least ten letters and digits, or starts with one of
# these literals: a value with neither (most tag values) cannot match and skips the plugins.
_MAY_HOLD_A_TOKEN = re.compile(r"[A-Za-z0-9]{10}|xox|slack|eyJ|PRIVATE KEY|PuTTY|sq0csp|gh[pousr]_|glpat|T3BlbkFJ")


def _stands_alone(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    return not (_WORD_CHAR.match(before) or _WORD_CHAR.match(after))


def find_vendor_tokens(text: str, name_words: frozenset[str]) -> list[Span]:
    """Spans of vendor tokens in ``text``: detect-secrets' plugins, then orgscan's rules for the formats it lacks."""
    spans: list[Span] = []
    for plugin, kind in library_plugins() if _MAY_HOLD_A_TOKEN.search(text) else ():
        for secret in set(plugin.analyze_string(text)):  # type: ignore[attr-defined]
            if not secret:
                continue
            for match in re.finditer(re.escape(secret), text):
                end = match.end()
                if kind == "jwt":
                    # the plugin's pattern stops lazily before the signature: the token runs to its last character
                    end = _JWT_TAIL.match(text, end).end()
                if kind == "private_key" or _stands_alone(text, match.start(), end):
                    spans.append((match.start(), end, _refine(kind, secret)))
    for pattern, kind in _OWN_RULES:
        for match in pattern.finditer(text):
            if _stands_alone(text, match.start(), match.end()):
                spans.append((match.start(), match.end(), kind))
    return spans


def _refine(kind: str, secret: str) -> str:
    # The AWS plugin's second pattern finds secret keys in quoted assignments; its first, key ids.
    if kind == "aws_access_key_id" and len(secret) == 40:
        return "aws_secret_access_key"
    return kind


def library_version() -> str:
    """The installed detect-secrets version (for the docs and the benchmark), or ``"not installed"``."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return "unknown"
    for distribution in ("detect-secrets", "bc-detect-secrets"):
        try:
            return f"{distribution} {version(distribution)}"
        except PackageNotFoundError:
            continue
    return "not installed"


def kinds() -> Iterable[str]:
    return VENDOR_KINDS.keys()
