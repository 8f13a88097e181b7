"""Issue 15, "fuzzing as a habit": hostile AWS answers for every built-in check never stop, blind or subvert a scan.

One test per AWS action the built-in checks read, each serving generated hostile
answers to every check that reads it (see ``hostile.py`` for what is drawn and
``harness.py`` for the invariants). ``test_every_built_in_check_is_fuzzed``
keeps the table complete when a check is added.

Wildcard storms in policies (issue 15, finding 1) and lone surrogates (finding
2) once froze or aborted a scan; both run here as regression tests.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.simulator import edit_json_answer, scenario_from_dict
from tests.fuzz import hostile
from tests.fuzz.harness import (
    ACCOUNT,
    FUZZ,
    FORMATS,
    PROFILE_NAME,
    REGION,
    SCENARIO,
    TEST_TIMEOUT,
    assert_scan_survived,
    output_directory,
    scan_with,
    sensitive_values,
)

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)

#: One Scenario object: the shared simulation still holds the fuzz account while ``simulation.scenario is FUZZ_SCENARIO``
#: (hostile answers are served by edits, never written into the simulator's state).
FUZZ_SCENARIO = scenario_from_dict(SCENARIO, source="tests/fuzz/harness.py:SCENARIO")

CLOUDTRAIL = ("cloudtrail_multi_region_logging", "cloudtrail_kms_events_logged", "cloudtrail_log_file_validation", "cloudtrail_cmk_encryption")
KEY_POLICY = ("kms_key_policy_no_public_access", "kms_key_policy_admin_restricted", "devopsguru_cmk_policy_grants_service")
DEVOPS_GURU = ("devopsguru_cmk_enabled", "devopsguru_cmk_key_usable", "devopsguru_cmk_policy_grants_service",
               "devopsguru_cmk_rotation_enabled", "devopsguru_endpoint_policy_restricted", "devopsguru_privatelink_endpoint")
DEVOPS_GURU_KEY = ("devopsguru_cmk_key_usable", "devopsguru_cmk_policy_grants_service", "devopsguru_cmk_rotation_enabled")
ENDPOINTS = ("devopsguru_endpoint_policy_restricted", "devopsguru_privatelink_endpoint")
NOTIFICATION_TOPICS = ("devopsguru_notification_topic_encrypted", "sns_topic_requires_tls")

#: (IAM action whose answers are made hostile, protocol, the checks that read it).
JSON_ACTIONS = [
    ("kms:ListKeys", ("kms_key_policy_no_public_access", "names_no_sensitive_data", "tags_no_sensitive_data")),
    ("kms:DescribeKey", ("kms_key_policy_admin_restricted", "names_no_sensitive_data", "tags_no_sensitive_data", *DEVOPS_GURU_KEY)),
    ("kms:GetKeyPolicy", KEY_POLICY),
    ("kms:GetKeyRotationStatus", ("devopsguru_cmk_rotation_enabled",)),
    ("kms:ListGrants", ("devopsguru_cmk_grant_present",)),
    ("kms:ListResourceTags", ("tags_no_sensitive_data",)),
    ("devops-guru:DescribeServiceIntegration", DEVOPS_GURU[:4]),
    ("devops-guru:GetResourceCollection", (*DEVOPS_GURU, "macie_enabled", "names_no_sensitive_data")),
    ("cloudtrail:DescribeTrails", (*CLOUDTRAIL, "names_no_sensitive_data", "tags_no_sensitive_data")),
    ("cloudtrail:GetEventSelectors", CLOUDTRAIL[:2]),
    ("cloudtrail:GetTrailStatus", CLOUDTRAIL[:2]),
    ("tag:GetResources", ("tags_no_sensitive_data",)),
    ("events:ListApiDestinations", ("urls_no_embedded_credentials",)),
    ("devops-guru:ListNotificationChannels", NOTIFICATION_TOPICS),
    ("macie2:GetMacieSession", ("macie_enabled",)),
    ("route53resolver:ListResolverRuleAssociations", ("devopsguru_privatelink_endpoint",)),
    ("route53resolver:GetResolverRule", ("devopsguru_privatelink_endpoint",)),
]
XML_ACTIONS = [
    ("iam:GetAccountSummary", ("iam_root_mfa_enabled",)),
    ("iam:ListRoles", ("names_no_sensitive_data", "tags_no_sensitive_data")),
    ("iam:ListUsers", ("names_no_sensitive_data", "tags_no_sensitive_data", "iam_user_console_mfa", "iam_user_access_keys_rotated")),
    ("sns:ListTopics", ("names_no_sensitive_data",)),
    ("sns:ListSubscriptions", ("urls_no_embedded_credentials",)),
    ("sns:GetSubscriptionAttributes", ("urls_no_embedded_credentials",)),
    ("ec2:DescribeVpcEndpoints", ENDPOINTS),
    ("ec2:DescribeVpcs", ("devopsguru_privatelink_endpoint",)),
    ("sns:GetTopicAttributes", NOTIFICATION_TOPICS),
    ("iam:GetLoginProfile", ("iam_user_console_mfa",)),
    ("iam:ListMFADevices", ("iam_user_console_mfa",)),
    ("iam:ListAccessKeys", ("iam_user_access_keys_rotated",)),
    ("iam:GetAccessKeyLastUsed", ("iam_user_access_keys_rotated",)),
    ("cloudformation:DescribeStacks", ("names_no_sensitive_data",)),
    ("route53:ListHostedZonesByVPC", ("devopsguru_privatelink_endpoint",)),
]


@pytest.fixture
def fuzz_org(_orgscan_shared_server, monkeypatch, tmp_path):
    """The fuzz account (``harness.SCENARIO``) on the shared simulator, applied again only when another test replaced it."""
    from scanner.simulator import Faults
    from scanner.simulator.registration import ACTIVE
    from scanner.testing import _apply_environment

    simulation = _orgscan_shared_server.get()
    if ACTIVE.simulation is not simulation or simulation.scenario is not FUZZ_SCENARIO:
        _orgscan_shared_server.pristine = False
        simulation.reset(FUZZ_SCENARIO, Faults())
    _apply_environment(monkeypatch, simulation, tmp_path)
    yield simulation
    simulation.faults = Faults()


def _run(simulation, edits, checks):
    with output_directory() as out:
        code = scan_with(simulation, edits, checks, out)
        assert_scan_survived(code, out, checks, sensitive_values(simulation))


#: The per-action tests give each action many examples of its own: ``tox -e fuzz``. The bounded run covers every
#: action through ``test_hostile_answers_to_many_actions_at_once`` instead.
per_action = pytest.mark.skipif(PROFILE_NAME != "long", reason="per-action depth runs under tox -e fuzz (ORGSCAN_FUZZ_PROFILE=long)")


@st.composite
def _answers_to_many_actions(draw):
    """Hostile edits for a few of the fuzzed actions at once, each with mutations of its own."""
    json_actions = draw(st.sets(st.sampled_from([a for a, _ in JSON_ACTIONS]), min_size=1, max_size=5))
    xml_actions = draw(st.sets(st.sampled_from([a for a, _ in XML_ACTIONS]), max_size=3))
    edits = {action: hostile.json_edit(draw(hostile.mutations())) for action in sorted(json_actions)}
    for action in sorted(xml_actions):
        edits[action] = hostile.xml_edit(draw(st.lists(st.tuples(st.integers(0, 10_000), hostile.hostile_text()), min_size=1, max_size=3)))
    return edits


ALL_CHECKS = tuple(sorted({check for _, checks in JSON_ACTIONS + XML_ACTIONS for check in checks}))


def test_hostile_answers_to_many_actions_at_once(fuzz_org):
    @FUZZ
    @given(edits=_answers_to_many_actions())
    def run(edits):
        _run(fuzz_org, edits, ALL_CHECKS)

    run()


@per_action
@pytest.mark.parametrize("action, checks", JSON_ACTIONS, ids=[a for a, _ in JSON_ACTIONS])
def test_hostile_json_answers(fuzz_org, action, checks):
    @FUZZ
    @given(changes=hostile.mutations())
    def run(changes):
        _run(fuzz_org, {action: hostile.json_edit(changes)}, checks)

    run()


@per_action
@pytest.mark.parametrize("action, checks", XML_ACTIONS, ids=[a for a, _ in XML_ACTIONS])
def test_hostile_xml_answers(fuzz_org, action, checks):
    @FUZZ
    @given(changes=st.lists(st.tuples(st.integers(0, 10_000), hostile.hostile_text()), min_size=1, max_size=3))
    def run(changes):
        _run(fuzz_org, {action: hostile.xml_edit(changes)}, checks)

    run()


def test_hostile_key_and_endpoint_policies(fuzz_org):
    """Huge numbers, deep nesting, wrong types and hostile text inside the policy documents themselves."""
    @FUZZ
    @given(policy=hostile.hostile_policy())
    def run(policy):
        edits = {"kms:GetKeyPolicy": hostile.policy_edit("Policy", policy),
                 "ec2:DescribeVpcEndpoints": hostile.endpoint_policy_edit(policy)}
        _run(fuzz_org, edits, (*KEY_POLICY, "devopsguru_endpoint_policy_restricted"))

    run()


def test_lone_surrogates_in_answers(fuzz_org):
    @FUZZ
    @given(name=st.tuples(hostile.hostile_text(), st.sampled_from(hostile.LONE_SURROGATES), hostile.hostile_text(surrogates=True)).map("".join),
           policy=hostile.hostile_policy(surrogates=True))
    def run(name, policy):
        def surrogate_trail_name(call, answer):
            for trail in answer.get("trailList", []):
                trail["Name"] = name
            return answer

        edits = {"cloudtrail:DescribeTrails": edit_json_answer(surrogate_trail_name), "kms:GetKeyPolicy": hostile.policy_edit("Policy", policy)}
        _run(fuzz_org, edits, (*CLOUDTRAIL, *KEY_POLICY, "names_no_sensitive_data"))

    run()


# -- wildcard storms: in a child process, since a backtracking matcher holds the GIL ------------------------------


def _scan_in_child(simulation, edits, checks: tuple[str, ...], output_dir: Path) -> int:
    """``orgscan scan`` in a child process against the simulator (which serves ``edits`` from this process)."""
    from tests.reliability.harness import scan_environment
    from scanner.simulator import Faults

    simulation.faults = Faults(answer_edits=dict(edits))
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    environment = scan_environment(simulation, output_dir.parent)
    command = [sys.executable, "-m", "scanner.cli", "scan", "--regions", REGION, "--checks", ",".join(checks),
               "--format", ",".join(FORMATS), "--output-dir", str(output_dir), "--quiet"]
    child = subprocess.Popen(command, env=environment, cwd=Path(__file__).resolve().parents[2],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        # No timeout here: pytest-timeout ends a scan that never finishes, and the finally below then kills it.
        _, stderr = child.communicate()
        assert child.returncode in (0, 1, 3), stderr.decode("utf-8", "replace")[-2000:]
        return child.returncode
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        simulation.faults = Faults()


@pytest.mark.timeout(300)
def test_wildcard_storms_in_policies(fuzz_org):
    # Each example is a scan in a child process (a matcher that held the GIL could not be stopped in this one).
    @settings(FUZZ, max_examples=3 if PROFILE_NAME == "default" else 10)
    @given(policy=hostile.hostile_policy(storms=True))
    def run(policy):
        checks = (*KEY_POLICY, "devopsguru_endpoint_policy_restricted")
        with output_directory() as out:
            edits = {"kms:GetKeyPolicy": hostile.policy_edit("Policy", policy),
                     "ec2:DescribeVpcEndpoints": hostile.endpoint_policy_edit(policy)}
            code = _scan_in_child(fuzz_org, edits, checks, out)
            assert_scan_survived(code, out, checks, sensitive_values(fuzz_org))

    run()


def test_every_built_in_check_is_fuzzed():
    from scanner.config import ScanSettings
    from scanner.plugins import build_plugin_manager, collect_checks

    built_in = set(collect_checks(build_plugin_manager([], []), ScanSettings().options()))
    fuzzed = {check for _, checks in JSON_ACTIONS + XML_ACTIONS for check in checks}
    assert built_in - fuzzed == set(), "checks no fuzz test serves hostile answers to"
    actions = {action for action, _ in JSON_ACTIONS + XML_ACTIONS}
    assert len(actions) == len(JSON_ACTIONS) + len(XML_ACTIONS)
    assert ACCOUNT == SCENARIO["accounts"][0]["id"]
