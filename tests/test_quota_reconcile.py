"""``supportai quota reconcile``: recorded spend against the usage ledger, on both engines.

Drift is made by hand (a counter edited behind the ledger's back, as a restored Redis
or an operator would): the command reports it with both figures, exits 1, and with
``--fix`` sets the counter to the ledger, after which it reports nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
import test_overspend_burst as bursts

from supportai.caller import Caller
from supportai.quota.base import buckets_for
from supportai.quota.reconcile import reconcile
from supportai.settings import Settings
from supportai.testing import ScriptedBackend, as_user, backend_plugin

USER = as_user("t1", "u1")


async def spend(supportai_app: Any, supportai_client: Any, settings: Settings, **extra: Any) -> Any:
    backend = ScriptedBackend([ScriptedBackend.answer("Done.", usage=(30, 20))])
    app = supportai_app(
        settings.model_copy(update={"llm_backend": "scripted", **extra}),
        plugins=[backend_plugin(backend)],
        load_entry_points="plugins" in extra,
    )
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=USER)).json()["conversation_id"]
    for _ in range(2):
        r = await client.post(
            f"/conversations/{cid}/messages", json={"content": "hi"}, headers=USER
        )
        assert r.status_code == 200, r.text
    return app


async def check_reconcile(runtime: Any) -> None:
    report = await reconcile(runtime, fix=False)
    assert report["drift"] == []
    now = time.time()
    user_bucket = next(
        b
        for b in buckets_for(Caller("t1", "u1"), runtime.quota.policy, now)
        if b.kind == "user_cost"
    )
    status = await runtime.quota.status(Caller("t1", "u1"), now)
    ledger = next(b.used for b in status.buckets if b.kind == "user_cost")
    await runtime.quota.correct_used(user_bucket, ledger + 123)  # drift behind the ledger

    report = await reconcile(runtime, fix=False)
    assert report["drift"] == [
        {
            "bucket": "user_cost",
            "tenant_id": "t1",
            "user_id": "u1",
            "store_used": ledger + 123,
            "ledger": ledger,
        }
    ]
    report = await reconcile(runtime, fix=True)
    assert report["fixed"] is True
    assert (await reconcile(runtime, fix=False))["drift"] == []
    status = await runtime.quota.status(Caller("t1", "u1"), time.time())
    assert next(b.used for b in status.buckets if b.kind == "user_cost") == ledger


async def test_reconcile_reports_and_fixes_drift_sql(
    supportai_app: Any, supportai_client: Any, supportai_settings: Settings
) -> None:
    app = await spend(supportai_app, supportai_client, supportai_settings)
    await check_reconcile(app.state.supportai)


@pytest.mark.redis
async def test_reconcile_reports_and_fixes_drift_redis(
    supportai_app: Any, supportai_client: Any, supportai_settings: Settings, engine: str
) -> None:
    if engine != "sqlite":
        pytest.skip("the Redis store does not depend on the database engine")
    pytest.importorskip("supportai_redis")
    await bursts.redis_or_skip()
    prefix = f"reconcile-{os.getpid()}-{time.monotonic_ns()}:"
    try:
        app = await spend(
            supportai_app,
            supportai_client,
            supportai_settings,
            plugins=["redis"],
            quota_store="redis",
            plugin_options={"redis": {"url": bursts.REDIS_URL, "key_prefix": prefix}},
        )
        await check_reconcile(app.state.supportai)
    finally:
        await bursts.drop_redis_prefix(prefix)


async def test_the_command_exits_1_on_drift_and_0_once_fixed(
    supportai_app: Any, supportai_client: Any, supportai_settings: Settings, engine: str
) -> None:
    if engine != "sqlite":
        pytest.skip("the command's own code is engine-independent; once is enough")
    app = await spend(supportai_app, supportai_client, supportai_settings)
    runtime = app.state.supportai
    now = time.time()
    bucket = next(
        b
        for b in buckets_for(Caller("t1", "u1"), runtime.quota.policy, now)
        if b.kind == "user_cost"
    )
    await runtime.quota.correct_used(bucket, 7)
    env = {
        **os.environ,
        "SUPPORTAI_DATABASE_URL": supportai_settings.database_url,
        "SUPPORTAI_PLUGINS": "[]",
    }

    def run(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "supportai.cli", "quota", "reconcile", "--json", *flags],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    found = run()
    assert found.returncode == 1, found.stderr
    drift = json.loads(found.stdout)["drift"]
    assert [(d["bucket"], d["store_used"]) for d in drift] == [("user_cost", 7)]
    assert run("--fix").returncode == 0
    clean = run()
    assert clean.returncode == 0 and json.loads(clean.stdout)["drift"] == []
