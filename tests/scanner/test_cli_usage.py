"""Usage errors: one line on stderr naming the subcommand, the program named once, exit code 2."""
import pytest

from scanner.cli import main


@pytest.mark.parametrize("argv, line", [
    (["--bogus"], "orgscan: error: unrecognized arguments: --bogus"),
    (["scan", "--bogus"], "orgscan: error: scan: unrecognized arguments: --bogus"),
    (["upload"], "orgscan: error: upload: name a target: securityhub, github"),
    (["upload", "github"], "orgscan: error: upload github: the following arguments are required: RESULTS_DIR, --repository, --ref"),
    (["upload", "securityhub"], "orgscan: error: upload securityhub: the following arguments are required: results"),
    (["suppressions", "import-prowler"], "orgscan: error: suppressions import-prowler: the following arguments are required: MUTELIST_YAML"),
])
def test_a_usage_error_is_one_line_that_names_the_program_once(argv, line, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == line + "\n" and captured.out == ""


def _demo_in_a_process(prelude: str, tmp_path):
    import subprocess
    import sys

    code = prelude + "\nimport sys\nfrom scanner.cli import main\nsys.exit(main(['demo', '--output-dir', sys.argv[1]]))"
    return subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True, text=True, timeout=120)


def test_demo_without_the_sim_extra_says_how_to_install_it(tmp_path):
    # moto missing, as after `pip install orgscan` without the extra.
    finished = _demo_in_a_process("import sys; sys.modules['moto'] = None", tmp_path)
    assert finished.returncode == 2
    assert finished.stderr.startswith("orgscan: error: demo: the simulated organization needs the 'sim' extra (moto")
    assert "pip install 'orgscan[sim]'" in finished.stderr and finished.stderr.count("\n") == 1


def test_demo_with_another_moto_version_is_a_usage_error_not_an_internal_one(tmp_path):
    finished = _demo_in_a_process("import moto; moto.__version__ = '0.0.1'", tmp_path)
    assert finished.returncode == 2
    assert finished.stderr.startswith("orgscan: error: demo: the simulated organization cannot run: the simulator is written against moto")
    assert finished.stderr.count("\n") == 1
