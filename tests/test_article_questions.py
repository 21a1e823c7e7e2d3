"""An article's ``questions``: what users asked that it answers, in their own words.

Retrieval (``supportai-llm-backends``) reads them to choose which article comes
first, so what an admin relies on is that every way in (the admin API, the JSON
import, a Markdown file, ``supportai kb import``) stores the same questions, in
the order given, tidied the same way; that a 422 names the field; that an export
carries them to another tenant unchanged; that the audit trail says they changed
(never what they say); and that they are the article's tenant's only and go with
the article. API and storage tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from supportai.caller import Caller
from supportai.cli import main
from supportai.knowledge import ArticleDraft, ArticleError, KnowledgeStore, changes, queries
from supportai.knowledge.articles import (
    MAX_QUESTION_CHARS,
    MAX_QUESTIONS,
    check_draft,
    check_questions,
    same_content,
)
from supportai.knowledge.markdown import parse_article, parse_folder
from supportai.store import tables
from supportai.store.database import row_dict
from supportai.testing import as_admin

ADMIN = as_admin("t1", "root")
OTHER_ADMIN = as_admin("t2", "root")


# -- the rule ---------------------------------------------------------------------------------


def test_questions_are_tidied_deduplicated_and_kept_in_order() -> None:
    given = [
        "  Can I get\n my   money back? ",
        "",
        " \t ",
        "refund after 2 weeks",
        "CAN I GET MY MONEY BACK?",  # the same question: the first spelling stays
        "Can I\u00a0get my money back?",  # a no-break space is whitespace too
        "Refund after 2 weeks",
    ]
    assert check_questions(given) == ("Can I get my money back?", "refund after 2 weeks")
    assert check_questions(["b?", "a?"]) == ("b?", "a?"), "the order given, not sorted"
    assert check_questions([]) == ()


def test_the_limits_are_counted_after_tidying() -> None:
    longest = "q" * MAX_QUESTION_CHARS
    assert check_questions([f"  {longest}\n"]) == (longest,)
    assert check_questions(["a  " + "b" * (MAX_QUESTION_CHARS - 2)]) == (
        "a " + "b" * (MAX_QUESTION_CHARS - 2),
    ), "collapsed spaces do not count"
    many = [f"question {i}?" for i in range(MAX_QUESTIONS)]
    assert len(check_questions([*many, "QUESTION 0?", ""])) == MAX_QUESTIONS


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (["q" * (MAX_QUESTION_CHARS + 1)], f"longer than {MAX_QUESTION_CHARS}"),
        ([f"question {i}?" for i in range(MAX_QUESTIONS + 1)], f"at most {MAX_QUESTIONS}"),
        (["fine?", "nul\x00inside?"], "NUL"),
    ],
)
def test_bad_questions_are_an_error_of_the_field(values: list[str], words: str) -> None:
    with pytest.raises(ArticleError) as error:
        check_questions(values)
    assert error.value.field == "questions" and words in error.value.message


def test_a_draft_is_checked_and_compared_with_its_questions() -> None:
    draft = check_draft(
        ArticleDraft(slug="refunds", title="Refunds", body="Text.", questions=(" a  b? ", "A B?"))
    )
    assert draft.questions == ("a b?",)
    with pytest.raises(ArticleError) as error:
        check_draft(ArticleDraft(slug="refunds", title="T", body="B", questions=("x" * 301,)))
    assert error.value.field == "questions"
    stored = queries.article_of(
        {
            "id": 1,
            "tenant_id": "t1",
            "slug": "refunds",
            "title": "Refunds",
            "body": "Text.",
            "url": None,
            "locale": "en",
            "published": True,
            "updated_at": None,
            "revision": 1,
            "created_at": None,
        },
        (),
        ("a b?",),
    )
    assert same_content(draft, stored)
    assert not same_content(check_draft(ArticleDraft("refunds", "Refunds", "Text.")), stored)


# -- Markdown front matter --------------------------------------------------------------------

PAGE = """---
title: Refund policy
questions:
  - Can I get my money back?
  - "yes"
  - 2024
  - can i get my MONEY back?
