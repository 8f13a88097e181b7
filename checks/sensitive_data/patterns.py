"""Validated recognisers for personal data and secrets, written for orgscan.

Each recogniser finds candidate spans with a regular expression and then
*validates* them (Luhn for card numbers, mod-97 and the national length for
IBANs, the SSA's allocation rules for US social security numbers, character
classes and entropy for AWS secret keys), because a tag value is short and full
of identifiers (ARNs, account ids, UUIDs, CIDRs, dates, versions) that a bare
pattern would mistake for data.

A recogniser is ``(text, name_words) -> [(start, end, kind)]``; ``name_words``
are the words of the tag key or field name, used as context (a 9-digit number is
only a social security number under a key that says so).
"""
from __future__ import annotations

import math
import re
from typing import Callable, Iterable

Span = tuple[int, int, str]
Recogniser = Callable[[str, frozenset[str]], list[Span]]

#: Kinds of data, and whether each is a secret or personal data.
SECRET_KINDS = {
    "aws_access_key_id": "AWS access key id",
    "aws_secret_access_key": "AWS secret access key",
    "private_key": "private key",
    "credential_named_field": "value of a field named like a credential",
    "credential_assignment": "credential assignment (password=..., token: ...)",
    "url_credentials": "URL or connection string with credentials",
    "github_token": "GitHub token",
    "gitlab_token": "GitLab token",
    "slack_token": "Slack token or webhook",
    "stripe_secret_key": "Stripe secret key",
    "google_api_key": "Google API key",
    "jwt": "JSON Web Token",
    "npm_token": "npm token",
    "pypi_token": "PyPI token",
    "sendgrid_api_key": "SendGrid API key",
    "openai_api_key": "OpenAI/Anthropic API key",
}
PERSONAL_KINDS = {
    "email_address": "email address",
    "phone_number": "phone number",
    "payment_card_number": "payment card number (passes Luhn)",
    "us_ssn": "US social security number",
    "iban": "IBAN (passes mod-97)",
}
KIND_DESCRIPTIONS = {**SECRET_KINDS, **PERSONAL_KINDS}

# Boundaries that keep a pattern from matching inside a longer identifier:
# ``i-0123456789abcdef0``, ``arn:aws:...:123456789012:...``, ``10.0.0.0/16``.
_NOT_AFTER_WORD = r"(?<![A-Za-z0-9_\-./:+@])"


def _finditer(pattern: re.Pattern[str], text: str, kind: str, group: int = 0) -> list[Span]:
    return [(m.start(group), m.end(group), kind) for m in pattern.finditer(text)]


# --------------------------------------------------------------------------
# personal data
# --------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])"
    r"([A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?)"
    r"@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})"
    r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"
)
#: Local parts of addresses that name a service, not a person (``git@github.com:org/repo``).
_SERVICE_MAILBOXES = frozenset({"git", "hg", "svn"})


def find_email_addresses(text: str, name_words: frozenset[str]) -> list[Span]:
    spans = []
    for match in _EMAIL.finditer(text):
        local = match.group(1)
        if ".." in local:
            continue
        if local.lower() in _SERVICE_MAILBOXES and text[match.end():match.end() + 1] == ":":
            continue  # an SSH repository URL, not a mailbox
        spans.append((match.start(), match.end(), "email_address"))
    return spans


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn (mod 10) checksum."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_brand(digits: str) -> str | None:
    """The card network whose issuer-number ranges and lengths ``digits`` fits, or None."""
    length = len(digits)
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4" and length in (13, 16, 19):
        return "visa"
    if (51 <= two <= 55 or 222100 <= six <= 272099) and length == 16:
        return "mastercard"
    if two in (34, 37) and length == 15:
        return "amex"
    if (four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649 or 622126 <= six <= 622925) and 16 <= length <= 19:
        return "discover"
    if 3528 <= four <= 3589 and 16 <= length <= 19:
        return "jcb"
    if (300 <= int(digits[:3]) <= 305 or two in (36, 38, 39) or four == 3095) and 14 <= length <= 19:
        return "diners"
    if two == 62 and 16 <= length <= 19:
        return "unionpay"
    if four in (5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763) and 12 <= length <= 19:
        return "maestro"
    return None


