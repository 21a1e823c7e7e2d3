"""``host-app``: start Lumen on this machine and say where it is and how to sign in."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from host_app.config import HostConfig, apply_supportai_defaults
from host_app.users import DEMO_USERS, TENANTS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="host-app",
        description="Run Lumen, the example product that mounts supportai at /api/support/ai. "
        "Settings: HOST_APP_* for the host, SUPPORTAI_* for supportai and its plugins.",
    )
    parser.add_argument("--host", help="interface (default HOST_APP_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default HOST_APP_PORT or 8000; 0: any)")
    parser.add_argument(
        "--data-dir", type=Path, help="folder for the SQLite files (default ./host_app_data)"
    )
    return parser


def config_from(args: argparse.Namespace) -> HostConfig:
    config = HostConfig()
    updates = {
        key: value
        for key, value in (("host", args.host), ("port", args.port), ("data_dir", args.data_dir))
        if value is not None
    }
    return config.model_copy(update=updates) if updates else config


def banner(config: HostConfig, url: str) -> str:
    """What an evaluator needs: the URL, the logins, and what answers them."""
    password = config.demo_password.get_secret_value()
    lines = [
        "",
        f"  Lumen (the supportai example host) is running at {url}",
        f"  Open {url}/support/chat and sign in as any of (password: {password}):",
    ]
    for user in DEMO_USERS:
        role = "support admin" if user.is_admin else "user"
        lines.append(f"    {user.email:<24} {TENANTS[user.tenant_id]:<20} {role}")
    lines += [
        f"  Assistant backend: {os.environ.get('SUPPORTAI_LLM_BACKEND', '?')}"
        f"; data in {config.data_dir.resolve()}",
        "  Stop with Ctrl+C.",
        "",
    ]
    return "\n".join(lines)


async def serve(server: uvicorn.Server, config: HostConfig) -> None:
    """Run the server and print the banner once the socket is bound (``--port 0`` works)."""

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.05)
        sockets = [s for srv in server.servers for s in srv.sockets]
        host, port = sockets[0].getsockname()[:2] if sockets else (config.host, config.port)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        print(banner(config, f"http://{shown}:{port}"), flush=True)

    announcer = asyncio.create_task(announce())
    try:
        await server.serve()
    finally:
        announcer.cancel()


def main(argv: Sequence[str] | None = None) -> int:
    from host_app.app import create_host_app

    config = config_from(build_parser().parse_args(argv))
    apply_supportai_defaults(config)
    try:
        app = create_host_app(config)
    except Exception as exc:  # a start-up configuration error: say it plainly, no traceback
        print(f"host-app: cannot start: {exc}", file=sys.stderr)
        return 2
    server = uvicorn.Server(
        uvicorn.Config(app, host=config.host, port=config.port, log_level="info")
    )
    asyncio.run(serve(server, config))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