---
Text.
"""


def test_front_matter_questions_are_a_list_in_order() -> None:
    draft, ignored = parse_article(Path("refunds.md"), PAGE)
    assert draft.questions == ("Can I get my money back?", "yes", "2024")
    assert ignored == [], "questions is a key of the format"


def test_one_question_as_a_string_is_not_split_at_commas() -> None:
    text = "---\nquestions: Yes, but can I get a refund after 2 weeks?\n---\n# Refunds\n\nText."
    draft, _ = parse_article(Path("refunds.md"), text)
    assert draft.questions == ("Yes, but can I get a refund after 2 weeks?",)
    none, _ = parse_article(Path("refunds.md"), "---\nquestions:\n---\n# Refunds\n\nText.")
    assert none.questions == ()


@pytest.mark.parametrize(
    "front",
    [
        "questions:\n  - yes\n",  # YAML's boolean: not the text written
        "questions:\n  - 2024-01-31\n",  # a date
        "questions: {a: 1}\n",
        "questions:\n  - [nested]\n",
        f"questions:\n  - {'x' * 301}\n",
    ],
)
def test_bad_front_matter_questions_are_a_problem_of_the_field(front: str, tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(f"---\n{front}---\n# T\n\nbody", encoding="utf-8")
    parsed = parse_folder([path])
    assert parsed.drafts == [] and len(parsed.problems) == 1
    assert parsed.problems[0].field == "questions", str(parsed.problems[0])


# -- the admin API ------------------------------------------------------------------------------


def article(slug: str = "refunds", **fields: Any) -> dict[str, Any]:
    return {"slug": slug, "title": f"About {slug}", "body": f"Text of {slug}.", **fields}


async def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def client(supportai_app: Any, supportai_client: Any) -> httpx.AsyncClient:
    app = supportai_app()
    client: httpx.AsyncClient = supportai_client(app)
    client.app_ = app  # type: ignore[attr-defined]
    return client


async def test_create_get_list_update_and_audit(client: httpx.AsyncClient) -> None:
    created = await ok(
        await client.post(
            "/admin/articles",
            json=article(questions=["How do I get\na refund? ", "how do i get a refund?", "", "b"]),
            headers=ADMIN,
        )
    )
    assert created["questions"] == ["How do I get a refund?", "b"]
    aid = created["article_id"]
    assert await ok(await client.get(f"/admin/articles/{aid}", headers=ADMIN)) == created
    listed = await ok(await client.get("/admin/articles", headers=ADMIN))
    assert [i["questions"] for i in listed["items"]] == [["How do I get a refund?", "b"]]
    plain = await ok(await client.post("/admin/articles", json=article("plain"), headers=ADMIN))
    assert plain["questions"] == [], "optional, empty by default"

    kept = await ok(
        await client.patch(f"/admin/articles/{aid}", json={"title": "Refunds"}, headers=ADMIN)
    )
    assert kept["questions"] == created["questions"], "a patch without questions keeps them"
    reordered = await ok(
        await client.patch(
            f"/admin/articles/{aid}", json={"questions": ["b", "Refund?"]}, headers=ADMIN
        )
    )
    assert reordered["questions"] == ["b", "Refund?"] and reordered["revision"] == 3
    same = await ok(
        await client.patch(
            f"/admin/articles/{aid}",
            json={"questions": [" b ", "Refund?", "refund?"]},
            headers=ADMIN,
        )
    )
    assert same["revision"] == 3, "the same questions, spelt untidily, are no change"
    cleared = await ok(
        await client.patch(f"/admin/articles/{aid}", json={"questions": []}, headers=ADMIN)
    )
    assert cleared["questions"] == [] and cleared["revision"] == 4
    again = await ok(await client.get(f"/admin/articles/{aid}", headers=ADMIN))
    assert again["questions"] == []

    page = await ok(
        await client.get(
            "/admin/audit-events",
            params={"target_type": "article", "target_id": aid},
            headers=ADMIN,
        )
    )
    chain = list(reversed(page["items"]))
    assert [e["details"].get("changed") for e in chain] == [
        None,
        ["title"],
        ["questions"],
        ["questions"],
    ]
    for question in ("How do I get a refund?", "Refund?"):
        assert question not in json.dumps(chain), "events name the field, not the questions"


@pytest.mark.parametrize(
    ("questions", "words"),
    [
        (["x" * 301], "at most 300"),
        ([f"q{i}" for i in range(MAX_QUESTIONS + 1)], "at most 50"),
        (["fine", "nul\x00"], "pattern"),  # the schema's no-NUL pattern
        ("one string", "list"),
        ([1, 2], "string"),
    ],
)
async def test_bad_questions_are_a_typed_422_naming_the_field(
    client: httpx.AsyncClient, questions: Any, words: str
) -> None:
    for method, path, body, loc in (
        ("post", "/admin/articles", article(questions=questions), ["body", "questions"]),
        (
            "post",
            "/admin/articles/import",
            {"articles": [article("ok"), article(questions=questions)]},
            ["body", "articles", 1, "questions"],
        ),
    ):
        response = await client.request(method, path, json=body, headers=ADMIN)
        assert response.status_code == 422, response.text
        assert response.json()["reason"] == "validation_error"
        detail = response.json()["detail"][0]
        assert detail["loc"][: len(loc)] == loc and words.lower() in detail["msg"].lower(), detail
    assert (await ok(await client.get("/admin/articles", headers=ADMIN)))["items"] == []

    aid = (await ok(await client.post("/admin/articles", json=article(), headers=ADMIN)))[
        "article_id"
    ]
    patched = await client.patch(
        f"/admin/articles/{aid}", json={"questions": questions}, headers=ADMIN
    )
    assert patched.status_code == 422
    assert patched.json()["detail"][0]["loc"][:2] == ["body", "questions"]


async def test_export_and_import_round_trip_the_questions(client: httpx.AsyncClient) -> None:
    await ok(
        await client.post(
            "/admin/articles",
            json=article("one", questions=["Second, then?", "First?"]),
            headers=ADMIN,
        )
    )
    await ok(await client.post("/admin/articles", json=article("two"), headers=ADMIN))
    exported = await ok(await client.get("/admin/articles/export", headers=ADMIN))
    assert [a["questions"] for a in exported["articles"]] == [["Second, then?", "First?"], []]

    created = await ok(
        await client.post("/admin/articles/import", json=exported, headers=OTHER_ADMIN)
    )
    assert created["created"] == 2
    theirs = await ok(await client.get("/admin/articles/export", headers=OTHER_ADMIN))
    assert theirs["articles"] == exported["articles"]
    again = await ok(
        await client.post("/admin/articles/import", json=exported, headers=OTHER_ADMIN)
    )
    assert again["unchanged"] == 2, "re-importing the same questions changes nothing"

    exported["articles"][1]["questions"] = ["New?"]
    del exported["articles"][0]["questions"]  # optional in the format: none
    changed = await ok(
        await client.post("/admin/articles/import", json=exported, headers=OTHER_ADMIN)
    )
    assert {i["slug"]: i["outcome"] for i in changed["items"]} == {
        "one": "updated",
        "two": "updated",
    }
    final = await ok(await client.get("/admin/articles/export", headers=OTHER_ADMIN))
    assert [a["questions"] for a in final["articles"]] == [[], ["New?"]]


async def test_a_deleted_articles_questions_go_with_it(client: httpx.AsyncClient) -> None:
    gone = await ok(
        await client.post(
            "/admin/articles", json=article("gone", questions=["a?", "b?"]), headers=ADMIN
        )
    )
    stays = await ok(
        await client.post("/admin/articles", json=article("stays", questions=["c?"]), headers=ADMIN)
    )
    await ok(await client.delete(f"/admin/articles/{gone['article_id']}", headers=ADMIN))
    database = client.app_.state.supportai.database  # type: ignore[attr-defined]
    async with database.connection() as conn:
        rows = [
            row_dict(r)
            for r in await conn.fetch_all(
                sa.select(tables.article_questions).order_by(tables.article_questions.c.position)
            )
        ]
    assert rows == [
        {"article_id": stays["article_id"], "position": 0, "question": "c?", "tenant_id": "t1"}
    ]


# -- storage, below the API -------------------------------------------------------------------


@pytest.fixture
async def runtime(supportai_app: Any) -> Any:
    app = supportai_app()
    runtime = app.state.supportai
    await runtime.start()
    return runtime


async def test_retrieval_reads_each_tenants_own_questions(runtime: Any) -> None:
    database = runtime.database
    for tenant, slugs in (("kb-a", ("one", "two", "three")), ("kb-b", ("one",))):
        drafts = [
            check_draft(
                ArticleDraft(
                    slug=slug,
                    title=slug,
                    body=f"Text of {slug}.",
                    questions=tuple(f"{tenant} {slug} {n}?" for n in range(3, 0, -1)),
                )
            )
            for slug in slugs
        ]
        async with database.connection() as conn:
            await changes.import_articles(
                conn, Caller(tenant, "admin"), drafts, is_sqlite=database.is_sqlite
            )
    store = KnowledgeStore(database)
    a = await store.published_articles("kb-a")
    assert [x.questions for x in a] == [
        (f"kb-a {slug} 3?", f"kb-a {slug} 2?", f"kb-a {slug} 1?")
        for slug in ("one", "two", "three")
    ]
    b_one = await store.published_article("kb-b", "one")
    assert b_one is not None and b_one.questions == ("kb-b one 3?", "kb-b one 2?", "kb-b one 1?")
    async with database.connection() as conn:
        # the tenant is part of the query, not only of the ids a caller passes
        assert await queries.questions_of(conn, "kb-b", [x.id for x in a]) == {}


# -- supportai kb import / export -------------------------------------------------------------


def test_kb_import_reads_questions_from_markdown_and_json(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", "--database-url", database_url]) == 0
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "refunds.md").write_text(PAGE, encoding="utf-8")
    (folder / "plain.md").write_text("# Plain\n\nNo questions.", encoding="utf-8")
    url = ["--database-url", database_url]
    assert main(["kb", "import", str(folder), "--tenant", "acme", *url]) == 0
    out = tmp_path / "acme.json"
    assert main(["kb", "export", "--tenant", "acme", "-o", str(out), *url]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    by_slug = {a["slug"]: a["questions"] for a in document["articles"]}
    assert by_slug == {"refunds": ["Can I get my money back?", "yes", "2024"], "plain": []}

    assert main(["kb", "import", str(out), "--tenant", "globex", *url]) == 0
    capsys.readouterr()
    assert main(["kb", "import", str(folder), "--tenant", "acme", *url]) == 0
    assert "2 unchanged" in capsys.readouterr().err
    assert main(["kb", "export", "--tenant", "globex", *url]) == 0
    moved = json.loads(capsys.readouterr().out)
    assert [a["questions"] for a in moved["articles"]] == [
        a["questions"] for a in document["articles"]
    ]
