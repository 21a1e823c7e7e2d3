"""The knowledge base's admin API (``/admin/articles``) on SQLite and PostgreSQL.

What an admin relies on: articles are their tenant's only, every write is
audited with the status chain, updates never silently overwrite another
admin's edit, and a bulk import either lands completely or not at all, with a
422 that names the bad article and field.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from supportai.knowledge import KnowledgeStore
from supportai.store import tables
from supportai.store.database import row_dict
from supportai.testing import as_admin, as_user

ADMIN = as_admin("t1", "root")
OTHER_ADMIN = as_admin("t2", "root")
USER = as_user("t1", "alice")


def article(slug: str = "refunds", **fields: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": f"About {slug}",
        "body": f"# About {slug}\n\n## Details\n\nText of {slug}.",
        **fields,
    }


async def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def create(client: httpx.AsyncClient, headers: dict[str, str] = ADMIN, **fields: Any) -> Any:
    return await ok(await client.post("/admin/articles", json=article(**fields), headers=headers))


@pytest.fixture
async def client(supportai_app: Any, supportai_client: Any) -> httpx.AsyncClient:
    app = supportai_app()
    client: httpx.AsyncClient = supportai_client(app)
    client.app_ = app  # type: ignore[attr-defined]
    return client


async def events(client: httpx.AsyncClient, article_id: int) -> list[dict[str, Any]]:
    page = await ok(
        await client.get(
            "/admin/audit-events",
            params={"target_type": "article", "target_id": article_id},
            headers=ADMIN,
        )
    )
    return list(reversed(page["items"]))  # oldest first


async def test_create_get_update_delete_with_audit_chain(client: httpx.AsyncClient) -> None:
    created = await create(
        client, tags=["Billing", " money ", "billing"], url="/help/refunds", locale="pt-br"
    )
    assert created["tags"] == ["billing", "money"] and created["locale"] == "pt-BR"
    assert created["revision"] == 1 and created["published"] is True
    aid = created["article_id"]
    got = await ok(await client.get(f"/admin/articles/{aid}", headers=ADMIN))
    assert got == created

    draft = await ok(
        await client.patch(
            f"/admin/articles/{aid}", json={"published": False, "revision": 1}, headers=ADMIN
        )
    )
    assert draft["published"] is False and draft["revision"] == 2
    assert draft["body"] == created["body"] and draft["url"] == "/help/refunds"
    no_url = await ok(
        await client.patch(f"/admin/articles/{aid}", json={"url": None}, headers=ADMIN)
    )
    assert no_url["url"] is None and no_url["revision"] == 3
    same = await ok(
        await client.patch(f"/admin/articles/{aid}", json={"title": "About refunds"}, headers=ADMIN)
    )
    assert same["revision"] == 3, "saving what is there is not a change"

    assert (await ok(await client.delete(f"/admin/articles/{aid}", headers=ADMIN)))["deleted"]
    assert (await client.get(f"/admin/articles/{aid}", headers=ADMIN)).status_code == 404

    chain = await events(client, aid)
    assert [e["action"] for e in chain] == [
        "article.created",
        "article.updated",
        "article.updated",
        "article.deleted",
    ]
    assert [(e["before_status"], e["after_status"]) for e in chain] == [
        (None, "published"),
        ("published", "draft"),
        ("draft", "draft"),
        ("draft", "deleted"),
    ]
    for earlier, later in itertools.pairwise(chain):
        assert later["before_status"] == earlier["after_status"]
    assert chain[1]["details"]["changed"] == ["published"]
    assert chain[0]["details"] == {
        "slug": "refunds",
        "locale": "pt-BR",
        "revision": 1,
        "source": "api",
    }
    assert all("About" not in str(e["details"]) for e in chain), "no article text in events"


async def test_conflicts_are_typed_and_write_nothing(client: httpx.AsyncClient) -> None:
    first = await create(client)
    taken = await client.post("/admin/articles", json=article(), headers=ADMIN)
    assert taken.status_code == 409 and taken.json()["reason"] == "slug_taken"
    other_locale = await create(client, locale="de")  # same slug, another locale: fine
    rename = await client.patch(
        f"/admin/articles/{other_locale['article_id']}", json={"locale": "en"}, headers=ADMIN
    )
    assert rename.status_code == 409 and rename.json()["reason"] == "slug_taken"

    aid = first["article_id"]
    await ok(await client.patch(f"/admin/articles/{aid}", json={"body": "New."}, headers=ADMIN))
    stale = await client.patch(
        f"/admin/articles/{aid}", json={"body": "Mine.", "revision": 1}, headers=ADMIN
    )
    assert stale.status_code == 409 and stale.json()["reason"] == "edit_conflict"
    assert "revision 2" in stale.json()["detail"]
    stale_delete = await client.delete(f"/admin/articles/{aid}?revision=1", headers=ADMIN)
    assert stale_delete.status_code == 409 and stale_delete.json()["reason"] == "edit_conflict"
    kept = await ok(await client.get(f"/admin/articles/{aid}", headers=ADMIN))
    assert kept["body"] == "New." and kept["revision"] == 2
    assert len(await events(client, aid)) == 2


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"slug": "Has Spaces"}, ["body", "slug"]),
        ({"slug": "../etc"}, ["body", "slug"]),
        ({"locale": "english!"}, ["body", "locale"]),
        ({"title": "  "}, ["body", "title"]),
        ({"title": "two\nlines"}, ["body", "title"]),
        ({"body": ""}, ["body", "body"]),
        ({"body": "x" * 200_001}, ["body", "body"]),
        ({"url": "javascript:alert(1)"}, ["body", "url"]),
        ({"tags": ["ok", "no<script>"]}, ["body", "tags"]),
        ({"tags": [f"t{i}" for i in range(21)]}, ["body", "tags"]),
        ({"questions": ["ok?", "no\x00"]}, ["body", "questions", 1]),
        ({"questions": [f"q{i}?" for i in range(51)]}, ["body", "questions"]),
        ({"published": "maybe"}, ["body", "published"]),
        ({"extra": 1}, ["body", "extra"]),
    ],
)
async def test_bad_fields_are_422_naming_the_field(
    client: httpx.AsyncClient, fields: dict[str, Any], loc: list[Any]
) -> None:
    response = await client.post("/admin/articles", json=article(**fields), headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["reason"] == "validation_error"
    assert response.json()["detail"][0]["loc"] == loc
    listed = await ok(await client.get("/admin/articles", headers=ADMIN))
    assert listed["items"] == []


async def test_list_filters_and_pages(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await create(client, slug=f"a{i}", tags=["even" if i % 2 == 0 else "odd"], published=i != 4)
    await create(client, slug="a0", locale="de", tags=["even"])
    await create(client, OTHER_ADMIN, slug="foreign", tags=["even"])

    async def slugs(**params: Any) -> list[str]:
        page = await ok(await client.get("/admin/articles", params=params, headers=ADMIN))
        assert all("body" not in item for item in page["items"])
        return [f"{i['slug']}/{i['locale']}" for i in page["items"]]

    assert await slugs() == ["a0/de", "a4/en", "a3/en", "a2/en", "a1/en", "a0/en"]
    assert await slugs(tag="EVEN") == ["a0/de", "a4/en", "a2/en", "a0/en"]
    assert await slugs(locale="DE") == ["a0/de"]
    assert await slugs(published="false") == ["a4/en"]
    assert await slugs(tag="even", published="true", locale="en") == ["a2/en", "a0/en"]
    first = await ok(await client.get("/admin/articles?limit=4", headers=ADMIN))
    assert len(first["items"]) == 4 and first["next_cursor"]
    rest = await ok(
        await client.get(f"/admin/articles?limit=4&before={first['next_cursor']}", headers=ADMIN)
    )
    assert [i["slug"] for i in rest["items"]] == ["a1", "a0"] and rest["next_cursor"] is None
    bad = await client.get("/admin/articles?locale=not_a_locale", headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "locale"]


async def test_export_then_import_round_trips_into_another_tenant(
    client: httpx.AsyncClient,
) -> None:
    await create(client, slug="one", tags=["x"], url="https://help.example/one")
    await create(client, slug="two", published=False, locale="fr")
    exported = await ok(await client.get("/admin/articles/export", headers=ADMIN))
    assert exported["format"] == "supportai.articles/1"
    assert [a["slug"] for a in exported["articles"]] == ["one", "two"]

    result = await ok(
        await client.post("/admin/articles/import", json=exported, headers=OTHER_ADMIN)
    )
    assert (result["created"], result["updated"], result["unchanged"]) == (2, 0, 0)
    assert result["version"] == 1
    again = await ok(
        await client.post("/admin/articles/import", json=exported, headers=OTHER_ADMIN)
    )
    assert (again["unchanged"], again["version"]) == (2, 1), "a re-import changes nothing"
    theirs = await ok(await client.get("/admin/articles/export", headers=OTHER_ADMIN))
    assert theirs["articles"] == exported["articles"]
    french = await ok(await client.get("/admin/articles/export?locale=fr", headers=ADMIN))
    assert [a["slug"] for a in french["articles"]] == ["two"]


async def test_import_is_all_or_nothing_with_a_422_naming_the_article(
    client: httpx.AsyncClient,
) -> None:
    kept = await create(client, slug="kept")
    store = KnowledgeStore(client.app_.state.supportai.database)  # type: ignore[attr-defined]
    version = await store.version("t1")
    bad_docs = [
        (
            {"articles": [article("new"), article("kept", body="changed"), article("BAD SLUG")]},
            ["body", "articles", 2, "slug"],
        ),
        ({"articles": [article("new"), article("new")]}, ["body", "articles", 1, "slug"]),
        ({"format": "other/2", "articles": []}, ["body", "format"]),
        ({"articles": [article("new", tags="not-a-list")]}, ["body", "articles", 0, "tags"]),
    ]
    for doc, loc in bad_docs:
        response = await client.post("/admin/articles/import", json=doc, headers=ADMIN)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == loc
    listed = await ok(await client.get("/admin/articles", headers=ADMIN))
    assert [i["slug"] for i in listed["items"]] == ["kept"]
    assert (await ok(await client.get(f"/admin/articles/{kept['article_id']}", headers=ADMIN)))[
        "revision"
    ] == 1
    assert await store.version("t1") == version


async def test_import_upserts_and_prunes_and_audits_each_change(client: httpx.AsyncClient) -> None:
    stays = await create(client, slug="stays")
    old = await create(client, slug="old")
    doc = {"articles": [article("stays"), article("new"), article("stays", locale="de")]}
    result = await ok(
        await client.post("/admin/articles/import?prune=true", json=doc, headers=ADMIN)
    )
    outcomes = {(i["slug"], i["locale"]): i["outcome"] for i in result["items"]}
    assert outcomes == {
        ("stays", "en"): "unchanged",
        ("new", "en"): "created",
        ("stays", "de"): "created",
        ("old", "en"): "deleted",
    }
    assert [e["action"] for e in await events(client, old["article_id"])][-1] == "article.deleted"
    assert len(await events(client, stays["article_id"])) == 1, "unchanged: no event"
    new_id = next(i["article_id"] for i in result["items"] if i["slug"] == "new")
    assert (await events(client, new_id))[0]["details"]["source"] == "import"


async def test_import_body_limit_is_its_own(supportai_app: Any, supportai_client: Any) -> None:
    client = supportai_client(supportai_app(kb_import_max_bytes=300_000))
    big = {"articles": [article(f"a{i}", body="word " * 10_000) for i in range(5)]}  # ~250 KB
    assert (await client.post("/admin/articles/import", json=big, headers=ADMIN)).status_code == 200
    too_big = {"articles": [article(f"b{i}", body="word " * 10_000) for i in range(7)]}
    response = await client.post("/admin/articles/import", json=too_big, headers=ADMIN)
    assert response.status_code == 413 and response.json()["reason"] == "payload_too_large"
    # every other endpoint keeps the 256 KiB limit
    one = await client.post(
        "/admin/articles", json=article(body="x" * 199_000 + "é" * 40_000), headers=ADMIN
    )
    assert one.status_code == 413


async def test_only_admins_of_the_tenant(client: httpx.AsyncClient) -> None:
    aid = (await create(client))["article_id"]
    for method, path, body in (
        ("get", "/admin/articles", None),
        ("post", "/admin/articles", article("x")),
        ("get", "/admin/articles/export", None),
        ("post", "/admin/articles/import", {"articles": []}),
        ("get", f"/admin/articles/{aid}", None),
        ("patch", f"/admin/articles/{aid}", {"title": "mine"}),
        ("delete", f"/admin/articles/{aid}", None),
    ):
        response = await client.request(method, path, json=body, headers=USER)
        assert response.status_code == 403 and response.json()["reason"] == "forbidden"
        assert (await client.request(method, path, json=body)).status_code == 401
    for method in ("get", "patch", "delete"):
        body = {"title": "mine"} if method == "patch" else None
        response = await client.request(
            method, f"/admin/articles/{aid}", json=body, headers=OTHER_ADMIN
        )
        assert response.status_code == 404 and response.json()["reason"] == "not_found"
    assert (await ok(await client.get("/admin/articles", headers=OTHER_ADMIN)))["items"] == []
    foreign_export = await ok(await client.get("/admin/articles/export", headers=OTHER_ADMIN))
    assert foreign_export["articles"] == []
    assert (await ok(await client.get(f"/admin/articles/{aid}", headers=ADMIN)))["revision"] == 1


async def test_concurrent_edits_one_wins_and_every_change_counts(
    client: httpx.AsyncClient,
) -> None:
    aid = (await create(client))["article_id"]
    store = KnowledgeStore(client.app_.state.supportai.database)  # type: ignore[attr-defined]
    edits = await asyncio.gather(
        *(
            client.patch(
                f"/admin/articles/{aid}", json={"body": f"Edit {i}.", "revision": 1}, headers=ADMIN
            )
            for i in range(4)
        )
    )
    assert sorted(r.status_code for r in edits) == [200, 409, 409, 409]
    winner = next(r.json() for r in edits if r.status_code == 200)
    stored = await ok(await client.get(f"/admin/articles/{aid}", headers=ADMIN))
    assert stored["body"] == winner["body"] and stored["revision"] == 2

    created = await asyncio.gather(
        *(client.post("/admin/articles", json=article(f"c{i}"), headers=ADMIN) for i in range(5))
    )
    assert all(r.status_code == 200 for r in created)
    assert await store.version("t1") == 1 + 1 + 5, "no bump is lost to a concurrent writer"


async def test_a_deleted_article_leaves_no_copy_of_its_text(client: httpx.AsyncClient) -> None:
    marker = f"RESIDUE{uuid.uuid4().hex[:10]}"
    aid = (
        await create(
            client,
            slug="gone",
            title=f"Title {marker}",
            body=f"Body {marker}",
            tags=["t"],
            questions=[f"Where is {marker}?"],
        )
    )["article_id"]
    await ok(await client.patch(f"/admin/articles/{aid}", json={"title": marker}, headers=ADMIN))
    await ok(await client.delete(f"/admin/articles/{aid}", headers=ADMIN))
    database = client.app_.state.supportai.database  # type: ignore[attr-defined]
    async with database.connection() as conn:
        dump = {
            t.name: [row_dict(r) for r in await conn.fetch_all(sa.select(t))]
            for t in tables.metadata.sorted_tables
        }
    assert marker not in json.dumps(dump, default=str)
    assert dump["support_ai_article_tags"] == [] and dump["support_ai_articles"] == []
    assert dump["support_ai_article_questions"] == []
    assert [e["action"] for e in dump["support_ai_audit_events"]] == [
        "article.created",
        "article.updated",
        "article.deleted",
    ], "the audit trail is retained"


async def test_a_deleted_articles_id_is_never_reused(client: httpx.AsyncClient) -> None:
    await create(client, slug="first")
    newest = (await create(client, slug="newest"))["article_id"]
    await ok(await client.delete(f"/admin/articles/{newest}", headers=ADMIN))
    again = (await create(client, slug="again"))["article_id"]
    assert again > newest, "the audit chain of the deleted article must not continue"
