"""The layering written down in .importlinter holds: the host below its plugins, reports never importing
checks, no import cycle inside scanner/ or between the check groups (docs/architecture.md, "Layers")."""
import re
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True)
    report = capsys.readouterr().out
    assert code == 0, report
    contracts = len(re.findall(r"^\[importlinter:contract:", (ROOT / ".importlinter").read_text(), re.MULTILINE))
    assert f"{contracts} kept, 0 broken" in report
