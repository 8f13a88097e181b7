"""Progress on stderr: one updating line when stderr is a terminal, nothing otherwise."""
import io

from scanner.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_reports_accounts_errors_and_time_left():
    stream = Terminal()
    progress = Progress(stream, enabled=True, accounts_total=2, targets_total=2)
    progress.target_done([{"status": "ERROR"}, {"status": "PASS"}], account_finished=True)
    progress.target_done([{"status": "FAIL"}], account_finished=True)
    progress.close()
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert "accounts 2/2" in last and "targets 2/2" in last and "errors 1" in last and "left" in last


def test_progress_is_silent_when_disabled():
    stream = Terminal()
    progress = Progress(stream, enabled=False, accounts_total=1, targets_total=1)
    progress.target_done([{"status": "PASS"}], account_finished=True)
    progress.close()
    assert stream.getvalue() == ""
