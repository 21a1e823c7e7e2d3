"""docs/plugins.md's smallest plugin and its test, run as written in a fresh project.

The page's code blocks that start with a file-name comment (``# pyproject.toml``) are
written into an empty folder, and pytest runs the project's tests in a subprocess,
with no pytest configuration: pytest-asyncio's default strict mode, as a plugin author
who follows the page gets it. The plugin is importable through ``PYTHONPATH=src``;
its installation is what ``tests/test_new_plugin.py`` checks with the template.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r"```(?:python|toml)\n# ([\w./-]+)\n(.*?)```", re.S)


def project_files() -> dict[str, str]:
    """``{relative path: content}`` for every block that names its file."""
    return {path: body for path, body in FILE_BLOCK.findall(DOC.read_text(encoding="utf-8"))}


def test_the_page_names_a_whole_project() -> None:
    assert set(project_files()) == {
        "pyproject.toml",
        "src/supportai_acme_tools/__init__.py",
        "tests/test_acme_tools.py",
    }


def test_the_testing_example_passes_as_written_in_strict_mode(tmp_path: Path) -> None:
    project = tmp_path / "supportai-acme-tools"
    for relative, body in project_files().items():
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"# {relative}\n{body}", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTAI_")}
    env["PYTHONPATH"] = str(project / "src")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "2 passed" in output, output
    assert "mode=Mode.STRICT" in output, output  # pytest-asyncio's default, not auto
