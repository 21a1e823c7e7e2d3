"""Start-up: ``import supportai`` and app creation with every built-in plugin enabled,
with the default embedder (wordllama) and with ``minilm`` (ONNX Runtime).

Each figure is the median of fresh interpreters (``python -c``), so nothing is
cached between runs. guardrails-ai must only be imported when its filter is on.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any

IMPORT = "import time; t=time.perf_counter(); import supportai; print(time.perf_counter()-t)"

CREATE = """
import os, sys, tempfile, time, json
t = time.perf_counter()
import supportai
from supportai import Settings, create_app
folder = tempfile.mkdtemp()
app = create_app(Settings(
    database_url=f"sqlite+aiosqlite:///{folder}/s.db", llm_backend="knowledge_base",
    classifiers=["rules"], output_filters=FILTERS, plugins=["llm_backends", "classifiers",
    "filters", "redis"], plugin_options={"kb": {"articles_dir": ARTICLES, "embedder": EMBEDDER}}))
created = time.perf_counter() - t
import asyncio
asyncio.run(app.state.supportai.start())
started = time.perf_counter() - t
print(json.dumps({"create_s": created, "start_s": started,
                  "guardrails_imported": "guardrails" in sys.modules}))
"""


def _python(code: str) -> str:
    return (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )


def run(articles_dir: str, repeat: int = 5) -> dict[str, Any]:
    imports = [float(_python(IMPORT)) * 1000 for _ in range(repeat)]
    result: dict[str, Any] = {"import_supportai_ms": statistics.median(imports)}
    variants = (
        ("pii", ["pii"], "wordllama"),
        ("pii+minilm", ["pii"], "minilm"),  # the example app's embedder
        ("pii+guardrails", ["pii", "guardrails"], "wordllama"),
    )
    for label, filters, embedder in variants:
        code = (
            CREATE.replace("FILTERS", json.dumps(filters))
            .replace("ARTICLES", json.dumps(articles_dir))
            .replace("EMBEDDER", json.dumps(embedder))
        )
        runs = [json.loads(_python(code)) for _ in range(3 if "guardrails" in label else repeat)]
        result[f"app_{label}"] = {
            "create_ms": statistics.median(r["create_s"] for r in runs) * 1000,
            "create_and_start_ms": statistics.median(r["start_s"] for r in runs) * 1000,
            "guardrails_imported": runs[0]["guardrails_imported"],
        }
    return result
