"""Lumen's help center reaches the assistant through supportai's import, once per tenant.

The Markdown folder is imported into each tenant's knowledge base at the first
start; the tenant's admin owns the articles afterwards (a deletion survives a
restart); the seeding is audited like any other import.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from host_app import create_host_app
from host_app.config import default_articles_dir
from host_app.users import TENANTS
from host_app_testing import make_config, sign_in

from supportai.knowledge import KnowledgeStore

API = "/api/support/ai"


async def test_every_tenant_gets_the_help_center_and_its_admin_owns_it(
    tmp_path: Path, host_env: None
) -> None:
    files = sorted(default_articles_dir().glob("*.md"))
    config = make_config(tmp_path / "data")
    first = create_host_app(config)
    async with first.router.lifespan_context(first):
        assert first.state.help_center_seeded == {tenant: len(files) for tenant in TENANTS}
        store = KnowledgeStore(first.state.support.state.supportai.database)
        for tenant in TENANTS:
            articles = await store.published_articles(tenant)
            assert sorted(a.slug for a in articles) == [f.stem for f in files]
            assert all(a.url == f"/help/{a.slug}" for a in articles)
            # the files' tags (the words customers use) reach the search through the import
            assert all(len(a.tags) >= 6 for a in articles)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=first), base_url="http://lumen.test"
        ) as http:
            await sign_in(http, "carol@acme.example")
            listed = (await http.get(f"{API}/admin/articles?tag=&limit=200")).json()
            assert listed["reason"] == "validation_error"  # an empty tag is not a tag
            listed = (await http.get(f"{API}/admin/articles?limit=200")).json()
            refunds = next(i for i in listed["items"] if i["slug"] == "refunds")
            gone = await http.delete(f"{API}/admin/articles/{refunds['article_id']}")
            assert gone.status_code == 200
            audit = (await http.get(f"{API}/admin/audit-events?target_type=article")).json()
            actors = {e["actor_id"] for e in audit["items"]}
            assert actors == {"host-app-seed", "carol"}

    # A restart leaves the knowledge base to its admins: nothing is re-imported.
    second = create_host_app(config)
    async with second.router.lifespan_context(second):
        assert second.state.help_center_seeded == {}
        store = KnowledgeStore(second.state.support.state.supportai.database)
        acme = {a.slug for a in await store.published_articles("acme")}
        globex = {a.slug for a in await store.published_articles("globex")}
        assert "refunds" not in acme and "refunds" in globex


async def test_signed_in_customers_read_their_companys_help_center(
    client: httpx.AsyncClient,
) -> None:
    """What the admin edits is what the customer's citation links show; visitors still read
    the public help center shipped with Lumen."""
    await sign_in(client, "carol@acme.example")
    listed = (await client.get(f"{API}/admin/articles?limit=200")).json()["items"]
    reset = next(a for a in listed if a["slug"] == "password-reset")
    edited = await client.patch(
        f"{API}/admin/articles/{reset['article_id']}",
        json={"title": "Resetting your password (new)", "revision": reset["revision"]},
    )
    assert edited.status_code == 200
    billing = next(a for a in listed if a["slug"] == "billing-overview")
    await client.patch(f"{API}/admin/articles/{billing['article_id']}", json={"published": False})

    page = await client.get("/help/password-reset")
    assert page.status_code == 200 and "<h1>Resetting your password (new)</h1>" in page.text
    assert "<strong>Forgot password?</strong>" in page.text
    index = await client.get("/help")
    assert "Resetting your password (new)" in index.text
    assert '<a href="/help/billing-overview">' not in index.text, "drafts are not shown"
    assert (await client.get("/help/billing-overview")).status_code == 404
    await client.post("/logout")

    await sign_in(client, "dave@globex.example")  # another company: untouched
    other = await client.get("/help/password-reset")
    assert "<h1>Resetting your password</h1>" in other.text
    await client.post("/logout")
    public = await client.get("/help/password-reset")
    assert "<h1>Resetting your password</h1>" in public.text
    # the shipped files open with front matter (their tags): a visitor never sees it
    assert "tags:" not in public.text and "---" not in public.text
    public_index = await client.get("/help")
    assert '<a href="/help/password-reset">Resetting your password</a>' in public_index.text
    assert "---" not in public_index.text
