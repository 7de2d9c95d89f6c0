"""The README's first command, as a newcomer runs it: a clean virtual environment,
``pip install .``, then ``mesopy-local --agents 2 --run "echo hello"``.

pip needs PyPI (or a configured mirror) for the dependencies; this is the one
slow test of the suite (about a minute), run once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.operators_support import ROOT

pytestmark = pytest.mark.integration


def readme_command() -> str:
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    commands = re.findall(r"```sh\n(.*?)\n```", text, re.DOTALL)
    return commands[0].strip()


@pytest.mark.timeout(600)
def test_the_readme_first_command_works_in_a_clean_venv(tmp_path: Any) -> None:
    command = readme_command()
    assert command == 'pip install . && mesopy-local --agents 2 --run "echo hello"'
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__", ".venv"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = subprocess.run(
        ["bash", "-c", command], check=False, cwd=source, env=env, capture_output=True, text=True, timeout=540
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.splitlines()[-1] == "hello"
    # The web UI's assets are package data: the installed copy (not the source tree) has them.
    shown = subprocess.run([str(venv / "bin" / "python"), "-c", "import actors.master.webui as w; "
                            "print(w.HERE); print(' '.join(w.ASSETS))"], check=True, cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60).stdout.splitlines()
    assert str(venv) in shown[0] and {"index.html", "app.js", "style.css"} <= set(shown[1].split()), shown
