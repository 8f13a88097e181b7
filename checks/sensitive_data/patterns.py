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

import functools
import math
import re
from typing import Callable, Iterable

import phonenumbers

from checks.sensitive_data.vendor_tokens import VENDOR_KINDS, find_vendor_tokens

Span = tuple[int, int, str]
Recogniser = Callable[[str, frozenset[str]], list[Span]]

#: Kinds of data, and whether each is a secret or personal data.
SECRET_KINDS = {
    "aws_access_key_id": "AWS access key id",
    "aws_secret_access_key": "AWS secret access key",
    "credential_named_field": "value of a field named like a credential",
    "credential_assignment": "credential assignment (password=..., export X_TOKEN=..., token: ...)",
    "url_credentials": "URL or connection string with credentials",
    **{kind: description for kind, description in VENDOR_KINDS.items() if kind != "aws_access_key_id"},
}
PERSONAL_KINDS = {
    "email_address": "email address",
    "phone_number": "phone number (valid by libphonenumber)",
    "payment_card_number": "payment card number (passes Luhn)",
    "us_ssn": "US social security number",
    "iban": "IBAN (passes mod-97)",
    "person_name": "a person's name under an owner or contact key",
}
KIND_DESCRIPTIONS = {**SECRET_KINDS, **PERSONAL_KINDS}

# Boundaries that keep a pattern from matching inside a longer identifier:
# ``i-0123456789abcdef0``, ``arn:aws:...:123456789012:...``, ``10.0.0.0/16``.
_NOT_AFTER_WORD = r"(?<![A-Za-z0-9_\-./:+@])"
# Numbers that are data (card numbers, SSNs) may sit *inside* an identifier after a
# separator (``u-4111111111111111``, ``backup_4111...``, ``ssn-078051120``), but never
# continue a word, a longer number, a dotted/dashed number (``10.4111...``) or a version.
_ALONE_BEFORE = r"(?<![A-Za-z0-9+@])(?<!\d[.\-/:])"
_ALONE_AFTER = r"(?![0-9A-Za-z])(?![.\-/:]\d)"


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
    _ALONE_BEFORE
    + r"(\d{13,19}|\d{4}(?:[ \-]\d{4}){2,3}(?:[ \-]\d{1,3})?|\d{4}[ \-]\d{6}[ \-]\d{4,5})"
    + _ALONE_AFTER
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


_SSN_DASHED = re.compile(_ALONE_BEFORE + r"(\d{3})([ \-])(\d{2})\2(\d{4})" + _ALONE_AFTER)
_SSN_BARE = re.compile(_ALONE_BEFORE + r"(\d{3})(\d{2})(\d{4})" + _ALONE_AFTER)
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


# Phone numbers are validated with libphonenumber (``phonenumbers``), Google's
# numbering-plan data for every region: a candidate counts only when it is a
# *valid* number of some plan, not merely digit-shaped.
#: Keys whose value is about a person to reach: a bare number or a name there is personal data.
PHONE_NAME_WORDS = frozenset({"phone", "mobile", "cell", "tel", "telephone", "fax", "whatsapp", "sms", "msisdn", "callback",
                              "oncall", "pager", "landline"})
CONTACT_NAME_WORDS = frozenset({"owner", "contact", "oncall", "escalation", "manager", "responsible", "author", "creator",
                                "createdby", "requester", "requestor", "poc", "pointofcontact", "approver", "custodian",
                                "steward", "maintainer", "sponsor", "lead", "assignee", "by"})
#: Words saying a number is a business reference, not a phone: under such a key, or just before the digits.
REFERENCE_NUMBER_WORDS = frozenset({"order", "orders", "po", "purchase", "ticket", "tickets", "part", "parts", "pn", "sku",
                                    "cost", "costcentre", "costcenter", "centre", "center", "cc", "invoice", "inc",
                                    "incident", "change", "chg", "case", "ref", "reference", "batch", "serial", "workorder",
                                    "wo", "job", "build", "run", "request", "req", "no", "nr", "num", "number", "id", "project",
                                    "contract", "account", "acct", "customer", "policy", "claim", "lot", "item"})
_PHONE_CANDIDATE = re.compile(r"(?<![A-Za-z0-9_\-./:+@#])(\+?\(?\d[\d ().\-/]{5,22}\d)(?![0-9A-Za-z]|[.\-/:]\d)")
_WORDS = re.compile(r"[a-z]+")
#: Regions tried, in order, for a national-format number under a phone or contact key:
#: every region libphonenumber knows, the most populous numbering plans first.
_NATIONAL_REGIONS = ("US", "GB", "DE", "FR", "IN", "JP", "BR", "CN", "AU", "ES", "IT", "MX", "CA", "NL") + tuple(
    sorted(set(phonenumbers.SUPPORTED_REGIONS) - {"US", "GB", "DE", "FR", "IN", "JP", "BR", "CN", "AU", "ES", "IT", "MX", "CA", "NL"})
)


