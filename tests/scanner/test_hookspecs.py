"""Every hook is specified, typed, documented in its docstring and in docs/plugins.md, and implemented by the fake plugin."""
import inspect
from pathlib import Path

import pluggy

from scanner import hookimpl, hookspecs
from tests.plugins import fake_plugin

ROOT = Path(__file__).resolve().parents[2]
HOOKS = [name for name, value in vars(hookspecs).items() if name.startswith("orgscan_") and callable(value)]


def test_hooks_are_named_typed_and_documented():
    assert len(HOOKS) >= 6
    for name in HOOKS:
        function = getattr(hookspecs, name)
        doc = inspect.getdoc(function)
        assert doc, name
        assert "fires" in doc.lower(), f"{name}: the docstring must say when the hook fires"
        assert ":return:" in doc, name
        signature = inspect.signature(function)
        assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values()), name
        assert signature.return_annotation is not inspect.Signature.empty, name


def test_every_hook_has_a_section_in_the_plugin_guide():
    guide = (ROOT / "docs" / "plugins.md").read_text()
    for name in HOOKS:
        assert f"### `{name}(" in guide, f"{name} is not documented in docs/plugins.md"
    documented = {line.split("`")[1].split("(")[0] for line in guide.splitlines() if line.startswith("### `orgscan_")}
    assert documented == set(HOOKS), "docs/plugins.md documents hooks that do not exist"


def test_fake_plugin_implements_every_hook():
    implemented = {name for name in dir(fake_plugin) if name.startswith("orgscan_")}
    assert implemented == set(HOOKS)


def test_public_marker_is_the_orgscan_marker():
    assert isinstance(hookimpl, pluggy.HookimplMarker)
    assert hookimpl.project_name == "orgscan"
    assert hookspecs.hookspec.project_name == "orgscan"
