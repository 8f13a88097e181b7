"""The host end to end: `orgscan scan` over HTTP against the simulated organization, through real role assumption."""
import json

import pytest

FAKE = ("--plugin", "tests.plugins.fake_plugin", "--checks", "fake_vpc_count,fake_account_alias_present")
MANAGEMENT, PROD, SANDBOX, LOCKED, CLOSED, NESTED = (
    "111111111111", "222222222222", "333333333333", "444444444444", "555555555555", "666666666666",
)
HOST_SCENARIO = {
    "name": "host",
    "organization": {
        "management_account": MANAGEMENT,
        "regions": ["us-east-1", "eu-west-1"],
        "units": ["Workloads/Prod", "Sandbox"],
    },
    "accounts": [
        {"id": MANAGEMENT, "name": "management", "email": "management@example.com"},
        {"id": PROD, "name": "prod", "email": "prod@example.com", "ou": "Workloads"},
        {"id": NESTED, "name": "prod-eu", "email": "prod-eu@example.com", "ou": "Workloads/Prod"},
        {"id": SANDBOX, "name": "sandbox", "email": "sandbox@example.com", "ou": "Sandbox"},
        {"id": LOCKED, "name": "locked", "email": "locked@example.com", "ou": "Sandbox", "role_assumable": False},
        {"id": CLOSED, "name": "closed", "email": "closed@example.com", "status": "SUSPENDED"},
    ],
}


@pytest.fixture
def org(make_org):
    return make_org(HOST_SCENARIO)


def org_unit_id(sim, path):
    """The id moto gave the OU at ``path`` (e.g. "Workloads/Prod")."""
    organizations = sim.client("organizations")
    parent = organizations.list_roots()["Roots"][0]["Id"]
    for name in path.split("/"):
        units = organizations.list_organizational_units_for_parent(ParentId=parent)["OrganizationalUnits"]
        parent = next(u["Id"] for u in units if u["Name"] == name)
    return parent


def accounts_by_id(document):
    return {a["id"]: a for a in document["scan"]["accounts"]}


def test_single_account_scan_uses_the_callers_account(org, run_orgscan):
    code, document = run_orgscan(*FAKE, "--regions", "us-east-1,eu-west-1")
    assert document["scan"]["mode"] == "account"
    assert document["scan"]["organization_id"] is None
    assert {r["account_id"] for r in document["results"]} == {MANAGEMENT}
    vpc_regions = {r["region"] for r in document["results"] if r["check_id"] == "fake_vpc_count"}
    assert vpc_regions == {"us-east-1", "eu-west-1"}
    alias = [r for r in document["results"] if r["check_id"] == "fake_account_alias_present"]
    assert [(a["status"], a["region"]) for a in alias] == [("FAIL", "global")]
    assert code == 1  # a low FAIL with the default --fail-on low


def test_organization_scan_through_assumed_roles(org, run_orgscan):
    code, document = run_orgscan("--org", *FAKE, "--regions", "us-east-1,eu-west-1")
    scan = document["scan"]
    assert scan["mode"] == "organization" and scan["organization_id"].startswith("o-")
    accounts = accounts_by_id(document)
    assert {a for a, v in accounts.items() if v["status"] == "scanned"} == {MANAGEMENT, PROD, NESTED, SANDBOX}
    assert accounts[CLOSED]["status"] == "skipped" and "suspended" in accounts[CLOSED]["error"]
    assert accounts[LOCKED]["status"] == "error"
    assert "cannot assume" in accounts[LOCKED]["error"] and f"iam::{LOCKED}:role/" in accounts[LOCKED]["error"]
    # Every planned (account, region, check) has a result; the denied account's are ERROR with the reason.
    locked = [r for r in document["results"] if r["account_id"] == LOCKED]
    assert sorted((r["check_id"], r["target_region"]) for r in locked) == [
        ("fake_account_alias_present", "global"), ("fake_vpc_count", "eu-west-1"), ("fake_vpc_count", "us-east-1")]
    assert all(r["status"] == "ERROR" and "cannot assume" in r["message"] for r in locked)
    assert not [r for r in document["results"] if r["account_id"] == CLOSED]
    # Per-account isolation: every member sees its own VPCs, in its own account's ARNs.
    for account in (PROD, NESTED, SANDBOX):
        vpcs = [r for r in document["results"] if r["account_id"] == account and r["check_id"] == "fake_vpc_count"]
        assert vpcs and all(f":{account}:vpc/" in r["resource_arn"] for r in vpcs)
    assert code == 1


def test_ou_filter_is_recursive(org, run_orgscan):
    code, document = run_orgscan("--org", "--ou", org_unit_id(org, "Workloads"), *FAKE, "--regions", "us-east-1")
    assert set(accounts_by_id(document)) == {PROD, NESTED}


def test_accounts_and_exclude_accounts_narrow_the_organization(org, run_orgscan):
    _, document = run_orgscan("--org", "--accounts", f"{PROD},{SANDBOX}", "--exclude-accounts", SANDBOX, *FAKE, "--regions", "us-east-1")
    assert set(accounts_by_id(document)) == {PROD}


