"""Settings every test of orgscan shares."""
from __future__ import annotations

from typing import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """orgscan's state directory (the spool key) in a temporary place: the suite never writes into the real home.

    Set in ``os.environ`` for the whole session, so that scans run in process and
    in child processes alike find the same key.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
        yield
