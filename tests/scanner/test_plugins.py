"""Plugin loading: entry points (built-ins use the same group as third parties), --plugin, blocking, listing."""
import json

import pytest

from scanner.cli import main
from scanner.errors import UsageError
from scanner.plugins import build_plugin_manager, collect_checks, describe_plugins

BUILTIN_CHECK_PLUGINS = {"devopsguru", "kms", "cloudtrail", "sensitive_data", "iam"}
BUILTIN_REPORT_PLUGINS = {"json", "html", "sarif", "asff", "csv", "markdown"}


def test_builtins_come_from_the_orgscan_entry_point_group():
    manager = build_plugin_manager()
    described = {p["name"]: p for p in describe_plugins(manager)}
    assert BUILTIN_CHECK_PLUGINS | BUILTIN_REPORT_PLUGINS <= set(described)
    assert all(described[name]["distribution"] == "orgscan" for name in BUILTIN_CHECK_PLUGINS)
    assert "orgscan_register_checks" in described["iam"]["hooks"]
    assert "orgscan_register_report_formats" in described["html"]["hooks"]


def test_each_manager_is_fresh():
    first = build_plugin_manager(["tests.plugins.fake_plugin"])
    second = build_plugin_manager()
    assert first is not second
    assert "tests.plugins.fake_plugin" not in {name for name, _ in second.list_name_plugin()}


def test_disable_plugin_blocks_a_builtin():
    checks = collect_checks(build_plugin_manager(disabled=["iam"]), {})
    assert "iam_root_mfa_enabled" not in checks
    assert "iam_root_mfa_enabled" in collect_checks(build_plugin_manager(), {})


def test_local_plugin_checks_join_the_builtins():
    checks = collect_checks(build_plugin_manager(["tests.plugins.fake_plugin"]), {})
    assert {"fake_vpc_count", "fake_account_alias_present", "iam_root_mfa_enabled"} <= set(checks)


def test_hook_without_a_spec_is_rejected():
    with pytest.raises(UsageError, match="orgscan_register_chekcs"):
        build_plugin_manager(["tests.plugins.misspelt_hook"])


def test_plugins_command_lists_distributions_and_hooks(capsys):
    assert main(["plugins", "--format", "json", "--plugin", "tests.plugins.fake_plugin"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert listed["tests.plugins.fake_plugin"]["distribution"] is None
    assert set(listed["tests.plugins.fake_plugin"]["hooks"]) == {
        "orgscan_add_options", "orgscan_register_checks", "orgscan_register_report_formats",
        "orgscan_register_frameworks", "orgscan_scan_started", "orgscan_result", "orgscan_scan_finished"}
    assert main(["plugins"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["PLUGIN", "DISTRIBUTION", "HOOKS"]


def test_checks_list_shows_every_check_with_its_metadata(capsys):
    assert main(["checks", "list", "--format", "json"]) == 0
    checks = {c["id"]: c for c in json.loads(capsys.readouterr().out)}
    assert len(checks) >= 16
    for check in checks.values():
        assert check["iam_actions"], check["id"]
        assert check["severity"] in {"critical", "high", "medium", "low", "informational"}
        assert check["scope"] in {"regional", "account"}
        assert check["remediation"]["text"] and check["rationale"] and check["title"]
    # Compliance mappings come from the framework files (checks/frameworks), not from the checks' code.
    assert {"framework": "CIS AWS Foundations Benchmark v3.0.0", "control": "1.5"} in checks["iam_root_mfa_enabled"]["compliance"]
    assert main(["checks", "list"]) == 0
    assert "devopsguru_cmk_enabled" in capsys.readouterr().out


def test_check_ids_match_their_module_and_function():
    import importlib

    for check in collect_checks(build_plugin_manager(), {}).values():
        module = importlib.import_module(check.function.__module__)
        assert module.__name__.rsplit(".", 1)[1] == check.id == check.function.__name__


def test_plugin_from_a_file_path_and_from_a_package_directory():
    by_file = collect_checks(build_plugin_manager(["tests/plugins/fake_plugin.py"]), {})
    assert {"fake_vpc_count", "fake_account_alias_present"} <= set(by_file)
    by_package = collect_checks(build_plugin_manager(["docs/examples/s3_encryption/orgscan_s3_encryption"]), {})
    assert "s3_bucket_default_encryption_kms" in by_package


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("no_such_plugin_module", "no module 'no_such_plugin_module' in the current directory"),
        ("./no_such_plugin.py", "no such file or directory:"),
        ("docs/examples", "is a directory without __init__.py"),
        # A built-in plugin's name: one line naming the plugin, never pluggy's whole registry.
        ("json", "'json' is already the name of the loaded plugin reports.json_document"),
    ],
)
def test_a_plugin_that_cannot_be_loaded_is_one_line_saying_where_orgscan_looked(capsys, spec, said):
    assert main(["plugins", "--plugin", spec]) == 2
    err = capsys.readouterr().err
    assert said in err
    assert err.count("\n") == 1 and len(err) < 400, err


PLUGIN_HEAD = """
from scanner import hookimpl
from scanner.model import CheckMetadata, Scope, Severity, Status, Finding, Remediation, check

@check(CheckMetadata(id="pluggy_legal_check", title="t", severity=Severity.LOW, service="s3", resource_type="AWS::S3::Bucket",
                     scope=Scope.ACCOUNT, rationale="r", remediation=Remediation(text="r"), iam_actions=("s3:ListAllMyBuckets",)))
def pluggy_legal_check(ctx):
    yield Finding(Status.PASS, resource_id="x")
"""


def _plugin_file(tmp_path, body: str):
    # A module name of its own per test: orgscan refuses a second, different module of the same name.
    path = tmp_path / f"plugin_{''.join(c for c in tmp_path.name if c.isalnum())}.py"
    path.write_text(PLUGIN_HEAD + body)
    return str(path)


def test_an_implementation_may_take_fewer_arguments_than_the_spec_as_pluggy_allows(tmp_path):
    plugin = _plugin_file(tmp_path, """
@hookimpl
def orgscan_register_checks():
    return [pluggy_legal_check]

seen = []

@hookimpl
def orgscan_scan_started():
    seen.append("started")
""")
    manager = build_plugin_manager([plugin])
    assert "pluggy_legal_check" in collect_checks(manager, {"anything": 1})
    from scanner.plugins import notify

    notify(manager, "orgscan_scan_started", scan={})
    assert manager.get_plugin(plugin).seen == ["started"]


@pytest.mark.parametrize("decorator", ["hookimpl(hookwrapper=True)", "hookimpl(wrapper=True)"])
def test_a_wrapper_implementation_is_refused_at_load_naming_the_plugin_and_hook(tmp_path, decorator):
    plugin = _plugin_file(tmp_path, f"""
@{decorator}
def orgscan_result(result):
    yield
""")
    with pytest.raises(UsageError, match=r"plugin '.*\.py': orgscan_result is a wrapper \(hookwrapper/wrapper=True\)"):
        build_plugin_manager([plugin])


def test_a_hook_returning_one_check_instead_of_a_list_is_refused_naming_the_plugin_and_hook(tmp_path):
    plugin = _plugin_file(tmp_path, """
@hookimpl
def orgscan_register_checks(options):
    return pluggy_legal_check
""")
    with pytest.raises(UsageError, match=r"plugin '.*\.py': orgscan_register_checks returned Check, not a list of scanner.model.Check"):
        collect_checks(build_plugin_manager([plugin]), {})
