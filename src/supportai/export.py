"""``supportai export-training``: the offline end of the improvement loop.

Reviewed training candidates become a JSONL file:

* ``--format openai-chat``: one OpenAI fine-tuning example per line,
  ``{"messages": [system?, user, assistant]}``. The assistant message is the
  reviewer's **corrected answer**: training on the answer users complained
  about would teach the model the very mistake. Approved candidates without a
  corrected answer are skipped (and stay ``approved``, so a reviewer can add
  one or they can go out as ``eval``).
* ``--format eval``: one evaluation case per line, the question, the bad
  answer and the reviewer's note (plus the corrected answer and context), for
  regression suites that check the assistant no longer answers that way.

Every text in the table was redacted when it was stored (``store/candidates.py``),
so nothing here scrubs again.

Exporting ``approved`` candidates marks them ``exported``, which makes the
command idempotent: a second run finds nothing new. The order of operations
keeps file and database in step: lines go to a temporary file; then, in one
transaction, the candidates are marked (only those still ``approved``: a
reviewer who changed one mid-export aborts the run) and the file is moved into
place before the commit. A failure anywhere leaves the database unmarked and
the output untouched; a failed commit after the move leaves a file whose
candidates a re-run exports again (duplicates, never losses).
``--status exported`` rewrites already exported candidates (a lost file) and
marks nothing.

The progress bar is a dozen lines writing to stderr rather than a dependency:
core stays small for hosts that only mount the API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from supportai.errors import ConfigurationError

if TYPE_CHECKING:
    from supportai.cli_database import DatabaseChoice
from supportai.store import candidates
from supportai.store.database import Database

FORMATS = ("openai-chat", "eval")
BATCH_SIZE = 500


class ExportConflict(RuntimeError):
    """A candidate changed status while the file was being written; nothing was marked."""


@dataclass
class ExportResult:
    exported: int = 0
    skipped: int = 0
    ids: list[int] = field(default_factory=list)


class Progress:
    """A minimal progress bar on stderr, redrawn at most ten times a second.

    ``min_total`` keeps short runs quiet: the bar appears only when there are
    at least that many candidates to go through.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        min_total: int = 1,
        width: int = 30,
        label: str = "export-training",
    ) -> None:
        self.stream = stream
        self.label = label
        self.wanted = enabled
        self.min_total = min_total
        self.width = width
        self.enabled = False
        self.total = 0
        self.done = 0
        self._drawn_at = 0.0

    def start(self, total: int) -> None:
        self.total = total
        self.enabled = self.wanted and total >= max(self.min_total, 1)

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and (now - self._drawn_at >= 0.1 or self.done >= self.total):
            self._drawn_at = now
            self._draw()

    def _draw(self) -> None:
        share = min(self.done / self.total, 1.0)
        filled = int(share * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {share:4.0%}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()


def openai_chat_line(row: Mapping[str, Any], system_prompt: str | None) -> dict[str, Any] | None:
    """An OpenAI chat fine-tuning example, or ``None`` when there is nothing to train on."""
    question = (row["snapshot"] or {}).get("question")
    answer = row["corrected_answer"]
    if not question or not answer:
        return None
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return {"messages": messages}


def eval_line(row: Mapping[str, Any]) -> dict[str, Any]:
    """One evaluation case: what was asked, what went wrong, what the reviewer said."""
    snapshot = row["snapshot"] or {}
    return {
        "candidate_id": row["id"],
        "tenant_id": row["tenant_id"],
        "candidate_type": row["candidate_type"],
        "question": snapshot.get("question"),
        "bad_answer": snapshot.get("answer"),
        "answer_status": snapshot.get("answer_status"),
        "reviewer_note": row["review_note"],
        "corrected_answer": row["corrected_answer"],
        "user_comment": row["comment"],
        "helpful": snapshot.get("helpful"),
        "rating": snapshot.get("rating"),
        "intent": snapshot.get("intent"),
    }


async def export_training(
    database: Database,
    out: TextIO,
    *,
    status: str = "approved",
    fmt: str = "openai-chat",
    tenant_id: str | None = None,
    system_prompt: str | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    before_commit: Callable[[ExportResult], None] | None = None,
) -> ExportResult:
    """Write candidates with ``status`` to ``out``; mark approved ones exported.

    ``before_commit(result)`` runs inside the marking transaction, after the
    marks and before the commit: the CLI moves the finished file into place
    there, so a failed move rolls the marks back.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    result = ExportResult()
    async with database.connection() as conn:
        if progress is not None:
            progress.start(await candidates.count_for_export(conn, status, tenant_id))
        after_id = 0
        while True:
            batch = await candidates.export_batch(conn, status, tenant_id, after_id, batch_size)
            if not batch:
                break
            for row in batch:
                line = eval_line(row) if fmt == "eval" else openai_chat_line(row, system_prompt)
                if line is None:
                    result.skipped += 1
                    continue
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                result.ids.append(int(row["id"]))
            result.exported = len(result.ids)
            after_id = int(batch[-1]["id"])
            if progress is not None:
                progress.advance(len(batch))
        out.flush()
        if progress is not None:
            progress.close()
        async with conn.transaction():
            if status == "approved" and result.ids:
                moved = await candidates.mark_exported(conn, result.ids)
                if moved != len(result.ids):
                    raise ExportConflict(
                        f"{len(result.ids) - moved} candidate(s) were re-reviewed during the "
                        "export; nothing was marked, run the export again"
                    )
            if before_commit is not None:
                before_commit(result)
    return result


# -- the command -------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    """Add ``export-training`` to the ``supportai`` command."""
    parser = subparsers.add_parser(
        "export-training",
        help="write reviewed training candidates as JSONL",
        description="Write reviewed training candidates as JSONL: OpenAI chat fine-tuning "
        "examples built from reviewers' corrected answers, or eval cases (question, bad "
        "answer, reviewer note). Exported candidates are marked, so a second run exports "
        "nothing new. See docs/improvement-loop.md.",
    )
    parser.add_argument(
        "--status",
        choices=("approved", "exported"),
        default="approved",
        help="approved: export new candidates and mark them exported (default); "
        "exported: write already exported ones again, marking nothing",
    )
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=FORMATS,
        default="openai-chat",
        help="openai-chat (default): needs a corrected answer; eval: every candidate",
    )
    parser.add_argument("-o", "--output", help="file to write (default: stdout)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace --output if it already exists"
    )
    parser.add_argument("--tenant", help="only this tenant's candidates")
    parser.add_argument(
        "--system-prompt",
        help="system message of openai-chat examples (default: SUPPORTAI_SYSTEM_PROMPT; "
        "'' for none)",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar on stderr (auto: when stderr is a terminal and the run is long)",
    )
    parser.add_argument("--database-url", help="default: SUPPORTAI_DATABASE_URL")
    parser.set_defaults(func=cmd_export_training)


def cmd_export_training(args: argparse.Namespace) -> int:
    from supportai.cli_database import choose_database
    from supportai.settings import Settings

    choice = choose_database(args)
    choice.require_existing()  # an export never creates the database it reads
    choice.announce()
    settings = Settings(database_url=choice.url)
    system_prompt = settings.system_prompt if args.system_prompt is None else args.system_prompt
    output = Path(args.output) if args.output else None
    if output is not None and not output.parent.is_dir():
        raise ConfigurationError(f"{output.parent} is not a directory")
    try:
        result = asyncio.run(_run(args, choice, system_prompt or None, output))
    except ExportConflict as exc:
        print(f"supportai export-training: {exc}", file=sys.stderr)
        return 1
    verb = "wrote" if args.status == "exported" else "exported"
    where = str(output) if output is not None else "stdout"
    message = f"{verb} {result.exported} candidate(s) as {args.fmt} to {where}"
    if result.exported == 0 and output is not None:
        message = f"nothing to export; {output} left untouched"
    if result.skipped:
        message += (
            f"; skipped {result.skipped} without a corrected answer (still {args.status}: "
            "add one with the approve endpoint, or export them with --format eval)"
        )
    print(message, file=sys.stderr)
    return 0


async def _run(
    args: argparse.Namespace,
    choice: DatabaseChoice,
    system_prompt: str | None,
    output: Path | None,
) -> ExportResult:
    from supportai.store.migrations import is_up_to_date

    database = Database(choice.url)
    await database.connect()
    try:
        if not await is_up_to_date(choice.url):
            raise ConfigurationError(
                f"the database {choice.describe()} ({choice.source}) is not migrated to the "
                "current schema: is it your app's database? If so, run `supportai db upgrade` "
                "with the same URL"
            )
        directory = output.parent if output is not None else None
        fd, temp_name = tempfile.mkstemp(prefix=".export-training-", suffix=".tmp", dir=directory)
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:

                def publish(result: ExportResult) -> None:
                    """Runs inside the marking transaction: a failure here rolls marks back."""
                    if result.exported == 0:
                        return  # never replace an earlier export with an empty file
                    handle.flush()
                    if output is None:
                        with open(temp_name, encoding="utf-8") as written:
                            shutil.copyfileobj(written, sys.stdout)
                        sys.stdout.flush()
                    elif output.exists() and not args.overwrite:
                        raise ConfigurationError(
                            f"{output} exists: choose a new file or pass --overwrite"
                        )
                    else:
                        os.replace(temp, output)

                progress = Progress(
                    sys.stderr,
                    enabled=args.progress == "always"
                    or (args.progress == "auto" and sys.stderr.isatty()),
                    min_total=1 if args.progress == "always" else BATCH_SIZE + 1,
                )
                return await export_training(
                    database,
                    handle,
                    status=args.status,
                    fmt=args.fmt,
                    tenant_id=args.tenant,
                    system_prompt=system_prompt,
                    progress=progress,
                    before_commit=publish,
                )
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)  # already moved into place, or the run failed
    finally:
        await database.disconnect()
