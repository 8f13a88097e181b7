"""Accepted risks (``scanner.suppressions``): the file's validation, matching by each field, expiry, unused entries,
and a real ``orgscan scan --org --suppressions`` of the simulated organization (over HTTP, real role assumption)."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from scanner.cli import main
from scanner.document import result_record
from scanner.errors import UsageError
from scanner.results_schema import validate_document
from scanner.suppressions import apply_suppressions, load_suppressions, parse_suppressions

# A fixed day: the unit tests never read the clock.
TODAY = date(2026, 11, 30)
KEY_ARN = "arn:aws:kms:us-east-1:222222222222:key/1c1c1c1c-1212-4121-8121-000000000002"


def fail(check_id="kms_key_policy_no_public_access", account_id="222222222222", region="us-east-1",
         resource_id=KEY_ARN, resource_arn=KEY_ARN, status="FAIL", **extra):
    record = result_record(
        check_id=check_id, title="t", service="kms", status=status, severity="high", account_id=account_id,
        region=region, target_region=region, resource_type="AWS::KMS::Key", resource_id=resource_id,
        resource_arn=resource_arn, message="m",
    )
    record.update(extra)
    return record


def document_of(*results):
    return {"schema_version": 1, "tool": {"name": "orgscan", "version": "0"},
            "scan": {"id": "s", "started_at": "x", "finished_at": "y", "mode": "organization", "regions": ["us-east-1"],
                     "checks": [], "accounts": []},
            "results": list(results)}


def entry(**fields):
    base = {"checks": ["*"], "justification": "accepted in RISK-1", "owner": "secops@example.com", "expires": "2027-01-31"}
    base.update(fields)
    return base


def suppress(results, *entries, today=TODAY):
    parsed = parse_suppressions({"suppression": list(entries)}, "accepted.toml", today=today)
    return apply_suppressions(document_of(*results), parsed, today)


# matching, one field at a time -------------------------------------------------------------------

@pytest.mark.parametrize("fields, result, matched", [
    ({"checks": ["kms_key_policy_*"]}, fail(), True),
    ({"checks": ["kms_key_policy_*"]}, fail(check_id="macie_enabled"), False),
    ({"checks": ["macie_enabled", "kms_key_policy_no_public_access"]}, fail(), True),
    ({"accounts": ["222222222222"]}, fail(), True),
    ({"accounts": ["333333333333"]}, fail(), False),
    ({"regions": ["us-*"]}, fail(), True),
    ({"regions": ["eu-west-1"]}, fail(), False),
    ({"regions": ["global"]}, fail(region="global"), True),
    ({"resources": ["arn:aws:kms:*:222222222222:key/*"]}, fail(), True),
    ({"resources": ["arn:aws:kms:*:333333333333:key/*"]}, fail(), False),
    # The resource id is matched as well as the ARN: results without an ARN can be named.
    ({"resources": ["macie-session"]}, fail(check_id="macie_enabled", resource_id="macie-session", resource_arn=None), True),
    ({"ous": ["ou-ab12-cd34ef56"]}, fail(ou_path=[{"id": "r-ab12", "name": "Root"}, {"id": "ou-ab12-cd34ef56", "name": "Sandbox"}]), True),
    ({"ous": ["r-ab12"]}, fail(ou_path=[{"id": "r-ab12", "name": "Root"}]), True),
    ({"ous": ["ou-ab12-cd34ef56"]}, fail(ou_path=[{"id": "ou-ab12-99999999", "name": "Prod"}]), False),
    # A result that carries no OU path matches no entry that names OUs.
    ({"ous": ["ou-ab12-cd34ef56"]}, fail(), False),
    # accounts and OUs together: the account is listed OR lies under a listed OU.
    ({"accounts": ["333333333333"], "ous": ["ou-ab12-cd34ef56"]}, fail(ou_path=[{"id": "ou-ab12-cd34ef56", "name": "S"}]), True),
    ({"accounts": ["222222222222"], "ous": ["ou-ab12-cd34ef56"]}, fail(), True),
    ({"tags": {"environment": "sand*"}}, fail(resource_tags={"environment": "sandbox", "team": "x"}), True),
    ({"tags": {"environment": "sand*", "team": "y"}}, fail(resource_tags={"environment": "sandbox", "team": "x"}), False),
    # A result without resource_tags (no built-in check records them) matches no entry that names tags.
    ({"tags": {"environment": "*"}}, fail(), False),
    # Every field given must match.
    ({"checks": ["kms_*"], "accounts": ["222222222222"], "regions": ["eu-west-1"]}, fail(), False),
])
def test_matching_by_each_field(fields, result, matched):
    document = suppress([result], entry(**fields))
    assert ("suppression" in document["results"][0]) is matched
    assert document["suppressions"]["suppressed"] == int(matched)
    assert [e["index"] for e in document["suppressions"]["unused"]] == ([] if matched else [0])
    validate_document(document)


def test_globs_are_case_sensitive_and_whole_value():
    document = suppress([fail()], entry(checks=["KMS_*"]), entry(checks=["kms"]))
    assert "suppression" not in document["results"][0]


def test_only_fails_are_suppressed_and_keep_their_status():
    results = [fail(), fail(status="PASS", resource_id="k2"), fail(status="ERROR", resource_id="k3")]
    document = suppress(results, entry(id="everything"))
    by_status = {r["status"]: r for r in document["results"]}
    assert by_status["FAIL"]["suppression"] == {
        "justification": "accepted in RISK-1", "owner": "secops@example.com", "expires": "2027-01-31",
        "entry": {"index": 0, "id": "everything"},
    }
    assert "suppression" not in by_status["PASS"] and "suppression" not in by_status["ERROR"]


def test_the_first_matching_entry_is_recorded_and_both_count_as_used():
    document = suppress([fail()], entry(id="first", owner="a@example.com"), entry(id="second", checks=["kms_*"]))
    assert document["results"][0]["suppression"]["entry"] == {"index": 0, "id": "first"}
    assert document["suppressions"]["unused"] == []


# expiry ----------------------------------------------------------------------------------------------

def test_an_entry_applies_through_its_expiry_day_and_not_after(caplog):
    on_the_day = suppress([fail()], entry(expires=TODAY.isoformat()))
    assert "suppression" in on_the_day["results"][0]
    caplog.set_level("WARNING", logger="scanner.suppressions")
    day_after = suppress([fail()], entry(id="old", expires=TODAY.isoformat()), today=TODAY + timedelta(days=1))
    assert "suppression" not in day_after["results"][0]
    assert [e["id"] for e in day_after["suppressions"]["expired"]] == ["old"]
    assert day_after["suppressions"]["unused"] == []  # expired is its own list
    assert any("suppression[0] (id 'old')" in m and "expired on 2026-11-30" in m for m in caplog.messages)


def test_the_maximum_expiry_is_configurable():
    latest = (TODAY + timedelta(days=365)).isoformat()
    parse_suppressions({"suppression": [entry(expires=latest)]}, "f.toml", today=TODAY)
    with pytest.raises(UsageError, match=r"more than 365 days away"):
        parse_suppressions({"suppression": [entry(expires=(TODAY + timedelta(days=366)).isoformat())]}, "f.toml", today=TODAY)
    with pytest.raises(UsageError, match=r"f.toml: suppression\[0\]: field 'expires': 2027-01-31 is more than 30 days away"):
        parse_suppressions({"suppression": [entry()]}, "f.toml", today=TODAY, max_days=30)


def test_reapplying_replaces_the_earlier_judgement():
    first = suppress([fail()], entry())
    parsed = parse_suppressions({"suppression": [entry(checks=["macie_*"])]}, "other.toml", today=TODAY)
    again = apply_suppressions(first, parsed, TODAY)
    assert "suppression" not in again["results"][0]
    assert again["suppressions"]["source"] == "other.toml"


# refused files: one line naming the file, the entry and the field --------------------------------------

@pytest.mark.parametrize("bad, where, message", [
    ({"checks": None}, "field 'checks'", "None is not of type 'array'"),
    ({"checks": []}, "field 'checks'", "at least one check id glob"),
    ({"checks": [""]}, "field 'checks.0'", "should be non-empty"),
    ({"accounts": ["12345"]}, "field 'accounts.0'", "12-digit account ids"),
    ({"ous": ["Sandbox"]}, "field 'ous.0'", "OU ids"),
    ({"regions": "us-east-1"}, "field 'regions'", "is not of type 'array'"),
    ({"resources": [7]}, "field 'resources.0'", "is not of type 'string'"),
    ({"tags": {"environment": 1}}, "field 'tags.environment'", "is not of type 'string'"),
    ({"tags": {}}, "field 'tags'", "at least one tag key"),
    ({"justification": "  "}, "field 'justification'", "must say why"),
    ({"owner": ""}, "field 'owner'", "must name who"),
    ({"expires": "31/01/2027"}, "field 'expires'", "YYYY-MM-DD"),
    ({"expires": "2027-02-30"}, "field 'expires'", "not a calendar date"),
    ({"expires": "2028-01-01"}, "field 'expires'", "more than 365 days away"),
    ({"id": "has space"}, "field 'id'", "1 to 128 of the characters"),
    ({"owners": "x"}, "field 'owners'", "unknown"),
])
def test_each_bad_field_is_refused_by_name(bad, where, message):
    with pytest.raises(UsageError) as raised:
        parse_suppressions({"suppression": [entry(), entry(**bad)]}, "accepted.toml", today=TODAY)
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith("accepted.toml: suppression[1]")
    assert where in text and message in text, text


@pytest.mark.parametrize("missing", ["checks", "justification", "owner", "expires"])
def test_each_required_field_is_named_when_missing(missing):
    bad = entry(id="no-" + missing)
    del bad[missing]
    with pytest.raises(UsageError, match=rf"^accepted.toml: suppression\[0\] \(id 'no-{missing}'\): field '{missing}': missing"):
        parse_suppressions({"suppression": [bad]}, "accepted.toml", today=TODAY)


def test_duplicate_ids_and_unknown_top_level_keys_are_refused():
    with pytest.raises(UsageError, match=r"suppression\[1\] \(id 'x'\): field 'id': also the id of suppression\[0\]"):
        parse_suppressions({"suppression": [entry(id="x"), entry(id="x")]}, "a.toml", today=TODAY)
    with pytest.raises(UsageError, match=r"^a.toml: unknown key 'suppressions'"):
        parse_suppressions({"suppressions": []}, "a.toml", today=TODAY)


def test_toml_dates_and_date_times(tmp_path):
    path = tmp_path / "accepted.toml"
    path.write_text('[[suppression]]\nchecks = ["*"]\njustification = "j"\nowner = "o"\nexpires = 2027-01-31\n', encoding="utf-8")
    assert load_suppressions(path, today=TODAY).entries[0].expires == date(2027, 1, 31)
    path.write_text('[[suppression]]\nchecks = ["*"]\njustification = "j"\nowner = "o"\nexpires = 2027-01-31T10:00:00Z\n',
                    encoding="utf-8")
    with pytest.raises(UsageError, match=r"field 'expires': must be a date, YYYY-MM-DD .*not a date-time"):
        load_suppressions(path, today=TODAY)
    path.write_text("[[suppression]\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"accepted.toml: invalid TOML"):
        load_suppressions(path, today=TODAY)


# the command line ------------------------------------------------------------------------------------

def test_a_bad_suppression_file_stops_the_scan_before_any_aws_call(tmp_path, capsys):
    bad = tmp_path / "accepted.toml"
    bad.write_text('[[suppression]]\nid = "k"\nchecks = ["*"]\njustification = "j"\nowner = "o"\nexpires = "soon"\n',
                   encoding="utf-8")
    # No simulated organization runs here: reaching AWS would fail with another exit code.
    code = main(["scan", "--org", "--suppressions", str(bad), "--output-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "Traceback" not in err
    assert f"{bad}: suppression[0] (id 'k'): field 'expires'" in err
    assert not (tmp_path / "out").exists()
    assert main(["scan", "--suppressions", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: no such file" in capsys.readouterr().err
    assert main(["scan", "--suppressions", str(bad), "--suppressions-max-days", "0"]) == 2
    assert "--suppressions-max-days must be a whole number of days from 1 to 3650" in capsys.readouterr().err


def test_the_config_file_names_the_suppression_file_relative_to_itself(tmp_path, capsys):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "orgscan.toml").write_text('suppressions = "accepted.toml"\nsuppressions-max-days = 30\n',
                                                    encoding="utf-8")
    (tmp_path / "conf" / "accepted.toml").write_text(
        '[[suppression]]\nchecks = ["*"]\njustification = "j"\nowner = "o"\nexpires = 2999-01-01\n', encoding="utf-8")
    assert main(["scan", "--config", str(tmp_path / "conf" / "orgscan.toml"), "--output-dir", str(tmp_path / "o")]) == 2
    assert f"{tmp_path / 'conf' / 'accepted.toml'}: suppression[0]: field 'expires': 2999-01-01 is more than 30 days away" \
        in capsys.readouterr().err


# end to end against the simulated organization ----------------------------------------------------------

CHECKS = "macie_enabled,kms_key_policy_no_public_access,cloudtrail_multi_region_logging"


def write_suppressions(path, today):
    """Accepted risks for the default scenario; dates relative to the real day, far from either bound."""
    soon, past = (today + timedelta(days=30)).isoformat(), (today - timedelta(days=30)).isoformat()
    path.write_text(f"""