# 13-19 digits, either contiguous or in groups of 4 (Amex 4-6-5) separated by one space or dash.
_CARD = re.compile(
    _NOT_AFTER_WORD
    + r"(\d{13,19}|\d{4}(?:[ \-]\d{4}){2,3}(?:[ \-]\d{1,3})?|\d{4}[ \-]\d{6}[ \-]\d{4,5})"
    + r"(?![0-9\-/]|\.\d|[A-Za-z])"
)


def find_card_numbers(text: str, name_words: frozenset[str]) -> list[Span]:
    spans = []
    for match in _CARD.finditer(text):
        raw = match.group(1)
        if " " in raw and "-" in raw:
            continue  # mixed separators: a list of numbers, not one card
        digits = re.sub(r"\D", "", raw)
        if 13 <= len(digits) <= 19 and card_brand(digits) and luhn_valid(digits):
            spans.append((match.start(1), match.end(1), "payment_card_number"))
    return spans


_SSN_DASHED = re.compile(_NOT_AFTER_WORD + r"(\d{3})([ \-])(\d{2})\2(\d{4})" + r"(?![0-9\-/]|\.\d|[A-Za-z])")
_SSN_BARE = re.compile(_NOT_AFTER_WORD + r"(\d{3})(\d{2})(\d{4})" + r"(?![0-9\-/]|\.\d|[A-Za-z])")
_SSN_NAME_WORDS = frozenset({"ssn", "ssnumber", "social", "socialsecurity", "taxpayer", "tin", "itin"})


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """The SSA never issues area 000, 666 or 900-999, group 00 or serial 0000."""
    if area in ("000", "666") or area[0] == "9":
        return False
    return group != "00" and serial != "0000"


def find_us_ssns(text: str, name_words: frozenset[str]) -> list[Span]:
    spans = [
        (m.start(), m.end(), "us_ssn")
        for m in _SSN_DASHED.finditer(text)
        if ssn_valid(m.group(1), m.group(3), m.group(4))
    ]
    # Nine bare digits are everything from zip+4 codes to order numbers: only
    # under a key that says "ssn" do they count.
    for match in _SSN_BARE.finditer(text):
        # "ssn 078051120" in free text says so just before the number.
        preceding = frozenset(re.findall(r"[a-z]+", text[max(0, match.start() - 24):match.start()].lower()))
        if (name_words | preceding) & _SSN_NAME_WORDS and ssn_valid(match.group(1), match.group(2), match.group(3)):
            spans.append((match.start(), match.end(), "us_ssn"))
    return spans


#: IBAN length per country (SWIFT IBAN registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?)(?![A-Za-z0-9])",
    re.IGNORECASE,
)


def iban_valid(candidate: str) -> bool:
    """True when the compact IBAN has its country's length and passes ISO 13616 mod-97."""
    compact = candidate.replace(" ", "").upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(char, 36)) for char in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def find_ibans(text: str, name_words: frozenset[str]) -> list[Span]:
    spans = []
    for match in _IBAN.finditer(text):
        raw = match.group(1)
        # A shorter prefix may be the IBAN when free text follows it in 4-char groups.
        compact_len = len(raw.replace(" ", ""))
        expected = IBAN_LENGTHS.get(raw[:2].upper())
        if expected is None or compact_len < expected:
            continue
        end, seen = match.start(1), 0
        while seen < expected and end < len(text):
            if text[end] != " ":
                seen += 1
            end += 1
        if iban_valid(text[match.start(1):end]):
            spans.append((match.start(1), end, "iban"))
    return spans


