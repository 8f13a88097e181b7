"""Issue 15, finding 5: sensitive values written into key policies never reach results.json or a report unmasked.

A statement ``Sid`` holding a GitHub token and condition values holding an
email address and ``password=...`` are copied into messages and evidence by
the key-policy checks (the statement is public, so it is reported). A full
``orgscan scan --org`` with every report format must mask them everywhere.
"""
from __future__ import annotations

from pathlib import Path

from kms_scenarios import MEMBER, REGION, key, key_arn, organization, policy

# A real-shaped GitHub personal access token (ghp_ + 36 base62 characters), not a real credential.
GITHUB_TOKEN = "ghp_" + "R8vYq2LmX5nB7tK1wZ3pD9sF4gH6jC0aE2uQ"
EMAIL = "jane.doe@example.com"
PASSWORD = "Tr0ub4dor-and-3-horses"
PLANTED = (GITHUB_TOKEN, EMAIL, PASSWORD)
FORMATS = "html,sarif,asff,csv,markdown"

LEAKY_STATEMENT = {
    "Sid": f"token={GITHUB_TOKEN}",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "kms:Decrypt",
    "Resource": "*",
    "Condition": {"StringEquals": {"aws:PrincipalTag/owner": [EMAIL, f"password={PASSWORD}"]}, "Bool": {"aws:SecureTransport": "true"}},
}
# A role name in a condition becomes a caller the checks ask about ("role <name> of an unrelated account").
ROLE_NAMED_AFTER_A_SECRET = {
    "Sid": "AnyAccountsDeployRole",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "kms:PutKeyPolicy",
    "Resource": "*",
    "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::*:role/token={GITHUB_TOKEN}"}},
}
# The same values in a policy that cannot be parsed: the ERROR message names the statement, masked.
BROKEN_STATEMENT = {"Sid": f"token={GITHUB_TOKEN}", "Effect": f"password={PASSWORD}", "Principal": "*", "Action": "kms:*"}


def test_policy_values_are_masked_in_every_output(make_org, run_orgscan, tmp_path, capfd):
    broken = key(2)
    broken["policy"] = {"Version": "2012-10-17", "Statement": [BROKEN_STATEMENT]}
    make_org(organization([key(1, policy(LEAKY_STATEMENT)), broken, key(3, policy(ROLE_NAMED_AFTER_A_SECRET))]))
    code, document = run_orgscan(
        "--org", "--regions", REGION, "--accounts", MEMBER, "--checks",
        "kms_key_policy_no_public_access,kms_key_policy_admin_restricted", "--format", FORMATS, "--quiet",
    )
    assert document is not None, f"scan wrote no results.json (exit {code})"
    public = [r for r in document["results"] if r["check_id"] == "kms_key_policy_no_public_access" and r["resource_arn"] == key_arn(1)]
    assert [r["status"] for r in public] == ["FAIL"], public
    assert "Sid 'token=" in public[0]["message"]
    role_key = [r for r in document["results"] if r["resource_arn"] == key_arn(3)]
    assert sorted(r["status"] for r in role_key) == ["FAIL", "FAIL"]  # public, and administered from outside
    assert any("role token=" in r["message"] for r in role_key)
    errors = [r for r in document["results"] if r["resource_arn"] == key_arn(2)]
    assert errors and all(r["status"] == "ERROR" and "statement #0 (Sid 'token=" in r["message"] for r in errors)

    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {".json", ".html", ".sarif", ".csv", ".md"} <= {path.suffix for path in written}
    captured = capfd.readouterr()
    texts = {str(path): path.read_bytes().decode("utf-8", errors="replace") for path in written}
    texts["<stdout>"], texts["<stderr>"] = captured.out, captured.err
    for where, text in texts.items():
        for value in PLANTED:
            for form in {value, value.replace("@", "\\u0040"), value.replace("@", "&#64;")}:
                assert form not in text, f"{Path(where).name} holds planted value {value[:4]}..."
