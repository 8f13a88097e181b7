"""The decisions scanner/config.py makes: what the config file may say, how it is read, and which settings are refused.

Each refusal is a UsageError whose message is one line naming the file or option; the command
line turns it into exit 2 (tests/scanner/test_cli.py).
"""
from __future__ import annotations

import math

import pytest

from scanner.config import (
    ScanSettings,
    options_from_mapping,
    read_config,
    settings_from_plan,
    split_list,
    validate,
    validate_account_ids,
    validate_role_name,
)
from scanner.errors import UsageError


def _write(tmp_path, text, name="orgscan.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# reading the file ---------------------------------------------------------------------------------


def test_dashes_and_underscores_name_the_same_key_and_lists_take_either_form(tmp_path):
    path = _write(tmp_path, 'exclude-accounts = "111111111111, 222222222222"\nexclude_checks = ["a", " b ", ""]\n'
                            'role-name = "Audit"\ncheck_timeout = 30\nfail-on-incomplete = true\n')
    assert read_config(path, plugin_keys=set()) == {
        "exclude_accounts": ["111111111111", "222222222222"], "exclude_checks": ["a", "b"],
        "role_name": "Audit", "check_timeout": 30, "fail_on_incomplete": True,
    }


def test_the_checks_table_selects_checks_and_holds_each_checks_options(tmp_path):
    path = _write(tmp_path, '[checks]\ninclude = ["x", "y"]\nexclude = "z"\n[checks.x]\nmax-age = 3\nkeep_me = true\n')
    options = read_config(path, plugin_keys=set())
    assert options["checks"] == ["x", "y"] and options["exclude_checks"] == ["z"]
    # Option names are read as snake_case here, once; the checks' schemas validate the values later.
    assert options["check_options"] == {"x": {"max_age": 3, "keep_me": True}}


def test_plugin_options_are_kept_apart_from_the_scans_settings(tmp_path):
    path = _write(tmp_path, 'prowler-bin = "/opt/prowler"\nconcurrency = 4\n')
    options = read_config(path, plugin_keys={"prowler_bin"})
    assert options == {"concurrency": 4, "plugin_options": {"prowler_bin": "/opt/prowler"}}
    settings = ScanSettings(**options)
    # Plugins receive every setting plus their own options in one mapping.
    assert settings.options()["prowler_bin"] == "/opt/prowler" and settings.options()["concurrency"] == 4


@pytest.mark.parametrize("text, message", [
    ("concurency = 4\n", "orgscan.toml: unknown key 'concurency' (did you mean 'concurrency'?)"),
    ("config = 'other.toml'\n", "orgscan.toml: unknown key 'config'"),
    ("check_options = {}\n", "orgscan.toml: unknown key 'check_options'"),
    ("concurrency = '4'\n", "orgscan.toml: 'concurrency' must be an integer, not str"),
    ("concurrency = true\n", "orgscan.toml: 'concurrency' must be an integer, not bool"),
    ("org = 'yes'\n", "orgscan.toml: 'org' must be true or false, not str"),
    ("check-timeout = 'slow'\n", "orgscan.toml: 'check-timeout' must be a number, not str"),
    ("role-name = 3\n", "orgscan.toml: 'role-name' must be a string, not int"),
    ("regions = [1, 2]\n", "orgscan.toml: 'regions' must be a list of strings or a comma-separated string"),
    ("[checks]\ninclude = 3\n", "orgscan.toml: checks.include must be a list of check ids"),
    ("[checks]\nx = 3\n", "orgscan.toml: checks.x must be a table of options for check 'x', or include/exclude"),
])
def test_a_wrong_key_or_type_names_the_file_and_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(UsageError) as refused:
        read_config(path, plugin_keys=set())
    assert str(refused.value) == f"{tmp_path}/{message}" or str(refused.value).startswith(f"{tmp_path}/{message}")
    assert "\n" not in str(refused.value)


def test_lenient_reading_skips_what_only_plugins_know(tmp_path):
    # Read once before plugins are loaded, to find the plugins the file asks for.
    path = _write(tmp_path, 'plugin = ["acme.checks"]\nacme-level = 3\n')
    assert read_config(path, plugin_keys=set(), lenient=True) == {"plugin": ["acme.checks"]}
    with pytest.raises(UsageError, match="unknown key 'acme-level'"):
        read_config(path, plugin_keys=set())


def test_a_missing_unreadable_or_invalid_file_is_one_line(tmp_path):
    with pytest.raises(UsageError, match=r"^--config .*nowhere.toml: no such file$"):
        read_config(tmp_path / "nowhere.toml", plugin_keys=set())
    with pytest.raises(UsageError) as refused:
        read_config(_write(tmp_path, "regions = [\n"), plugin_keys=set())
    assert str(refused.value).startswith(f"{tmp_path}/orgscan.toml: invalid TOML: ") and "\n" not in str(refused.value)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe regions")
    with pytest.raises(UsageError, match="cannot read"):
        read_config(binary, plugin_keys=set())


def test_a_relative_suppression_file_is_found_next_to_the_config_file(tmp_path):
    (tmp_path / "conf").mkdir()
    path = _write(tmp_path / "conf", 'suppressions = "accepted.toml"\n')
    assert read_config(path, plugin_keys=set())["suppressions"] == str(tmp_path / "conf" / "accepted.toml")
    absolute = _write(tmp_path, 'suppressions = "/etc/orgscan/accepted.toml"\n', name="absolute.toml")
    assert read_config(absolute, plugin_keys=set())["suppressions"] == "/etc/orgscan/accepted.toml"


def test_split_list_accepts_commas_or_lists_and_drops_blanks():
    assert split_list("a, b,,c ") == ["a", "b", "c"]
    assert split_list(["a ", " ", "b"]) == ["a", "b"]


# validation shared by the command line, the file and --resume ------------------------------------------


def _valid(tmp_path, **changes):
    return ScanSettings(output_dir=str(tmp_path / "out"), **changes)


@pytest.mark.parametrize("changes, message", [
    ({"concurrency": 0}, "--concurrency must be between 1 and 1024, not 0"),
    ({"concurrency": 1025}, "--concurrency must be between 1 and 1024, not 1025"),
    ({"check_timeout": 0.0}, "--check-timeout must be a number of seconds above 0"),
    ({"check_timeout": math.nan}, "--check-timeout must be a number of seconds above 0"),
    ({"check_timeout": math.inf}, "--check-timeout must be a number of seconds above 0"),
    ({"check_timeout": 7 * 24 * 3600 + 1.0}, "at most 604800"),
    ({"role_name": "has space"}, "--role-name 'has space': not an IAM role name"),
    ({"role_name": "r" * 65}, "not an IAM role name"),
    ({"role_session_name": "x"}, "--role-session-name 'x': 2 to 64 of the characters"),
    ({"external_id": "é" * 4}, "--external-id: 2 to 1224 of the characters"),
    ({"accounts": ["12345678901"]}, "--accounts: '12345678901' is not a 12-digit AWS account id"),
    ({"exclude_accounts": ["１２３４５６７８９０１２"]}, "--exclude-accounts: "),
    ({"fail_on": "severe"}, "--fail-on must be one of critical, high, medium, low, informational, none, not 'severe'"),
    ({"executor": "ray"}, "--executor must be one of local, dask, not 'ray'"),
    ({"executor": "dask"}, "--executor dask needs --scheduler tcp://HOST:PORT"),
    ({"log_level": "verbose"}, "--log-level must be debug, info, warning, error or critical, not 'verbose'"),
    ({"fail_on_new": True}, "--fail-on-new needs --baseline or --history"),
    ({"ou": ["ou-abcd-12345678"]}, "--ou needs --org"),
])
def test_validate_refuses_each_bad_setting_in_one_line(tmp_path, changes, message):
    with pytest.raises(UsageError) as refused:
        validate(_valid(tmp_path, **changes))
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert not (tmp_path / "out").exists()  # validated, never created


def test_validate_accepts_the_defaults_and_the_edges_of_each_range(tmp_path):
    validate(_valid(tmp_path))
    validate(_valid(tmp_path, concurrency=1024, check_timeout=7 * 24 * 3600.0, role_name="a", role_session_name="ab",
                    external_id="ab", org=True, ou=["ou-abcd-12345678"], executor="dask", scheduler="tcp://h:8786",
                    log_level="DEBUG", fail_on="none", fail_on_new=True, baseline="earlier.json"))


def test_role_name_and_account_id_rules_have_one_home():
    assert validate_role_name("OrgScan+Audit=,.@-_1") == "OrgScan+Audit=,.@-_1"
    with pytest.raises(UsageError, match=r"^--member-role 'a/b': not an IAM role name"):
        validate_role_name("a/b", "--member-role")
    # A hostile value stays one short line.
    with pytest.raises(UsageError) as refused:
        validate_role_name("x\n" * 500)
    assert len(str(refused.value)) < 250
    assert validate_account_ids([" 111111111111 "], "--accounts") == ["111111111111"]
    with pytest.raises(UsageError, match="12 is not a 12-digit"):
        validate_account_ids([12], "--accounts")


# settings read back from plan.json (--resume) ---------------------------------------------------------


def test_stored_settings_round_trip_and_name_the_plan_as_their_source(tmp_path):
    original = _valid(tmp_path, org=True, regions=["eu-west-1"], check_options={"x": {"limit": 3}},
                      plugin_options={"prowler_bin": None}, config="orgscan.toml")
    restored = settings_from_plan(original.to_dict(), "out/.orgscan-spool/plan.json")
    assert restored.org and restored.regions == ["eu-west-1"] and restored.check_options == {"x": {"limit": 3}}
    # The options are read from the plan now: errors about them name the plan, not the first scan's file.
    assert restored.config == "out/.orgscan-spool/plan.json"


@pytest.mark.parametrize("change, message", [
    (lambda s: "not a dict", "plan.json: settings must be an object"),
    (lambda s: {**s, "check_options": {"x": 3}}, "plan.json: settings.check_options must map check ids to tables of options"),
    (lambda s: {**s, "plugin_options": []}, "plan.json: settings.plugin_options must be an object"),
    (lambda s: {**s, "concurrency": "32"}, "plan.json: 'concurrency' must be an integer"),
    (lambda s: {**s, "surprise": 1}, "plan.json: unknown key 'surprise'"),
    (lambda s: {**s, "concurrency": 100000}, "--concurrency must be between 1 and 1024"),
])
def test_stored_settings_get_no_more_trust_than_a_config_file(tmp_path, change, message):
    stored = change(_valid(tmp_path).to_dict())
    with pytest.raises(UsageError) as refused:
        settings_from_plan(stored, "plan.json")
    assert message in str(refused.value)


def test_options_from_mapping_reads_a_stored_plan_like_a_file():
    assert options_from_mapping({"role-name": "Audit", "regions": "a,b"}, "plan.json", set()) == {
        "role_name": "Audit", "regions": ["a", "b"]}