# Phone numbers: international (+CC ...) always; national formats only with
# separators, and a bare run of digits only under a key that names a phone.
_PHONE_INTERNATIONAL = re.compile(
    r"(?<![A-Za-z0-9_+\-./:])(\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,6})(?![0-9]|[\-.:][0-9]|[A-Za-z])"
)
_PHONE_NANP = re.compile(
    r"(?<![A-Za-z0-9_\-./:+])(\(?[2-9]\d{2}\)?[ .\-]?[2-9]\d{2}[ .\-]\d{4})(?![0-9]|[\-.:/][0-9]|[A-Za-z])"
)
_PHONE_NATIONAL = re.compile(
    r"(?<![A-Za-z0-9_\-./:+])(0\d{1,4}[ \-]\d{3,4}[ \-]?\d{3,4})(?![0-9]|[\-.:/][0-9]|[A-Za-z])"
)
_PHONE_BARE = re.compile(r"(?<![A-Za-z0-9_\-./:+])(\(?\d[\d ().\-]{6,18}\d)(?![0-9A-Za-z])")
_PHONE_NAME_WORDS = frozenset({"phone", "mobile", "cell", "tel", "telephone", "fax", "whatsapp", "sms", "msisdn", "callback", "oncall"})


def _phone_digits_plausible(digits: str) -> bool:
    return 7 <= len(digits) <= 15 and len(set(digits)) > 2


def find_phone_numbers(text: str, name_words: frozenset[str]) -> list[Span]:
    spans = []
    for match in _PHONE_INTERNATIONAL.finditer(text):
        digits = re.sub(r"\D", "", match.group(1))
        if 8 <= len(digits) <= 15 and digits[0] != "0" and _phone_digits_plausible(digits):
            spans.append((match.start(1), match.end(1), "phone_number"))
    for pattern in (_PHONE_NANP, _PHONE_NATIONAL):
        for match in pattern.finditer(text):
            digits = re.sub(r"\D", "", match.group(1))
            if _phone_digits_plausible(digits):
                spans.append((match.start(1), match.end(1), "phone_number"))
    if name_words & _PHONE_NAME_WORDS:
        for match in _PHONE_BARE.finditer(text):
            digits = re.sub(r"\D", "", match.group(1))
            if _phone_digits_plausible(digits):
                spans.append((match.start(1), match.end(1), "phone_number"))
    return spans


# --------------------------------------------------------------------------
# secrets
# --------------------------------------------------------------------------

