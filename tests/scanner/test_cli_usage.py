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
