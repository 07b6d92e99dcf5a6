"""The code passes ruff with the project's configuration (pyproject.toml [tool.ruff]: 120 columns,
pycodestyle errors and warnings, pyflakes), as part of the suite that CI runs."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the `test` extra)")
    r = subprocess.run([ruff, "check", "--no-cache", "--output-format", "concise", "gpuxla", "tests", "bench"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