_AWS_ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z2-7]{16})(?![A-Z0-9])")
# Only long-term (AKIA) and temporary (ASIA) key ids are credentials; the other
# prefixes are unique ids of users, roles and groups, which are not secret.
_CREDENTIAL_KEY_PREFIXES = ("AKIA", "ASIA")
_AWS_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``."""
    if not text:
        return 0.0
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def find_aws_keys(text: str, name_words: frozenset[str]) -> list[Span]:
    spans = [
        (m.start(1), m.end(1), "aws_access_key_id")
        for m in _AWS_ACCESS_KEY_ID.finditer(text)
        if m.group(1).startswith(_CREDENTIAL_KEY_PREFIXES)
    ]
    for match in _AWS_SECRET_KEY.finditer(text):
        candidate = match.group(1)
        # A secret key is 40 random base64 characters: upper, lower and digits
        # all present, high entropy. Hex digests (lowercase) and paths fail this.
        if (
            any(c.isupper() for c in candidate)
            and any(c.islower() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and candidate.count("/") < 6
            and shannon_entropy(candidate) >= 4.2
        ):
            spans.append((match.start(1), match.end(1), "aws_secret_access_key"))
    return spans


_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d")

_TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36,255})(?![A-Za-z0-9_])"), "github_token"),
    (re.compile(r"(?<![A-Za-z0-9_])(github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])"), "github_token"),
    (re.compile(r"(?<![A-Za-z0-9_\-])(glpat-[A-Za-z0-9_\-]{20,})(?![A-Za-z0-9_\-])"), "gitlab_token"),
    (re.compile(r"(?<![A-Za-z0-9_\-])(xox[abposr]-(?:\d+-)+[A-Za-z0-9\-]{8,})"), "slack_token"),
    (re.compile(r"(https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_\-]{20,})"), "slack_token"),
    (re.compile(r"(?<![A-Za-z0-9_])((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,})(?![A-Za-z0-9_])"), "stripe_secret_key"),
    (re.compile(r"(?<![A-Za-z0-9_\-])(AIza[0-9A-Za-z_\-]{35})(?![A-Za-z0-9_\-])"), "google_api_key"),
    (re.compile(r"(?<![A-Za-z0-9_\-])(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]*)?)"), "jwt"),
    (re.compile(r"(?<![A-Za-z0-9_])(npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])"), "npm_token"),
    (re.compile(r"(?<![A-Za-z0-9_\-])(pypi-AgE[A-Za-z0-9_\-]{40,})"), "pypi_token"),
    (re.compile(r"(?<![A-Za-z0-9_\-])(SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})(?![A-Za-z0-9_\-])"), "sendgrid_api_key"),
    (re.compile(r"(?<![A-Za-z0-9_\-])(sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_\-]{32,})(?![A-Za-z0-9_\-])"), "openai_api_key"),
)


def find_private_keys_and_tokens(text: str, name_words: frozenset[str]) -> list[Span]:
    spans = _finditer(_PRIVATE_KEY, text, "private_key")
    for pattern, kind in _TOKEN_PATTERNS:
        for match in pattern.finditer(text):
            if kind == "openai_api_key" and not _mixed_case_and_digits(match.group(1)[3:]):
                continue  # "sk-" followed by a word is a hostname or a SKU, not a key
            spans.append((match.start(1), match.end(1), kind))
    return spans


def _mixed_case_and_digits(text: str) -> bool:
    return any(c.isupper() for c in text) and any(c.islower() for c in text) and any(c.isdigit() for c in text)


# scheme://user:password@host — the password part must be non-empty.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{1,30}://)([^\s:/?#@]{0,128}):([^\s/?#@]{1,256})@([^\s/?#]+)")
#: Query parameters that carry credentials in a URL (lower case, ``-`` and ``_`` removed).
CREDENTIAL_QUERY_PARAMETERS = frozenset(
    {
        "token", "accesstoken", "authtoken", "apitoken", "idtoken", "refreshtoken", "sessiontoken",
        "apikey", "key", "accesskey", "secretkey", "clientsecret", "secret", "password", "passwd", "pwd",
        "pass", "auth", "authorization", "sig", "signature", "xamzsignature", "xamzsecuritytoken",
        "xamzcredential", "credential", "credentials", "code", "privatekey", "sharedaccesskey",
    }
)
_URL = re.compile(r"(?i)\b(?:https?|wss?|ftp|s?ftp)://[^\s\"'<>]+")
_QUERY_PAIR = re.compile(r"[?&;]([^=&#;\s]{1,64})=([^&#;\s]*)")


def normalise_name(name: str) -> str:
    return re.sub(r"[\-_.\s]", "", name.lower())


def url_credential_parts(url: str) -> list[tuple[int, int, str]]:
    """Spans (relative to ``url``) of credentials in a URL: the userinfo password, credential query values.

    The third item names the place: ``userinfo`` or ``query:<parameter>``.
    """
    found = []
    match = _URL_USERINFO.match(url)
    if match and not is_placeholder(match.group(3)):
        found.append((match.start(2), match.end(3), "userinfo"))
    query_start = url.find("?")
    if query_start >= 0:
        for pair in _QUERY_PAIR.finditer(url, query_start):
            parameter, value = pair.group(1), pair.group(2)
            if value and normalise_name(parameter) in CREDENTIAL_QUERY_PARAMETERS and not is_placeholder(value):
                found.append((pair.start(2), pair.end(2), f"query:{parameter}"))
    return found


def find_url_credentials(text: str, name_words: frozenset[str]) -> list[Span]:
    spans = []
    for match in _URL_USERINFO.finditer(text):
        if not is_placeholder(match.group(3)):
            spans.append((match.start(), match.end(), "url_credentials"))
    for match in _URL.finditer(text):
        for start, end, _place in url_credential_parts(match.group()):
            spans.append((match.start() + start, match.start() + end, "url_credentials"))
    return spans


# password=..., pwd: ..., "api_key": "..." inside free text and connection strings.
_ASSIGNMENT = re.compile(
    r"(?i)(?<![A-Za-z0-9:/_\-.])"
    r"(password|passwd|pwd|passphrase|secret|client[_\-]?secret|api[_\-]?key|apikey|access[_\-]?token|auth[_\-]?token|"
    r"token|accountkey|sharedaccesskey|secret[_\-]?access[_\-]?key)"
    r"[\"']?\s*[:=]\s*[\"']?(\$\{[^{}\s]{1,80}\}|[^\s;,&\"'}]{3,})"
)


def find_credential_assignments(text: str, name_words: frozenset[str]) -> list[Span]:
    return [
        (m.start(2), m.end(2), "credential_assignment")
        for m in _ASSIGNMENT.finditer(text)
        if not is_placeholder(m.group(2))
        and not is_reference(m.group(2))
        # "token: see vault" is prose; a credential has more than a short word.
        and not (m.group(2).isalpha() and len(m.group(2)) <= 4)
    ]


# --------------------------------------------------------------------------
# values that are never credentials, whatever their key says
# --------------------------------------------------------------------------

PLACEHOLDERS = frozenset(
    {
        "", "-", "--", "none", "null", "nil", "n/a", "na", "tbd", "todo", "unset", "unknown", "empty", "true", "false",
        "yes", "no", "on", "off", "enabled", "disabled", "enable", "disable", "required", "optional", "redacted",
        "<redacted>", "[redacted]", "masked", "hidden", "secret", "password", "token", "vault", "hashicorp-vault",
        "secretsmanager", "secrets-manager", "ssm", "parameter-store", "kms", "managed", "aws-managed", "auto",
        "automatic", "rotated", "rotating", "rotate", "manual", "sso", "iam", "oidc", "saml", "ldap", "none-required",
        "not-required", "default", "xxx", "xxxx", "xxxxxxxx", "*", "***", "****", "********", "changeme-in-vault",
    }
)
_PLACEHOLDER_SHAPES = re.compile(
    r"^(?:\*+|x+|\.{3,}|<[^<>]{1,40}>|\{\{[^{}]{1,80}\}\}|\$\{[^{}]{1,80}\}|\$\([^()]{1,80}\)|%[A-Za-z_]{1,40}%|"
    r"\$[A-Z_][A-Z0-9_]{1,40}|\d{1,4}[dhmsw]|\d{1,4}\s?(?:days?|hours?|minutes?|weeks?|months?))$",
    re.IGNORECASE,
)


def is_placeholder(value: str) -> bool:
    """True for values that stand in for a credential rather than being one: ``***``, ``${DB_PASSWORD}``, ``90d``."""
    stripped = value.strip().strip("\"'")
    return stripped.lower() in PLACEHOLDERS or bool(_PLACEHOLDER_SHAPES.match(stripped))


_REFERENCE = re.compile(
    r"^(?:arn:aws[a-z\-]*:|\{\{resolve:|resolve:|ssm:|secretsmanager:|vault:|kv/|secret/|op://|"
    r"/[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)+/?$|"  # an SSM parameter or Vault path
    r"alias/|projects/[^/]+/secrets/)",
    re.IGNORECASE,
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+\-]\d{2}:?\d{2})?)?$")


def is_reference(value: str) -> bool:
    """True for a pointer to where a credential lives (an ARN, an SSM path, a ``{{resolve:...}}``) or a date."""
    stripped = value.strip()
    return bool(_REFERENCE.match(stripped) or _DATE.match(stripped))


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def all_recognisers() -> Iterable[Recogniser]:
    """Every value recogniser, most specific first (earlier spans win overlaps)."""
    return (
        find_private_keys_and_tokens,
        find_aws_keys,
        find_url_credentials,
        find_credential_assignments,
        find_email_addresses,
        find_ibans,
        find_card_numbers,
        find_us_ssns,
        find_phone_numbers,
    )
