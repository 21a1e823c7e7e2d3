"""The generated API reference (docs/api/*.md) matches docs/openapi-snapshot.json.

When this fails after an API change: refresh the snapshot
(``supportai openapi -o docs/openapi-snapshot.json``), then run
``python scripts/docs/generate_api_reference.py`` and commit both.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "docs" / "openapi-snapshot.json"
API_DOCS = ROOT / "docs" / "api"


def _load_generator() -> ModuleType:
    path = ROOT / "scripts" / "docs" / "generate_api_reference.py"
    spec = importlib.util.spec_from_file_location("generate_api_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_committed_pages_are_not_stale(snapshot: dict[str, Any]) -> None:
    problems = gen.stale(gen.render(snapshot), API_DOCS)
    assert problems == [], (
        "docs/api is stale; run `python scripts/docs/generate_api_reference.py`: "
        + "; ".join(problems)
    )


def test_check_mode_exit_codes(tmp_path: Path) -> None:
    out = tmp_path / "api"
    assert gen.main(["--out", str(out), "--check"]) == 1  # nothing generated yet
    assert gen.main(["--out", str(out)]) == 0
    assert gen.main(["--out", str(out), "--check"]) == 0
    page = out / "quota.md"
    page.write_text(page.read_text(encoding="utf-8") + "hand edit\n", encoding="utf-8")
    assert gen.main(["--out", str(out), "--check"]) == 1
    assert gen.main(["--out", str(out)]) == 0
    assert gen.main(["--out", str(out), "--check"]) == 0


def test_pages_that_are_no_longer_generated_are_stale_and_removed(tmp_path: Path) -> None:
    out = tmp_path / "api"
    gen.main(["--out", str(out)])
    old = out / "retired-group.md"
    old.write_text(gen.MARKER + "\n# gone\n", encoding="utf-8")
    handwritten = out / "notes.md"
    handwritten.write_text("# mine\n", encoding="utf-8")
    assert gen.main(["--out", str(out), "--check"]) == 1
    gen.main(["--out", str(out)])
    assert not old.exists()
    assert handwritten.exists(), "pages without the marker are never touched"


def test_every_operation_is_on_exactly_one_group_page(snapshot: dict[str, Any]) -> None:
    pages = gen.render(snapshot)
    for path, item in snapshot["paths"].items():
        for method, operation in item.items():
            heading = f"\n## {method.upper()} {path}\n"
            holders = [name for name, text in pages.items() if heading in text]
            assert holders == [gen.page_name(operation["tags"][0])], (method, path)
            assert f"**{operation['summary']}**" in pages[holders[0]]
            index_row = f"| {method.upper()} | [`{path}`]({holders[0]}#"
            assert index_row in pages["index.md"]


def test_the_spec_contract_endpoints_are_documented(snapshot: dict[str, Any]) -> None:
    """The 14 endpoints and summaries of the spec this project implements."""
    text = "".join(gen.render(snapshot).values())
    base = "/api/support/ai"
    for method, path, summary in [
        ("GET", "/cases", "List My Cases"),
        ("POST", "/cases", "Create Case"),
        ("GET", "/cases/{case_id}", "Get My Case"),
        ("POST", "/cases/{case_id}/comments", "Add My Case Comment"),
        ("GET", "/conversations", "List Conversations"),
        ("POST", "/conversations", "Create Conversation"),
        ("DELETE", "/conversations/{conversation_id}", "Delete Conversation"),
        ("GET", "/conversations/{conversation_id}", "Get Conversation"),
        ("POST", "/conversations/{conversation_id}/escalate", "Escalate Conversation"),
        ("POST", "/conversations/{conversation_id}/feedback", "Submit Feedback"),
        ("POST", "/conversations/{conversation_id}/messages", "Create Message"),
        ("POST", "/disclosure/accept", "Accept Disclosure"),
        ("GET", "/disclosure/status", "Disclosure Status"),
        ("GET", "/quota", "Get Quota Status"),
    ]:
        assert f"## {method} {base}{path}\n\n**{summary}**" in text


def test_links_point_at_existing_headings(snapshot: dict[str, Any]) -> None:
    pages = gen.render(snapshot)

    def anchors(page: str) -> set[str]:
        lines = pages[page].splitlines()
        return {gen.slugify(line[3:]) for line in lines if line.startswith("## ")}

    checked = 0
    for name, text in pages.items():
        for target, anchor in re.findall(r"\]\(([\w-]*\.md)?#([\w-]+)\)", text):
            page = target or name
            assert anchor in anchors(page), (name, f"{page}#{anchor}")
            checked += 1
    assert checked > 50, "the link pattern no longer matches the generated links"


MINI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Mini API", "version": "9"},
    "paths": {
        "/things/{thing_id}": {
            "post": {
                "tags": ["things"],
                "summary": "Poke Thing",
                "description": "Poke it | gently.",
                "parameters": [
                    {
                        "name": "thing_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    },
                    {
                        "name": "mode",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "anyOf": [{"$ref": "#/components/schemas/Mode"}, {"type": "null"}]
                        },
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Poke"}}
                    },
                },
                "responses": {
                    "200": {
                        "description": "Poked",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Poke"},
                                }
                            },
                            "text/event-stream": {"schema": {"type": "string"}},
                        },
                    },
                    "404": {"description": "No | such thing"},
                },
            }
        }
    },
    "components": {
        "schemas": {
            "Mode": {"type": "string", "enum": ["soft", "hard"], "title": "Mode"},
            "Poke": {
                "type": "object",
                "additionalProperties": False,
                "required": ["force"],
                "properties": {
                    "force": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 10,
                        "description": "How hard",
                    },
                    "note": {
                        "anyOf": [{"type": "string", "maxLength": 50}, {"type": "null"}],
                        "default": None,
                    },
                },
            },
        }
    },
}


def test_rendering_of_a_small_document() -> None:
    pages = gen.render(MINI)
    assert sorted(pages) == ["index.md", "schemas.md", "things.md"]
    things = pages["things.md"]
    assert things.startswith(gen.MARKER + "\n# Mini API: things\n")
    assert "1 endpoint in this group." in things
    assert "## POST /things/{thing_id}\n\n**Poke Thing**\n\nPoke it | gently.\n" in things
    assert "| `thing_id` | path | integer | required | ≥ 1 |" in things
    assert "| `mode` | query | [Mode](schemas.md#mode) or null | optional |  |" in things
    assert "**Request body** (`application/json`, required): [Poke](schemas.md#poke)" in things
    assert "| `force` | integer | required | How hard (0 to 10) |" in things
    assert "| `note` | string or null | optional | length ≤ 50 |" in things
    assert (
        "| 200 | Poked | `application/json`: array of [Poke](schemas.md#poke); "
        "`text/event-stream`: string |" in things
    )
    assert "| 404 | No \\| such thing |  |" in things
    schemas = pages["schemas.md"]
    assert "## Mode\n\nType `string`, one of: `soft`, `hard`." in schemas
    assert "Unknown fields are rejected (422)." in schemas
    assert "| [things](things.md) | 1 |" in pages["index.md"]
