"""Every docs/*.md page that the code or the docs point to exists."""

from __future__ import annotations

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE = re.compile(r"\bdocs/([A-Za-z0-9_.-]+\.md)\b")
SKIP = {".git", "tests", "mesopy.egg-info", "__pycache__"}


def _sources() -> list[str]:
    found: list[str] = []
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP and not d.startswith(".")]
        found.extend(os.path.join(top, f) for f in files if f.endswith((".py", ".md", ".cfg")) or "/bin" in top)
    return found


def test_every_docs_page_referred_to_exists() -> None:
    missing: list[str] = []
    for path in _sources():
        with open(path, errors="replace") as f:
            for number, line in enumerate(f, 1):
                for page in REFERENCE.findall(line):
                    if not os.path.exists(os.path.join(ROOT, "docs", page)):
                        missing.append(f"{os.path.relpath(path, ROOT)}:{number}: docs/{page}")
    assert not missing, missing