def _valid_phone(candidate: str, region: str | None) -> bool:
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return False
    # the length check is a table look-up; validity runs the region's patterns, so it comes second
    return phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)


@functools.lru_cache(maxsize=4096)
def _valid_in_some_region(candidate: str) -> bool:
    """True when a national-format number is valid in some numbering plan (cached: tag values repeat)."""
    return any(_valid_phone(candidate, region) for region in _NATIONAL_REGIONS)


def _has_phone_layout(candidate: str) -> bool:
    # A national number written for people has groups: "(212) 555-0147", "020 7946 0958";
    # ten bare digits are as often an order or an epoch as a phone.
    return bool(re.search(r"\d[ ().\-/]+\d", candidate)) or candidate.startswith("(")


def find_phone_numbers(text: str, name_words: frozenset[str]) -> list[Span]:
    if name_words & REFERENCE_NUMBER_WORDS and not name_words & PHONE_NAME_WORDS:
        return []  # "OrderNumber", "Ticket", "CostCentre": digit groups there are references
    about_a_person = bool(name_words & (PHONE_NAME_WORDS | CONTACT_NAME_WORDS))
    spans = []
    for match in _PHONE_CANDIDATE.finditer(text):
        candidate = match.group(1).strip()
        digits = re.sub(r"\D", "", candidate)
        if not 7 <= len(digits) <= 15 or len(set(digits)) <= 2:
            continue
        preceding = set(_WORDS.findall(text[max(0, match.start() - 16):match.start()].lower()))
        if preceding & REFERENCE_NUMBER_WORDS or text[max(0, match.start() - 1):match.start()] == "#":
            continue  # "order 415-555-2671", "PO#4155552671"
        if candidate.startswith("+"):
            valid = _valid_phone(candidate, None)
        elif about_a_person:
            valid = _valid_in_some_region(candidate)
        else:
            # free text: a North American number in its usual layout ("(212) 555-0147")
            valid = _has_phone_layout(candidate) and _valid_phone(candidate, "US")
        if valid:
            spans.append((match.start(1), match.start(1) + len(candidate), "phone_number"))
    return spans


# A person's name under an owner/contact key: 2-4 capitalised words ("Jane Doe", "Aoife O'Brien",
# "Dr. Emily Carter") or "Doe, Jane". Team and function names are not people.
_TITLES = frozenset({"dr", "mr", "mrs", "ms", "mx", "prof", "sir", "dame"})
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "da", "del", "di", "la", "le", "du", "bin", "binti", "al", "el"})
ORGANISATION_WORDS = frozenset({
    "team", "teams", "engineering", "platform", "ops", "operations", "devops", "sre", "security", "infra", "infrastructure",
    "data", "finance", "billing", "payments", "marketing", "sales", "support", "success", "customer", "analytics", "research",
    "group", "squad", "guild", "department", "dept", "division", "unit", "services", "service", "it", "hr", "legal", "cloud",
    "network", "networking", "database", "web", "mobile", "product", "design", "qa", "quality", "release", "build",
    "automation", "compliance", "risk", "audit", "core", "shared", "central", "global", "internal", "external", "vendor",
    "partner", "office", "admin", "administrators", "owners", "users", "bot", "system", "systems", "apps", "application",
    "applications", "tooling", "tools", "monitoring", "observability", "reliability", "frontend", "backend", "identity",
    "access", "management", "architecture", "labs", "lab", "center", "centre", "foundation", "program", "project",
    "north", "south", "east", "west", "emea", "apac", "americas", "europe", "prod", "production", "staging", "dev",
    "development", "test", "sandbox", "terraform", "aws", "amazon", "google", "microsoft", "github", "gitlab",
})
_NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_'’\-]*(?:['’\-][^\W\d_]+)*\.?$")


def _is_name_word(word: str) -> bool:
    return bool(_NAME_WORD.match(word)) and word[0].isupper() and not word.isupper() and word.rstrip(".").lower() not in ORGANISATION_WORDS


def looks_like_person_name(value: str) -> bool:
    """True for "Jane Doe", "Doe, Jane", "Dr. Emily Carter", "Anna-Lena Schmidt"; False for team names and single words."""
    stripped = value.strip()
    if "," in stripped:
        parts = [part.strip() for part in stripped.split(",")]
        if len(parts) != 2:
            return False
        stripped = f"{parts[1]} {parts[0]}"
    words = stripped.split()
    while words and words[0].rstrip(".").lower() in _TITLES:
        words = words[1:]
    names = [word for word in words if word.lower() not in _PARTICLES]
    if not 2 <= len(names) <= 4 or len(words) > 5:
        return False
    return all(_is_name_word(word) for word in names)


