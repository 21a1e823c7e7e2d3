"""Round-trips per turn and per list endpoint: few write transactions, no N+1."""

from __future__ import annotations

from supportai.llm import ToolCallRequest
from supportai.testing import ScriptedBackend, as_user, backend_plugin, count_queries


async def _turn_app(supportai_app, supportai_client, rounds):
    backend = ScriptedBackend(rounds)
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = (await client.post("/conversations", headers=as_user())).json()["conversation_id"]
    await client.post(f"/conversations/{cid}/messages", json={"content": "warm"}, headers=as_user())
    await app.state.supportai.sweep_finished()  # the first turn starts the quota sweep
    return client, cid


async def test_a_turn_uses_at_most_three_write_transactions(supportai_app, supportai_client):
    client, cid = await _turn_app(
        supportai_app, supportai_client, [ScriptedBackend.answer("An answer.", pieces=20)]
    )
    with count_queries() as counted:
        response = await client.post(
            f"/conversations/{cid}/messages", json={"content": "question"}, headers=as_user()
        )
    assert response.json()["status"] == "complete"
    # reserve; user turn + classification; assistant turn + usage + settlement
    assert 1 <= counted.transactions <= 3
    assert 1 <= counted.writes <= counted.statements <= 16, vars(counted)


async def test_list_endpoints_do_not_grow_with_rows(supportai_app, supportai_client):
    client, cid = await _turn_app(
        supportai_app, supportai_client, [ScriptedBackend.answer("An answer.")]
    )

    async def count(path: str) -> int:
        with count_queries() as counted:
            assert (await client.get(path, headers=as_user())).status_code == 200
        return counted.statements

    few_list, few_detail = await count("/conversations"), await count(f"/conversations/{cid}")
    assert few_list >= 1 and few_detail >= 1  # the counter sees these reads at all
    for _ in range(15):
        await client.post("/conversations", json={"title": "more"}, headers=as_user())
        await client.post(
            f"/conversations/{cid}/messages", json={"content": "again"}, headers=as_user()
        )
    assert await count("/conversations") == few_list
    assert await count(f"/conversations/{cid}") == few_detail


async def test_tool_rounds_add_no_write_transactions(supportai_app, supportai_client):
    call = ToolCallRequest("c1", "missing_tool", {})
    client, cid = await _turn_app(
        supportai_app,
        supportai_client,
        [[call], [call], ScriptedBackend.answer("done")] * 2,
    )
    with count_queries() as counted:
        await client.post(
            f"/conversations/{cid}/messages", json={"content": "q"}, headers=as_user()
        )
    assert counted.transactions <= 4
