"""``host-app`` as an evaluator runs it: a real process, a free port, the chat page over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from host_app.cli import banner, main
from host_app.config import HostConfig
from host_app.users import DEMO_USERS


def test_banner_names_the_url_and_every_demo_login() -> None:
    text = banner(HostConfig(), "http://127.0.0.1:8123")
    assert "http://127.0.0.1:8123/support/chat" in text
    assert "password: lumen-demo" in text
    for user in DEMO_USERS:
        assert user.email in text


def test_a_configuration_error_is_one_line_and_exit_code_2(
    tmp_path: Path, host_env: None, capsys: object
) -> None:
    os.environ["SUPPORTAI_LLM_BACKEND"] = "no_such_backend"
    assert main(["--data-dir", str(tmp_path), "--port", "0"]) == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert err.startswith("host-app: cannot start:") and "no_such_backend" in err


def test_host_app_command_starts_and_serves_the_chat_page(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTAI_", "HOST_APP_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "host_app", "--port", "0", "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        url = None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "is running at " in line:
                url = line.rsplit(" ", 1)[-1].strip()
        assert url, "".join(lines)
        response = httpx.get(f"{url}/support/chat", timeout=10)
        assert response.status_code == 200
        assert "Sign in to Lumen" in response.text
        assert (tmp_path / "data" / "host_app.db").exists()
        assert (tmp_path / "data" / "supportai.db").exists()
    finally:
        process.terminate()
        process.wait(timeout=20)
