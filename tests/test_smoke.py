from supportai.testing import ScriptedBackend, as_user, backend_plugin, parse_sse


async def test_turn_smoke(supportai_app, supportai_client):
    backend = ScriptedBackend([ScriptedBackend.answer("Hello there, how can I help?", pieces=3)])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    r = await client.post("/conversations", json={"title": "Hi"}, headers=as_user())
    assert r.status_code == 200, r.text
    cid = r.json()["conversation_id"]
    r = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "hello"},
        headers={**as_user(), "accept": "text/event-stream"},
    )
    assert r.status_code == 200, r.text
    events = parse_sse(r.text)
    print(events)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "hello again"}, headers=as_user()
    )
    print(r.json())
    r = await client.get(f"/conversations/{cid}", headers=as_user())
    print(r.json())
