"""The chat widget's files as a host's browser fetches them, and the quota figure it shows.

What hosts rely on: one script tag works without sign-in (the page may load it before
the user has a session), the content types let a ``nosniff`` browser run and apply the
files, a revalidation is a 304 without a body, and the files ship inside the package
(not only in a source checkout). The browser side is in
``examples/host_app/tests/test_widget_browser.py``.
"""

from __future__ import annotations

import re
import zipfile
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from supportai.pipeline.budget import worst_case_cost
from supportai.settings import ModelPrice
from supportai.testing import ScriptedBackend, as_user, backend_plugin


@pytest.fixture
async def client(supportai_app: Any, supportai_client: Any) -> Any:
    return supportai_client(supportai_app())


@pytest.mark.parametrize(
    ("path", "media_type", "marker"),
    [
        ("/widget.js", "text/javascript", b'customElements.define("supportai-chat"'),
        ("/widget.css", "text/css", b"--supportai-accent"),
    ],
)
async def test_the_widget_files_are_served_without_a_caller(
    client: Any, path: str, media_type: str, marker: bytes
) -> None:
    response = await client.get(path)  # no caller headers at all
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert "charset=utf-8" in response.headers["content-type"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert marker in response.content
    cache_control = response.headers["cache-control"]
    assert "public" in cache_control and re.search(r"max-age=\d+", cache_control)
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])


async def test_a_revalidation_is_a_304_without_a_body(client: Any) -> None:
    first = await client.get("/widget.js")
    etag = first.headers["etag"]
    again = await client.get("/widget.js", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    # A list with a weak form of our tag matches too (If-None-Match uses weak comparison).
    listed = await client.get("/widget.js", headers={"if-none-match": f'"other", W/{etag}'})
    assert listed.status_code == 304
    stale = await client.get("/widget.js", headers={"if-none-match": '"0123"'})
    assert stale.status_code == 200 and stale.content == first.content


async def test_head_answers_the_headers_only(client: Any) -> None:
    response = await client.head("/widget.css")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["etag"]


async def test_the_files_are_package_data_and_not_in_the_api_document(client: Any) -> None:
    for name in ("widget.js", "widget.css"):
        assert files("supportai").joinpath("static", name).is_file()
    document = (await client.get("/openapi.json")).json()
    assert not any("widget" in path for path in document["paths"])


async def test_a_post_to_the_widget_is_a_typed_405(client: Any) -> None:
    response = await client.post("/widget.js", json={})
    assert response.status_code == 405
    assert response.json()["reason"] == "method_not_allowed"


def test_the_widget_never_parses_markup() -> None:
    """The widget's safety rule (model and article text only ever become text nodes)
    starts with not using any HTML-parsing sink; the browser tests check the result."""
    source = files("supportai").joinpath("static", "widget.js").read_text(encoding="utf-8")
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code, sink
    assert "new Function" not in code


async def test_quota_reports_the_most_one_turn_can_reserve(
    supportai_app: Any, supportai_client: Any
) -> None:
    """The widget shows the cost caps as questions: remaining // turn_reservation_micros."""
    backend = ScriptedBackend([ScriptedBackend.answer("ok")])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    quota = (await client.get("/quota", headers=as_user())).json()
    runtime = app.state.supportai
    await runtime.start()
    expected = worst_case_cost(runtime, "x" * runtime.settings.max_message_chars)
    assert expected > 0
    assert quota["turn_reservation_micros"] == expected
    # No shorter message reserves more: the figure is an upper bound per turn, so the
    # division is a lower bound on the questions left.
    assert worst_case_cost(runtime, "short question") <= expected


async def test_quota_reservation_is_zero_without_a_backend(client: Any) -> None:
    quota = (await client.get("/quota", headers=as_user())).json()
    assert quota["turn_reservation_micros"] == 0


async def test_quota_reservation_is_zero_for_a_free_model(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend([ScriptedBackend.answer("ok")], model="free-model")
    app = supportai_app(
        plugins=[backend_plugin(backend)],
        llm_backend="scripted",
        prices={"free-model": ModelPrice(input_per_1k_micros=0, output_per_1k_micros=0)},
    )
    quota = (await supportai_client(app).get("/quota", headers=as_user())).json()
    assert quota["turn_reservation_micros"] == 0


def test_the_wheel_ships_the_widget(tmp_path: Path) -> None:
    """Hosts install a wheel, not this checkout: the files must be package data in it."""
    from hatchling.builders.wheel import WheelBuilder

    root = Path(__file__).resolve().parents[1]
    wheel = next(WheelBuilder(str(root)).build(directory=str(tmp_path), versions=["standard"]))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"supportai/static/widget.js", "supportai/static/widget.css"} <= names
