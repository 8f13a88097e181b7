"""The scan's progress line on stderr."""
from __future__ import annotations

import threading
import time
from typing import Any, Iterable, Mapping

from scanner.model import Status


class Progress:
    """One self-updating line on stderr: accounts done of total, errors so far, time left."""

    def __init__(self, stream: Any, enabled: bool, accounts_total: int, targets_total: int) -> None:
        self.stream = stream
        self.enabled = enabled
        self.accounts_total = accounts_total
        self.targets_total = targets_total
        self.targets_done = 0
        self.accounts_done = 0
        self.errors = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last = 0.0

    def target_done(self, records: Iterable[Mapping[str, Any]], account_finished: bool) -> None:
        with self._lock:
            self.targets_done += 1
            self.accounts_done += int(account_finished)
            self.errors += sum(1 for r in records if r["status"] == Status.ERROR.value)
            now = time.monotonic()
            if not self.enabled or (now - self._last < 0.2 and self.targets_done < self.targets_total):
                return
            self._last = now
            elapsed = now - self.started
            left = elapsed / self.targets_done * (self.targets_total - self.targets_done) if self.targets_done else 0
            self.stream.write(
                f"\r\x1b[Korgscan: accounts {self.accounts_done}/{self.accounts_total}  "
                f"targets {self.targets_done}/{self.targets_total}  errors {self.errors}  ~{left:.0f}s left"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