[[suppression]]
id = "macie-sandbox"
checks = ["macie_*"]
accounts = ["333333333333", "444444444444"]
justification = "Sandbox accounts hold no customer data (RISK-7)"
owner = "sandbox-owners@example.com"
expires = {soon}

[[suppression]]
id = "public-test-key"
checks = ["kms_key_policy_no_public_access"]
regions = ["us-east-1"]
resources = ["arn:aws:kms:us-east-1:121212121212:key/*"]
justification = "Test key, no data encrypted under it"
owner = "kms-team@example.com"
expires = "{soon}"

[[suppression]]
id = "old-trail-exception"
checks = ["cloudtrail_*"]
justification = "Migration to the organization trail"
owner = "audit@example.com"
expires = {past}

[[suppression]]
id = "nothing-matches"
checks = ["iam_*"]
justification = "Kept for the break-glass user"
owner = "iam@example.com"
expires = {soon}
""", encoding="utf-8")


def test_a_real_organization_scan_with_suppressions(simulated_org, run_orgscan, tmp_path, caplog):
    from scanner.suppressions import today_utc

    accepted = tmp_path / "accepted.toml"
    write_suppressions(accepted, today_utc())
    caplog.set_level("WARNING", logger="scanner.suppressions")
    code, document = run_orgscan("--org", "--regions", "us-east-1,eu-west-1", "--checks", CHECKS,
                                 "--suppressions", str(accepted))
    validate_document(document)
    fails = [r for r in document["results"] if r["status"] == "FAIL"]
    suppressed = [r for r in fails if "suppression" in r]
    assert {(r["check_id"], r["account_id"]) for r in suppressed} == {
        ("macie_enabled", "333333333333"), ("macie_enabled", "444444444444"),
        ("kms_key_policy_no_public_access", "121212121212"),
    }
    assert all(r["suppression"]["entry"]["id"] in ("macie-sandbox", "public-test-key") for r in suppressed)
    # Unsuppressed FAILs remain, of the same checks elsewhere and of the expired entry's checks.
    assert any(r["check_id"] == "macie_enabled" and r["account_id"] == "222222222222" for r in fails if r not in suppressed)
    assert any(r["check_id"] == "cloudtrail_multi_region_logging" for r in fails if r not in suppressed)
    assert document["summary"]["by_status"]["FAIL"] == len(fails)  # suppressed FAILs are still FAILs
    applied = document["suppressions"]
    assert applied["suppressed"] == len(suppressed)
    assert [e["id"] for e in applied["expired"]] == ["old-trail-exception"]
    assert [e["id"] for e in applied["unused"]] == ["nothing-matches"]
    assert any("old-trail-exception" in m and "no longer applies" in m for m in caplog.messages)
    assert code == 1


def test_suppressing_every_fail_changes_the_exit_code(simulated_org, run_orgscan, tmp_path):
    from scanner.suppressions import today_utc

    accepted = tmp_path / "all.toml"
    accepted.write_text(f'[[suppression]]\nchecks = ["*"]\njustification = "all accepted"\nowner = "ciso@example.com"\n'
                        f'expires = {(today_utc() + timedelta(days=30)).isoformat()}\n', encoding="utf-8")
    code, document = run_orgscan("--org", "--regions", "us-east-1,eu-west-1", "--checks", CHECKS, "--suppressions", str(accepted))
    fails = [r for r in document["results"] if r["status"] == "FAIL"]
    assert fails and all("suppression" in r for r in fails)
    # The account whose role cannot be assumed still makes ERRORs: exit 3, not 1 (FAIL) nor 0.
    assert code == 3
    # `orgscan report --suppressions` judges the same results again with another file, without AWS.
    results = next(tmp_path.glob("orgscan-out-*/results.json"))
    narrower = tmp_path / "narrower.toml"
    write_suppressions(narrower, today_utc())
    assert main(["report", str(results), "--format", "json", "--suppressions", str(narrower), "--output-dir", str(tmp_path / "re")]) == 0
    again = json.loads((tmp_path / "re" / "results.json").read_text(encoding="utf-8"))
    assert again["suppressions"]["source"] == str(narrower)
    assert {r["suppression"]["entry"]["id"] for r in again["results"] if "suppression" in r} == {"macie-sandbox", "public-test-key"}