def find_person_names(text: str, name_words: frozenset[str]) -> list[Span]:
    if not name_words & CONTACT_NAME_WORDS or len(text) > 80:
        return []
    # "Jane Doe, 0151 23456789" and "Jane Doe <jane@...>": the name is what comes before the number or address
    head = re.split(r"[,;(<|]\s*(?=[+\d(<]|[^,;(<|]*@)", text, maxsplit=1)[0]
    stripped = head.strip()
    if stripped and looks_like_person_name(stripped):
        start = text.index(stripped)
        return [(start, start + len(stripped), "person_name")]
    return []


# --------------------------------------------------------------------------
# secrets
# --------------------------------------------------------------------------

_AWS_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
#: Words that, in the key or just before the value, say a 40-character string is an AWS secret key.
_AWS_SECRET_CONTEXT = frozenset({"aws", "secret", "secretkey", "secretaccesskey", "key", "keys", "access", "accesskey",
                                 "credential", "credentials", "creds", "iam"})
_AWS_KEY_ID_IN_TEXT = re.compile(r"(?:AKIA|ASIA)[A-Z2-7]{16}")


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``."""
    if not text:
        return 0.0
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def find_aws_secret_keys(text: str, name_words: frozenset[str]) -> list[Span]:
    """40 random base64 characters *with context*: a key or nearby words saying AWS/secret/key, or a key id beside it.

    Without context a 40-character base64 string is as often a digest, an object key
    or an opaque id; the access key id (found by detect-secrets) needs no context.
    """
    spans = []
    for match in _AWS_SECRET_KEY.finditer(text):
        candidate = match.group(1)
        # A secret key is 40 random base64 characters: upper, lower and digits
        # all present, high entropy. Hex digests (lowercase) and paths fail this.
        if not (
            any(c.isupper() for c in candidate)
            and any(c.islower() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and candidate.count("/") < 6
            and shannon_entropy(candidate) >= 4.2
        ):
            continue
        nearby = frozenset(_name_words_of(text[max(0, match.start() - 40):match.start()]))
        if (name_words | nearby) & _AWS_SECRET_CONTEXT or _AWS_KEY_ID_IN_TEXT.search(text):
            spans.append((match.start(1), match.end(1), "aws_secret_access_key"))
    return spans


def _name_words_of(text: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if word]


# PEM armour detect-secrets' private-key plugin does not list (encrypted PKCS#8, PuTTY v3 files).
_PRIVATE_KEY = re.compile(r"-----BEGIN ENCRYPTED PRIVATE KEY-----|PuTTY-User-Key-File-3")


def find_private_keys_and_tokens(text: str, name_words: frozenset[str]) -> list[Span]:
    return _finditer(_PRIVATE_KEY, text, "private_key") + find_vendor_tokens(text, name_words)


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
    r"(password|passwd|pwd|pw|passphrase|secret|client[_\-]?secret|api[_\-]?key|apikey|access[_\-]?token|auth[_\-]?token|"
    r"token|accountkey|sharedaccesskey|secret[_\-]?access[_\-]?key)"
    r"[\"']?\s*[:=]\s*[\"']?(\$\{[^{}\s]{1,80}\}|[^\s;,&\"'}]{3,})"
)
# Environment files, shell profiles and ~/.aws/credentials: NAME=value, export NAME="value",
# name = value, name: value, where NAME is named like a credential (DB_PASSWORD, X_TOKEN,
# aws_secret_access_key). Which names count is decided by ``credential_name`` (passed in by
# the detector, which owns the vocabulary).
_ENV_ASSIGNMENT = re.compile(
    r"(?<![A-Za-z0-9_\-.$])(?:export\s+|set\s+)?([A-Za-z][A-Za-z0-9_.\-]{0,63}(?:\s[A-Za-z][A-Za-z0-9_]{0,31})?)[\"']?"
    r"\s*(?::=|=|:)\s*[\"']?(\$\{[^{}\s]{1,80}\}|[^\s\"';,&}]{3,})"
)

CredentialName = Callable[[str], bool]


def find_credential_assignments(text: str, name_words: frozenset[str], credential_name: CredentialName | None = None) -> list[Span]:
    spans = [
        (m.start(2), m.end(2), "credential_assignment")
        for m in _ASSIGNMENT.finditer(text)
        if looks_like_a_credential_value(m.group(2)) and not _starts_prose(text, m)
    ]
    if credential_name is not None and ("=" in text or ":" in text):
        for match in _ENV_ASSIGNMENT.finditer(text):
            name, value = match.group(1), match.group(2)
            # "db password: x" names the credential with its last words
            if (credential_name(name) or credential_name(name.split()[-1])) and looks_like_a_credential_value(value) \
                    and not _starts_prose(text, match):
                spans.append((match.start(2), match.end(2), "credential_assignment"))
    return spans


def _starts_prose(text: str, match: re.Match[str]) -> bool:
    # "token: stored in secrets manager" -- a plain word followed by more words is a sentence, not a value
    return match.group(2).isalpha() and text[match.end(2):match.end(2) + 2][:1] == " " and text[match.end(2) + 1:match.end(2) + 2].isalpha()


def looks_like_a_credential_value(value: str) -> bool:
    """False for placeholders, references, prose words and descriptive labels; True for anything that may be a secret."""
    stripped = value.strip().strip("\"'")
    if not stripped or is_placeholder(stripped) or is_reference(stripped) or is_descriptive(stripped):
        return False
    # "token: see vault" is prose; a credential has more than a short word.
    return not (stripped.isalpha() and len(stripped) <= 4)


_DESCRIPTIVE_SEPARATORS = re.compile(r"[\s\-_./:]+")
#: Words of the infrastructure vocabulary that labels are made of. A label has at least one
#: ("aws-sso-readonly", "rotated-2024-01", "ci-pipeline-42"); a passphrase is made of
#: ordinary words ("blue-elephant-42", "correct horse battery staple") and is a secret.
DESCRIPTIVE_WORDS = frozenset({
    # a credential's life
    "rotated", "rotation", "rotate", "rotates", "rotating", "expires", "expiry", "expired", "expiring", "created", "issued",
    "renewed", "updated", "revoked", "disabled", "enabled", "managed", "since", "until", "valid", "generated", "legacy",
    "deprecated", "quarterly", "monthly", "yearly", "annual", "weekly", "daily", "temporary", "temp", "permanent",
    # where it lives or who holds it
    "vault", "secrets", "secretsmanager", "manager", "ssm", "parameter", "store", "kms", "encrypted", "hsm", "keychain",
    "aws", "sso", "iam", "oidc", "saml", "okta", "ldap", "ad", "azure", "gcp", "terraform", "cloudformation", "cdk", "ansible",
    "github", "gitlab", "actions", "jenkins", "circleci", "argo", "ci", "cd", "pipeline", "build", "deploy", "deployer",
    "workspace", "cloud", "account", "user", "role", "service", "svc", "bot", "app", "team", "platform", "owner", "owned",
    "by", "env", "stage", "prod", "production", "staging", "dev", "test", "qa", "sandbox",
    # what it allows
    "readonly", "read", "write", "only", "admin", "break", "glass", "emergency", "bind", "access", "scoped", "none",
    # prose around a pointer
    "see", "in", "at", "the", "ask", "path", "stored", "from", "via", "use", "per", "version", "rev", "gen",
})


def is_descriptive(value: str) -> bool:
    """True for labels that describe a credential (``aws-sso-readonly``, ``rotated-2024-01``, ``ci-pipeline-42``).

    A label is two or more plain tokens (lower case, Capitalised or a short acronym,
    and numbers of at most four digits), at least one of them a word of the
    infrastructure vocabulary (``DESCRIPTIVE_WORDS``). A password mixes cases,
    digits and symbols inside one token (``Winter2024!x``); a passphrase is made of
    ordinary words (``blue-elephant-42``).
    """
    tokens = [token for token in _DESCRIPTIVE_SEPARATORS.split(value.strip()) if token]
    if len(tokens) < 2:
        return False
    words = []
    for token in tokens:
        if token.isdigit():
            if len(token) > 4:
                return False
            continue
        if not token.isalpha() or len(token) > 20:
            return False
        if not (token.islower() or token.istitle() or (token.isupper() and len(token) <= 5)):
            return False
        words.append(token.lower())
    return any(word in DESCRIPTIVE_WORDS for word in words)


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
        # authentication schemes, the usual values of an "Auth" key
        "basic", "bearer", "digest", "oauth", "oauth2", "mtls", "tls", "kerberos", "ntlm", "apikey", "api-key", "jwt",
        "sigv4", "hmac", "anonymous", "public", "private",
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


def all_recognisers(credential_name: CredentialName | None = None) -> tuple[Recogniser, ...]:
    """Every value recogniser, most specific first (earlier spans win overlaps).

    ``credential_name`` says which ``NAME`` in ``NAME=value`` names a credential
    (the detector passes its own vocabulary); without it only the fixed
    ``password=``/``token:`` forms are recognised.
    """
    return (
        find_private_keys_and_tokens,
        find_aws_secret_keys,
        find_url_credentials,
        functools.partial(find_credential_assignments, credential_name=credential_name),
        find_email_addresses,
        find_ibans,
        find_card_numbers,
        find_us_ssns,
        find_phone_numbers,
        find_person_names,
    )
