"""``supportai export-training`` on SQLite and PostgreSQL.

The command runs for real (``supportai.cli.main`` in a worker thread, since it
starts its own event loop) against the database the app under test wrote.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from improvement_support import (
    PII_ANSWER,
    PII_COMMENT,
    PII_QUESTION,
    chat,
    feedback,
    leaked,
    loop_app,
    rows,
)

from supportai import export
from supportai.cli import main
from supportai.store import tables
from supportai.store.database import Database
from supportai.testing import as_admin, as_user

ME = as_user("t1", "alice")
ADMIN = as_admin("t1", "root")
T = tables.training_candidates


async def _candidate(
    client: httpx.AsyncClient,
    question: str = "How do I export?",
    headers: dict[str, str] = ME,
    comment: str = "wrong",
) -> int:
    cid, _ = await chat(client, headers, question)
    response = await feedback(client, headers, cid, helpful=False, comment=comment)
    assert response.status_code == 200, response.text
    return int(response.json()["training_candidate_id"])


async def _approve(
    client: httpx.AsyncClient, candidate_id: int, admin: dict[str, str] = ADMIN, **body: Any
) -> None:
    response = await client.post(
        f"/admin/candidates/{candidate_id}/approve", json=body, headers=admin
    )
    assert response.status_code == 200, response.text


async def _cli(database_url: str, *argv: str) -> int:
    return await asyncio.to_thread(main, ["export-training", "--database-url", database_url, *argv])


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_openai_chat_export_writes_corrected_answers_and_is_idempotent(
    supportai_app: Any,
    supportai_client: Any,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = loop_app(supportai_app, "Bad answer.")
    client = supportai_client(app)
    first = await _candidate(client, "How do I export my data?")
    second = await _candidate(client, "Where is the invoice?")
    uncorrected = await _candidate(client, "Can I change my e-mail?")
    queued = await _candidate(client, "Still queued?")
    rejected = await _candidate(client, "Rejected?")
    await _approve(client, first, corrected_answer="Open Settings > Data > Export.")
    await _approve(client, second, corrected_answer="Billing > Invoices.", note="fine")
    await _approve(client, uncorrected, note="needs an answer")
    await client.post(
        f"/admin/candidates/{rejected}/reject", json={"reason": "noise"}, headers=ADMIN
    )

    out = tmp_path / "train.jsonl"
    assert (
        await _cli(
            database_url,
            "--format",
            "openai-chat",
            "--output",
            str(out),
            "--system-prompt",
            "You are Lumen's support assistant.",
        )
        == 0
    )
    assert _lines(out) == [
        {
            "messages": [
                {"role": "system", "content": "You are Lumen's support assistant."},
                {"role": "user", "content": "How do I export my data?"},
                {"role": "assistant", "content": "Open Settings > Data > Export."},
            ]
        },
        {
            "messages": [
                {"role": "system", "content": "You are Lumen's support assistant."},
                {"role": "user", "content": "Where is the invoice?"},
                {"role": "assistant", "content": "Billing > Invoices."},
            ]
        },
    ]
    err = capsys.readouterr().err
    assert "exported 2 candidate(s) as openai-chat" in err
    assert "skipped 1 without a corrected answer" in err

    statuses = {r["id"]: (r["status"], r["exported_at"] is not None) for r in await rows(app, T)}
    assert statuses == {
        first: ("exported", True),
        second: ("exported", True),
        uncorrected: ("approved", False),
        queued: ("queued", False),
        rejected: ("rejected", False),
    }
    shown = (await client.get(f"/admin/candidates/{first}", headers=ADMIN)).json()
    assert shown["status"] == "exported" and shown["exported_at"] is not None

    # a second run finds nothing new and leaves the first file alone
    before = out.read_bytes()
    assert await _cli(database_url, "--output", str(out), "--system-prompt", "") == 0
    assert out.read_bytes() == before
    assert "nothing to export" in capsys.readouterr().err
    assert {r["status"] for r in await rows(app, T) if r["id"] in (first, second)} == {"exported"}


async def test_eval_export_has_question_bad_answer_and_reviewer_note(
    supportai_app: Any,
    supportai_client: Any,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = loop_app(supportai_app, "Restart your router.")
    client = supportai_client(app)
    plain = await _candidate(client, "Why is sync slow?", comment="useless")
    corrected = await _candidate(client, "How do I add a guest?")
    await _approve(client, plain, note="The answer ignored the question")
    await _approve(client, corrected, note="wrong article", corrected_answer="People > Invite.")

    assert await _cli(database_url, "--format", "eval") == 0  # to stdout
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [
        (x["question"], x["bad_answer"], x["reviewer_note"], x["corrected_answer"]) for x in lines
    ] == [
        ("Why is sync slow?", "Restart your router.", "The answer ignored the question", None),
        ("How do I add a guest?", "Restart your router.", "wrong article", "People > Invite."),
    ]
    assert lines[0]["candidate_id"] == plain
    assert lines[0]["candidate_type"] == "negative_feedback"
    assert lines[0]["user_comment"] == "useless"
    assert lines[0]["helpful"] is False
    assert "exported 2 candidate(s) as eval to stdout" in captured.err
    assert {r["status"] for r in await rows(app, T)} == {"exported"}
    # idempotent: nothing new on stdout either
    assert await _cli(database_url, "--format", "eval") == 0
    assert capsys.readouterr().out == ""


async def test_export_contains_no_personal_data(
    supportai_app: Any, supportai_client: Any, database_url: str, tmp_path: Path
) -> None:
    app = loop_app(supportai_app, PII_ANSWER)
    client = supportai_client(app)
    candidate_id = await _candidate(client, PII_QUESTION, comment=PII_COMMENT)
    await _approve(
        client,
        candidate_id,
        note="user jane.doe@example.com, IP 203.0.113.42",
        corrected_answer="Call us, Zebulon, at +1 (415) 555-0134.",
    )
    out = tmp_path / "eval.jsonl"
    assert await _cli(database_url, "--format", "eval", "--output", str(out)) == 0
    (line,) = _lines(out)
    assert line["question"] and line["bad_answer"] and line["user_comment"]
    assert leaked(line) == []


async def test_status_exported_rewrites_without_marking_and_tenant_filter(
    supportai_app: Any, supportai_client: Any, database_url: str, tmp_path: Path
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    mine = await _candidate(client, "tenant one question")
    theirs = await _candidate(client, "tenant two question", headers=as_user("t2", "zoe"))
    await _approve(client, mine, corrected_answer="one")
    await _approve(client, theirs, as_admin("t2", "boss"), corrected_answer="two")

    only_t1 = tmp_path / "t1.jsonl"
    assert (
        await _cli(database_url, "--tenant", "t1", "-o", str(only_t1), "--system-prompt", "") == 0
    )
    assert [x["messages"][0]["content"] for x in _lines(only_t1)] == ["tenant one question"]
    status = {r["tenant_id"]: r["status"] for r in await rows(app, T)}
    assert status == {"t1": "exported", "t2": "approved"}
    marked_at = {r["id"]: r["exported_at"] for r in await rows(app, T)}

    again = tmp_path / "again.jsonl"
    assert (
        await _cli(database_url, "--status", "exported", "-o", str(again), "--system-prompt", "")
        == 0
    )
    assert again.read_bytes() == only_t1.read_bytes()
    assert {r["id"]: r["exported_at"] for r in await rows(app, T)} == marked_at


async def test_an_existing_output_is_not_replaced_without_overwrite(
    supportai_app: Any,
    supportai_client: Any,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    candidate_id = await _candidate(client)
    await _approve(client, candidate_id, corrected_answer="fixed")
    out = tmp_path / "train.jsonl"
    out.write_text("earlier export\n")
    assert await _cli(database_url, "-o", str(out)) == 2
    assert "exists" in capsys.readouterr().err
    assert out.read_text() == "earlier export\n"
    (row,) = await rows(app, T)
    assert row["status"] == "approved"  # the failed move rolled the mark back
    assert [name for name in os.listdir(tmp_path) if name.startswith(".export")] == []
    assert await _cli(database_url, "-o", str(out), "--overwrite") == 0
    assert len(_lines(out)) == 1
    (row,) = await rows(app, T)
    assert row["status"] == "exported"


async def test_a_candidate_re_reviewed_mid_export_aborts_without_marking(
    supportai_app: Any,
    supportai_client: Any,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    ids = [await _candidate(client, f"question {n}") for n in range(3)]
    for candidate_id in ids:
        await _approve(client, candidate_id, corrected_answer="answer")

    real_batch = export.candidates.export_batch
    calls = 0

    async def batch_then_reviewer_rejects(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        nonlocal calls
        calls += 1
        if calls == 2:  # the first candidate is already in the file when a reviewer rejects it
            response = await client.post(
                f"/admin/candidates/{ids[0]}/reject",
                json={"reason": "changed my mind"},
                headers=ADMIN,
            )
            assert response.status_code == 200
        return await real_batch(*args, **kwargs)

    monkeypatch.setattr(export.candidates, "export_batch", batch_then_reviewer_rejects)
    database = Database(database_url)
    await database.connect()
    try:
        lines: list[str] = []

        class Sink:
            def write(self, text: str) -> int:
                lines.append(text)
                return len(text)

            def flush(self) -> None:
                pass

        with pytest.raises(export.ExportConflict):
            await export.export_training(database, Sink(), batch_size=1)  # type: ignore[arg-type]
    finally:
        await database.disconnect()
    assert len(lines) == 3
    statuses = [r["status"] for r in await rows(app, T)]
    assert statuses == ["rejected", "approved", "approved"]


async def test_progress_bar_on_a_long_run(
    supportai_app: Any,
    supportai_client: Any,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = supportai_app()
    client = supportai_client(app)
    assert (await client.get("/admin/candidates", headers=ADMIN)).status_code == 200  # migrate
    total = 1_200
    moment = datetime.now(UTC)
    async with app.state.supportai.database.connection() as conn:
        await conn.execute_many(
            T.insert(),
            [
                {
                    "tenant_id": "t1",
                    "candidate_type": "negative_feedback",
                    "status": "approved",
                    "snapshot": {"question": f"q{n}", "answer": "bad"},
                    "corrected_answer": f"a{n}",
                    "created_at": moment,
                }
                for n in range(total)
            ],
        )
    out = tmp_path / "big.jsonl"
    started = time.perf_counter()
    assert (
        await _cli(database_url, "-o", str(out), "--progress", "always", "--system-prompt", "") == 0
    )
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err
    assert f"{total}/{total} 100%" in err
    assert "\r" in err
    assert len(_lines(out)) == total
    assert _lines(out)[-1]["messages"][0]["content"] == f"q{total - 1}"
    assert {r["status"] for r in await rows(app, T)} == {"exported"}
    print(f"exported {total} candidates in {elapsed:.2f}s")
    # never on a short run unless asked: auto only draws on a terminal for long runs
    assert await _cli(database_url, "-o", str(tmp_path / "none.jsonl")) == 0
    assert "export-training [" not in capsys.readouterr().err


async def test_unmigrated_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()  # a database file that was never migrated
    url = f"sqlite+aiosqlite:///{path}"
    assert await _cli(url, "-o", str(tmp_path / "x.jsonl")) == 2
    err = capsys.readouterr().err
    assert "supportai db upgrade" in err
    assert str(path) in err  # the advice names the database it is about


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export-training", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--status",
        "--format",
        "--output",
        "--database-url",
        "--progress",
        "openai-chat",
        "eval",
    ):
        assert option in text
    with pytest.raises(SystemExit):
        main(["export-training", "--format", "csv"])