@pytest.mark.parametrize(
    "extra, expected",
    [
        (("--fail-on", "low"), 1),  # the alias check FAILs at low
        (("--fail-on", "medium"), 3),  # no FAIL at medium, but the locked account is ERROR
        (("--fail-on", "none", "--exclude-accounts", LOCKED), 0),
        (("--fail-on", "medium", "--exclude-accounts", LOCKED), 0),
    ],
)
def test_exit_codes(org, run_orgscan, extra, expected):
    code, _ = run_orgscan("--org", *FAKE, "--regions", "us-east-1", *extra)
    assert code == expected


@pytest.mark.parametrize(
    "args, message",
    [
        (("--checks", "no_such_check"), "unknown check id 'no_such_check'"),
        (("--regions", "us-east-9"), "unknown region 'us-east-9'"),
        (("--accounts", "12345"), "'12345' is not a 12-digit AWS account id"),
        (("--exclude-accounts", "abcdefghijkl"), "is not a 12-digit AWS account id"),
        (("--config", "/nonexistent/orgscan.toml"), "no such file"),
        (("--format", "pdf"), "unknown report format 'pdf'"),
        (("--ou", "ou-abcd-12345678"), "--ou needs --org"),
        (("--concurrency", "0"), "--concurrency must be between 1 and 1024"),
        (("--disable-plugin", "nonexistent"), "no plugin named 'nonexistent'"),
        (("--plugin", "tests.plugins.no_such_module"), "cannot import"),
        (("--plugin", "tests.plugins.misspelt_hook"), "unknown hook 'orgscan_register_chekcs'"),
        (("--org", "--ou", "ou-zzzz-99999999"), "--ou"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(org, run_orgscan, capsys, tmp_path, args, message):
    code, document = run_orgscan(*args)
    err = capsys.readouterr().err
    assert code == 2
    assert document is None
    # Validated before anything is created: no output directory, no spool left behind (issue 15, finding 8).
    assert not (tmp_path / "orgscan-out-1").exists()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("orgscan: error:"), err
    assert message in lines[0]
    assert "Traceback" not in err


def test_org_without_permission_is_a_usage_error(make_org, run_orgscan, capsys):
    from scanner.simulator import Faults

    make_org(HOST_SCENARIO, faults=Faults(deny_actions={MANAGEMENT: ["organizations:ListAccounts"]}))
    code, _ = run_orgscan("--org", *FAKE)
    err = capsys.readouterr().err
    assert code == 2 and "may not read the organization" in err and "organizations:ListAccounts" in err


def test_config_file_and_command_line_precedence(org, run_orgscan, tmp_path):
    config = tmp_path / "orgscan.toml"
    config.write_text('regions = ["eu-west-1"]\nfail-on = "none"\nplugin = ["tests.plugins.fake_plugin"]\n'
                      '[checks]\ninclude = ["fake_vpc_count"]\n')
    code, document = run_orgscan("--config", str(config))
    assert document["scan"]["regions"] == ["eu-west-1"] and code == 0
    assert {c["id"] for c in document["scan"]["checks"]} == {"fake_vpc_count"}
    code, document = run_orgscan("--config", str(config), "--regions", "us-east-1", "--fail-on", "low")
    assert document["scan"]["regions"] == ["us-east-1"]


def test_config_file_unknown_key_is_named(org, run_orgscan, tmp_path, capsys):
    config = tmp_path / "orgscan.toml"
    config.write_text("concurency = 4\n")
    code, _ = run_orgscan("--config", str(config))
    assert code == 2
    assert "unknown key 'concurency' (did you mean 'concurrency'?)" in capsys.readouterr().err


def test_every_hook_fires_for_a_plugin_loaded_with_dash_dash_plugin(org, run_orgscan, tmp_path):
    record = tmp_path / "hooks.jsonl"
    code, document = run_orgscan(*FAKE, "--regions", "us-east-1", "--fake-record", str(record), "--format", "fake")
    events = [json.loads(line) for line in record.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "register_checks" and kinds[1] == "scan_started" and kinds[-1] == "scan_finished"
    assert kinds.count("result") == len(document["results"])
    assert events[-1]["payload"]["results"] == len(document["results"])
    assert document["summary"]["total"] == len(document["results"])


def test_report_rerenders_from_results_json(org, run_orgscan, tmp_path):
    from scanner.cli import main as orgscan_cli

    code, document = run_orgscan(*FAKE, "--regions", "us-east-1")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(document))
    out = tmp_path / "rendered"
    assert orgscan_cli(["report", str(results), "--format", "fake", "--plugin", "tests.plugins.fake_plugin", "--output-dir", str(out)]) == 0
    assert (out / "fake.txt").read_text() == f"{len(document['results'])} results\n"
    assert oct((out / "fake.txt").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("formats, written", [("csv", ["report.csv"]), ("csv,json", ["results.json", "report.csv"])])
def test_report_writes_json_again_only_when_named(org, run_orgscan, tmp_path, capsys, formats, written):
    from scanner.cli import main as orgscan_cli

    code, document = run_orgscan(*FAKE, "--regions", "us-east-1")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(document))
    out = tmp_path / "rendered"
    capsys.readouterr()
    assert orgscan_cli(["report", str(results), "--format", formats, "--output-dir", str(out)]) == 0
    assert [line.rsplit("/", 1)[-1] for line in capsys.readouterr().out.splitlines()] == written
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(written)


def test_org_from_a_member_account_is_a_usage_error(org, run_orgscan, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", org.environment(PROD)["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", org.environment(PROD)["AWS_SECRET_ACCESS_KEY"])
    for name, value in org.environment(PROD).items():
        monkeypatch.setenv(name, value)
    code, _ = run_orgscan("--org", *FAKE)
    err = capsys.readouterr().err
    assert code == 2
    assert f"the caller ({PROD}) may not read the organization" in err
    assert "management account or a delegated administrator" in err


def test_resume_scans_only_what_is_missing(org, run_orgscan, tmp_path):
    """A spool that lost targets (as after a kill) is finished by --resume, scanning only those targets."""
    from scanner.cli import main
    from scanner.document import Spool

    out = tmp_path / "scan"
    assert main(["scan", "--org", *FAKE, "--regions", "us-east-1,eu-west-1", "--output-dir", str(out), "--quiet"]) == 1
    complete = json.loads((out / "results.json").read_text())
    spool = Spool(out)
    lines = spool.path.read_text().splitlines()
    # Drop the done marker of two targets of the prod account, as if the scan died before they finished.
    dropped = [line for line in lines if line.startswith('{"done"') and f'"{PROD}"' in line][:2]
    spool.path.write_text("\n".join(line for line in lines if line not in dropped) + "\n")
    assert len(spool.completed_targets()) == len({(r["account_id"], r["target_region"]) for r in complete["results"]}) - 2
    calls_before = sum(org.call_counts().values())
    assert main(["scan", "--resume", str(out), "--quiet", "--plugin", "tests.plugins.fake_plugin"]) == 1
    resumed = json.loads((out / "results.json").read_text())
    assert resumed["results"] == complete["results"]
    assert resumed["scan"]["id"] == complete["scan"]["id"]
    made = sum(org.call_counts().values()) - calls_before
    assert 0 < made <= 8, f"resume made {made} calls; it should only rescan two targets of one account"


def test_regions_all_means_the_accounts_enabled_regions(org, run_orgscan):
    regions = org.client("ec2").describe_regions(AllRegions=True)["Regions"]
    enabled = sorted(r["RegionName"] for r in regions if r["OptInStatus"] in ("opt-in-not-required", "opted-in"))
    not_opted_in = {r["RegionName"] for r in regions if r["OptInStatus"] == "not-opted-in"}
    assert not_opted_in, "the simulator should list an opt-in region that is not enabled"
    code, document = run_orgscan("--plugin", "tests.plugins.fake_plugin", "--checks", "fake_account_alias_present", "--regions", "all")
    assert document["scan"]["regions"] == enabled
    assert not not_opted_in & set(document["scan"]["regions"])
    assert all(not r.startswith(("us-gov-", "cn-")) for r in document["scan"]["regions"])


def test_regions_all_in_an_organization_reads_each_members_regions_with_its_declared_clients(org, run_orgscan):
    # Members' clients know only the declared operations; the host's ec2:DescribeRegions is one of them.
    regions = org.client("ec2").describe_regions()["Regions"]
    enabled = {r["RegionName"] for r in regions if r["OptInStatus"] in ("opt-in-not-required", "opted-in")}
    code, document = run_orgscan("--org", "--plugin", "tests.plugins.fake_plugin", "--checks", "fake_vpc_count", "--regions", "all")
    assert accounts_by_id(document)[PROD]["status"] == "scanned"
    prod_regions = {r["target_region"] for r in document["results"] if r["account_id"] == PROD}
    assert prod_regions == enabled
    assert not [r for r in document["results"] if r["account_id"] == PROD and r["status"] == "ERROR"]


def test_a_service_missing_from_a_region_is_not_applicable(org, run_orgscan):
    # DevOps Guru has no endpoint in Osaka (botocore's endpoint data, as in AWS).
    code, document = run_orgscan("--checks", "devopsguru_cmk_enabled", "--regions", "ap-northeast-3")
    [result] = document["results"]
    assert result["status"] == "NOT_APPLICABLE"
    assert result["message"] == "devops-guru is not available in ap-northeast-3"
    assert code == 0


def test_org_from_an_account_outside_any_organization_is_a_usage_error(org, run_orgscan, monkeypatch, capsys):
    standalone = org.environment(PROD)  # its role session, taken before it leaves the organization
    org.client("organizations").remove_account_from_organization(AccountId=PROD)
    for name, value in standalone.items():
        monkeypatch.setenv(name, value)
    code, document = run_orgscan("--org", *FAKE)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and document is None
    assert err == [f"orgscan: error: --org: account {PROD} is not a member of an AWS Organization"]
