"""Install Prowler into its own virtual environment for ``tox -e prowler`` (never into orgscan's).

    python tests/checks/prowler/install_prowler.py VENV_DIR

Installs the Prowler version that wrote the converter's test data (see
data/prowler-<version>-ocsf.meta.json). Does nothing when ``ORGSCAN_PROWLER_BIN``
already names a prowler executable, or when VENV_DIR already holds that version.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent


def pinned_version() -> str:
    [meta] = sorted((HERE / "data").glob("prowler-*-ocsf.meta.json"))
    return json.loads(meta.read_text(encoding="utf-8"))["prowler_version"]


def installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    probe = subprocess.run(
        [str(python), "-c", "from prowler.config.config import prowler_version; print(prowler_version)"],
        capture_output=True, text=True,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def main(venv_dir: str) -> int:
    existing = os.environ.get("ORGSCAN_PROWLER_BIN")
    if existing:
        if not os.access(existing, os.X_OK):
            print(f"ORGSCAN_PROWLER_BIN={existing}: not an executable file", file=sys.stderr)
            return 2
        print(f"using Prowler at {existing} (ORGSCAN_PROWLER_BIN)")
        return 0
    version = pinned_version()
    target = Path(venv_dir)
    python = target / "bin" / "python"
    if installed_version(python) == version:
        print(f"Prowler {version} already in {target}")
        return 0
    if sys.version_info >= (3, 13):
        # Prowler 5 supports Python 3.9 to 3.12.
        print(f"Prowler {version} needs Python 3.12 or older; run tox -e prowler with such a base python", file=sys.stderr)
        return 2
    print(f"installing Prowler {version} into {target} (about 2.3 GB, a few minutes)")
    venv.EnvBuilder(with_pip=True, clear=python.exists()).create(target)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"prowler=={version}"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
