"""``supportai new-plugin``: the generated distribution installs, registers and passes
its own tests, as generated.

The normal run builds and installs it offline into a folder of its own
(``pip install --no-deps --no-build-isolation --target``; hatchling is in the test
requirements) and runs its tests and ``supportai plugins`` with that folder on
``PYTHONPATH``: the real wheel, its real entry point, none of the test venv touched.
``SUPPORTAI_LONG_TESTS=1`` also does what its README says in a fresh venv: install
supportai from this checkout, ``pip install -e ".[test]"``, ``pytest``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from supportai.cli import main
from supportai.errors import ConfigurationError
from supportai.scaffold import PluginNames, generate

ROOT = Path(__file__).resolve().parent.parent
LONG = os.environ.get("SUPPORTAI_LONG_TESTS") == "1"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTAI_")}
    env.update(extra)
    return env


def _run(args: list[str], cwd: Path, timeout: float = 600, **env: str) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=timeout
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(args)}\n{output}"
    return output


def test_every_spelling_of_a_name_agrees() -> None:
    names = PluginNames.parse("Acme-Tools")
    assert names.provider == "acme_tools"
    assert names.distribution == "supportai-acme-tools"
    assert names.package == "supportai_acme_tools"
    assert names.class_name == "AcmeTools"
    assert names.env == "ACME_TOOLS"
    assert PluginNames.parse("supportai-acme") == PluginNames.parse("acme")


@pytest.mark.parametrize("bad", ["", "1acme", "acme tools", "acme--x", "acme.tools", "ä"])
def test_a_bad_name_is_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        PluginNames.parse(bad)


def test_an_existing_folder_is_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new-plugin", "acme", "--directory", str(tmp_path)]) == 0
    readme = tmp_path / "supportai-acme" / "README.md"
    readme.write_text("my notes", encoding="utf-8")
    assert main(["new-plugin", "acme", "--directory", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert readme.read_text(encoding="utf-8") == "my notes"
    assert main(["new-plugin", "acme", "--directory", str(tmp_path), "--force"]) == 0
    assert "supportai-acme" in readme.read_text(encoding="utf-8")


def test_the_generated_code_is_lint_clean(tmp_path: Path) -> None:
    pytest.importorskip("ruff", reason="ruff is installed by the lint environment")
    project = generate("acme-guard", tmp_path)
    _run([sys.executable, "-m", "ruff", "check", "."], cwd=project)
    _run([sys.executable, "-m", "ruff", "format", "--check", "."], cwd=project)


def test_the_generated_plugin_installs_registers_and_passes_its_tests(tmp_path: Path) -> None:
    project = generate("acme-guard", tmp_path)
    site = tmp_path / "site"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(project),
        ],
        cwd=tmp_path,
    )
    output = _run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=project,
        PYTHONPATH=str(site),
    )
    assert "5 passed" in output, output
    assert "mode=Mode.STRICT" in output, output
    listed = _run(
        [sys.executable, "-m", "supportai.cli", "plugins", "--json"],
        cwd=tmp_path,
        PYTHONPATH=str(site),
        SUPPORTAI_PLUGINS='["acme_guard"]',
        SUPPORTAI_ACME_GUARD_BLOCKED_TOPICS='["crypto"]',
    )
    report = json.loads(listed[listed.index("{") :])
    (row,) = [r for r in report["plugins"] if r["name"] == "acme_guard"]
    assert row["distribution"] == "supportai-acme-guard"
    assert "supportai_register_classifiers" in row["hooks"]
    assert report["settings"]["AcmeGuardSettings"] == {"blocked_topics": ["crypto"]}


@pytest.mark.skipif(not LONG, reason="a fresh venv and PyPI downloads: SUPPORTAI_LONG_TESTS=1")
def test_the_generated_plugin_works_in_a_fresh_venv_as_its_readme_says(tmp_path: Path) -> None:
    started = time.perf_counter()
    project = generate("acme-guard", tmp_path)
    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    _run([python, "-m", "pip", "install", "-q", "-e", f"{ROOT}[testing]"], cwd=project)
    _run([python, "-m", "pip", "install", "-q", "-e", ".[test]"], cwd=project)
    output = _run([python, "-m", "pytest", "-p", "no:cacheprovider"], cwd=project)
    assert "5 passed" in output, output
    print(f"fresh venv, install and tests: {time.perf_counter() - started:.0f}s")
