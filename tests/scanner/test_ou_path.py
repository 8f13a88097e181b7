"""Every result names its account's OU path, read once during `--org` enumeration (ListParents walked up to the root).

Expected paths follow AWS's own description of the calls, not orgscan's code:
ListParents "Lists the root or organizational units (OUs) that serve as the
immediate parent of the specified child OU or account" (in the current release
a child can have only a single parent), with ``Type`` ``ROOT`` or
``ORGANIZATIONAL_UNIT``
(https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListParents.html), and
DescribeOrganizationalUnit returns the OU's ``Name``
(https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganizationalUnit.html).
"""
import logging

import jsonschema
import pytest

from scanner.results_schema import results_schema
from scanner.simulator import Faults
from scanner.simulator.faults import edit_json_answer
from tests.scanner.test_scan import (
    CLOSED, FAKE, HOST_SCENARIO, LOCKED, MANAGEMENT, NESTED, PROD, SANDBOX, org_unit_id,
)

#: The HOST_SCENARIO's OUs, by their path in the scenario file (docs/simulator.md: ``ou = "Workloads/Prod"``).
EXPECTED_NAMES = {
    MANAGEMENT: ["Root"],
    PROD: ["Root", "Workloads"],
    NESTED: ["Root", "Workloads", "Prod"],
    SANDBOX: ["Root", "Sandbox"],
    LOCKED: ["Root", "Sandbox"],
    CLOSED: ["Root"],
}


@pytest.fixture
def org(make_org):
    return make_org(HOST_SCENARIO)


def expected_path(sim, names):
    """The path of ``names`` (root first) with the ids the simulated organization gave those OUs."""
    root = sim.client("organizations").list_roots()["Roots"][0]["Id"]
    path = [{"id": root, "name": "Root"}]
    for depth in range(1, len(names)):
        path.append({"id": org_unit_id(sim, "/".join(names[1:depth + 1])), "name": names[depth]})
    return path


def test_every_account_and_every_result_carry_the_ou_path_root_first(org, run_orgscan):
    code, document = run_orgscan("--org", *FAKE, "--regions", "us-east-1")

    assert code in (1, 3)
    jsonschema.validate(document, results_schema())
    accounts = {a["id"]: a for a in document["scan"]["accounts"]}
    for account_id, names in EXPECTED_NAMES.items():
        assert accounts[account_id]["ou_path"] == expected_path(org, names), account_id
    assert document["results"]
    for result in document["results"]:
        assert result["ou_path"] == accounts[result["account_id"]]["ou_path"], result
    # The account whose role cannot be assumed still has its ERROR results placed in its OU.
    assert {r["status"] for r in document["results"] if r["account_id"] == LOCKED} == {"ERROR"}


def test_each_ou_is_asked_about_once_however_many_accounts_it_holds(org, run_orgscan):
    org.interceptor.reset_counts()
    run_orgscan("--org", *FAKE, "--regions", "us-east-1")

    calls = org.call_counts()
    # Six accounts, plus one ListParents per OU (Workloads, Workloads/Prod, Sandbox) on the way up.
    assert calls[(MANAGEMENT, "us-east-1", "organizations:ListParents")] == 6 + 3
    assert calls[(MANAGEMENT, "us-east-1", "organizations:DescribeOrganizationalUnit")] == 3


def test_account_mode_reads_no_ou_path(org, run_orgscan):
    org.interceptor.reset_counts()
    code, document = run_orgscan(*FAKE, "--regions", "us-east-1")

    assert document["scan"]["accounts"][0]["ou_path"] is None
    assert all(r["ou_path"] is None for r in document["results"])
    assert not [key for key in org.call_counts() if key[2].startswith("organizations:")]


def test_a_denied_list_parents_for_one_account_leaves_its_path_unknown_and_the_scan_whole(make_org, run_orgscan, caplog):
    # A Deny on one account's ARN (ListParents authorizes on the child's resource ARN).
    faults = Faults(deny_requests={"organizations:ListParents": lambda call: call.params.get("ChildId") == SANDBOX})
    sim = make_org(HOST_SCENARIO, faults)
    with caplog.at_level(logging.WARNING, logger="scanner.targets"):
        code, document = run_orgscan("--org", *FAKE, "--regions", "us-east-1")

    accounts = {a["id"]: a for a in document["scan"]["accounts"]}
    assert accounts[SANDBOX]["ou_path"] is None
    assert accounts[LOCKED]["ou_path"] == expected_path(sim, EXPECTED_NAMES[LOCKED])
    assert accounts[SANDBOX]["status"] == "scanned"
    assert {r["status"] for r in document["results"] if r["account_id"] == SANDBOX} <= {"PASS", "FAIL"}
    assert all(r["ou_path"] is None for r in document["results"] if r["account_id"] == SANDBOX)
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any(SANDBOX in line and "OU path is unknown" in line and "organizations:ListParents" in line for line in warnings), warnings


def test_a_hostile_ou_name_is_recorded_safely(make_org, run_orgscan, tmp_path):
    hostile = "Prod\x00\u202e\x1b[31m</td><script>alert(1)</script>" + "x" * 500

    def rename(call, answer):
        answer["OrganizationalUnit"]["Name"] = hostile
        return answer

    make_org(HOST_SCENARIO, Faults(answer_edits={"organizations:DescribeOrganizationalUnit": edit_json_answer(rename)}))
    code, document = run_orgscan("--org", *FAKE, "--regions", "us-east-1")

    jsonschema.validate(document, results_schema())
    name = {a["id"]: a for a in document["scan"]["accounts"]}[NESTED]["ou_path"][-1]["name"]
    # Control characters replaced visibly (U+FFFD), the length bounded (128 kept, then a marker saying how much was cut).
    assert "\x00" not in name and "\x1b" not in name
    assert name.startswith("Prod\ufffd\u202e\ufffd[31m</td>") and "truncated" in name and len(name) < 160
    assert all(r["ou_path"][-1]["name"] == name for r in document["results"] if r["account_id"] == NESTED)
