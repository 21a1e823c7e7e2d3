"""docs/quickstart.md runs as written, so the page cannot drift from the code.

The page's shell blocks are found by their section: step 1 installs, step 3
configures, step 4 starts the server, step 5 calls it. The normal run executes
steps 3 to 5 against the packages installed in the test environment: the
configuration block and the calls run in ``bash`` exactly as printed (only the
port changes: the server listens on 127.0.0.1:<free port>), and the server is the
page's uvicorn command run in a thread. ``SUPPORTAI_LONG_TESTS=1`` runs all of it
in a fresh venv made from a copy of this checkout, install included, and prints
how long the whole quickstart took.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "quickstart.md"
APP_FILE = ROOT / "docs" / "examples" / "quickstart_app.py"
LONG = os.environ.get("SUPPORTAI_LONG_TESTS") == "1"
PAGE_PORT = "8000"


def section(number: int) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"^## {number}\. .*?(?=^## |\Z)", text, re.S | re.M)
    assert match, f"the quickstart lost its step {number}"
    return match.group(0)


def block(number: int, language: str = "sh") -> str:
    match = re.search(rf"```{language}\n(.*?)```", section(number), re.S)
    assert match, f"step {number} has no {language} block"
    return match.group(1)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTAI_")}


def run_bash(script: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result.stdout


def configured_env(cwd: Path) -> dict[str, str]:
    """The environment after step 3's exports, as bash sets it."""
    out = run_bash(block(3) + "\nenv -0", cwd, clean_env())
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def run_command() -> list[str]:
    words = shlex.split(block(4))
    assert words[0] == "uvicorn" and words[words.index("--port") + 1] == PAGE_PORT, words
    return words


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def calls_on(port: int) -> str:
    script = block(5)
    assert f"127.0.0.1:{PAGE_PORT}" in script
    return script.replace(f"127.0.0.1:{PAGE_PORT}", f"127.0.0.1:{port}")


def check_the_answer(output: str) -> None:
    """What step 5 promises: the disclosure, then a streamed, cited answer."""
    assert '"text":' in output and '"accepted":true' in output, output
    events = re.findall(r"^event: (\S+)$", output, re.M)
    assert events[0] == "turn.started" and events[-1] == "turn.completed", events
    assert "delta" in events and "citation" in events, events
    assert '"source_id":"invoices"' in output.replace(" ", ""), output
    assert "Download" in output, output


# -- the page itself -------------------------------------------------------------------------


def test_the_page_shows_the_app_file_verbatim() -> None:
    assert block(2, "python") == APP_FILE.read_text(encoding="utf-8")


def test_the_install_step_names_real_distributions_and_extras() -> None:
    install = block(1)
    assert "not published on PyPI yet" in section(1)
    words = shlex.split(install.split("pip install", 1)[1].split("\n", 1)[0])
    targets = [words[i + 1] for i, word in enumerate(words) if word == "-e"]
    assert targets, install
    for target in targets:
        path, _, extras = target.partition("[")
        pyproject = ROOT / path / "pyproject.toml"
        assert pyproject.is_file(), target
        declared = tomllib.loads(pyproject.read_text())["project"].get("optional-dependencies", {})
        for extra in filter(None, extras.rstrip("]").split(",")):
            assert extra in declared, (target, extra)


# -- steps 3 to 5 against the installed packages ----------------------------------------------


@contextmanager
def page_server(cwd: Path, env: dict[str, str]) -> Iterator[int]:
    """Step 4's uvicorn command, served in a thread on a free port."""
    import uvicorn

    words = run_command()
    app_dir = words[words.index("--app-dir") + 1]
    target = next(w for w in words[1:] if ":" in w and not w.startswith("-"))
    module = target.split(":")[0]
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.path.insert(0, str(cwd / app_dir))  # what uvicorn's --app-dir does
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(target, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    try:
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        sys.modules.pop(module, None)
        sys.path.remove(str(cwd / app_dir))
        os.environ.clear()
        os.environ.update(saved)


def test_steps_three_to_five_run_as_written(tmp_path: Path) -> None:
    folder = tmp_path / "checkout"
    folder.mkdir()
    (folder / "docs").symlink_to(ROOT / "docs")  # the relative paths of the page
    here = Path.cwd()
    env = configured_env(folder)
    try:
        with page_server(folder, env) as port:
            output = run_bash(calls_on(port), folder, clean_env())
            check_the_answer(output)
            api = f"http://127.0.0.1:{port}/api/support/ai"
            cid = re.search(r'"conversation_id":\s*(\d+)', output)
            assert cid, output
            # The page's two "try it" claims: no header is a 401, another tenant a 404.
            turn = f"{api}/conversations/{cid.group(1)}/messages"
            body = {"content": "Where do I download my invoices?"}
            assert httpx.post(turn, json=body).status_code == 401
            conversation = f"{api}/conversations/{cid.group(1)}"
            other = httpx.get(conversation, headers={"X-Demo-User": "globex:bob"})
            assert other.status_code == 404, other.text
    finally:
        os.chdir(here)
    assert (folder / "quickstart.db").exists()


# -- all of it in a fresh venv ---------------------------------------------------------------


def copy_checkout(target: Path) -> None:
    """The files git knows (committed or not, minus the ignored): a fresh checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.mark.skipif(not LONG, reason="a fresh venv and PyPI downloads: SUPPORTAI_LONG_TESTS=1")
def test_the_whole_quickstart_in_a_fresh_venv(tmp_path: Path) -> None:
    checkout = tmp_path / "supportai"
    copy_checkout(checkout)
    env = clean_env()
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    started = time.perf_counter()
    run_bash(block(1), checkout, env, timeout=900)
    installed = time.perf_counter()
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    words = run_command()
    words[words.index("--port") + 1] = str(port)
    serve = f". .venv/bin/activate\n{block(3)}\nexec {shlex.join(words)}"
    server = subprocess.Popen(["bash", "-c", serve], cwd=checkout, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/support/ai/quota", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "the quickstart's server exited"
                assert time.monotonic() < deadline, "the quickstart's server did not start"
                time.sleep(0.2)
        check_the_answer(run_bash(calls_on(port), checkout, env))
    finally:
        server.terminate()
        server.wait(timeout=15)
    done = time.perf_counter()
    print(
        f"\nquickstart in a fresh venv: install {installed - started:.0f}s, "
        f"start and first answer {done - installed:.1f}s, total {done - started:.0f}s"
    )
