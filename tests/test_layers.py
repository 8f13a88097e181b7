"""The layering written down in .importlinter holds: the host below its plugins, reports never importing
checks, no import cycle inside scanner/ or between the check groups (docs/architecture.md, "Layers")."""
import logging
import re
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    # import-linter configures logging with dictConfig, which disables every logger that exists already:
    # the tests that run after this one would capture nothing from orgscan's loggers.
    loggers = [logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    disabled = {logger: logger.disabled for logger in loggers}
    try:
        code = lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True)
    finally:
        for logger, was_disabled in disabled.items():
            logger.disabled = was_disabled
    report = capsys.readouterr().out
    assert code == 0, report
    contracts = len(re.findall(r"^\[importlinter:contract:", (ROOT / ".importlinter").read_text(), re.MULTILINE))
    assert f"{contracts} kept, 0 broken" in report
