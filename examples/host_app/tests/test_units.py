"""Small pieces of the host: password hashing, the help-center renderer, configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from host_app.config import (
    FILLED_MARKER,
    HostConfig,
    apply_supportai_defaults,
    supportai_defaults,
)
from host_app.helpcenter import article_path, render_markdown
from host_app.passwords import hash_password, verify_password


def test_password_round_trip_and_wrong_passwords() -> None:
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horse ", stored)
    assert not verify_password("", stored)


def test_hashes_keep_their_own_cost_parameters() -> None:
    cheap = hash_password("pw", n=2**10, r=4, p=1)
    assert cheap.startswith("scrypt$1024$4$1$")
    assert verify_password("pw", cheap)


def test_malformed_hashes_never_match() -> None:
    for stored in ("", "plain", "md5$x$y", "scrypt$1$2$3$!!$??", "scrypt$16384$8$1$AAAA"):
        assert not verify_password("pw", stored)


def test_markdown_is_escaped_before_it_is_marked_up() -> None:
    title, body = render_markdown(
        "# T <b>\n\nText with **bold** and `<code>` <script>x</script>.\n\n"
        "1. first\n2. second\n\n- a\n- b\n\n```\n<raw>\n```\n"
    )
    assert title == "T <b>"
    assert "<strong>bold</strong>" in body
    assert "<code>&lt;code&gt;</code>" in body
    assert "&lt;script&gt;" in body and "<script>" not in body
    assert "<ol><li>first</li><li>second</li></ol>" in body
    assert "<ul><li>a</li><li>b</li></ul>" in body
    assert "<pre><code>&lt;raw&gt;</code></pre>" in body


def test_article_slugs_cannot_leave_the_folder(tmp_path: Path) -> None:
    (tmp_path / "ok.md").write_text("# ok", encoding="utf-8")
    (tmp_path.parent / "secret.md").write_text("# no", encoding="utf-8")
    assert article_path(tmp_path, "ok") == tmp_path / "ok.md"
    for slug in ("../secret", "..", "/etc/passwd", "OK", "ok.md", ""):
        assert article_path(tmp_path, slug) is None


def test_supportai_defaults_never_override_the_environment(tmp_path: Path) -> None:
    config = HostConfig().model_copy(update={"data_dir": tmp_path})
    environ = {"SUPPORTAI_LLM_BACKEND": "openai"}
    applied = apply_supportai_defaults(config, environ)
    assert environ["SUPPORTAI_LLM_BACKEND"] == "openai"
    assert "SUPPORTAI_LLM_BACKEND" not in applied
    assert environ["SUPPORTAI_CLASSIFIERS"] == '["rules"]'
    assert environ["SUPPORTAI_OUTPUT_FILTERS"] == '["pii"]'
    assert set(applied) == set(supportai_defaults(config)) - {"SUPPORTAI_LLM_BACKEND"}
    assert "SUPPORTAI_LLM_BACKEND" not in json.loads(environ[FILLED_MARKER])


def test_shipped_articles_are_found(tmp_path: Path) -> None:
    articles = sorted(HostConfig().articles_dir.glob("*.md"))
    assert len(articles) >= 20


def test_session_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    config = HostConfig().model_copy(update={"data_dir": tmp_path / "d"})
    first = config.session_secret()
    assert len(first) >= 40
    assert config.session_secret() == first
    assert ((tmp_path / "d" / "session_secret").stat().st_mode & 0o777) == 0o600


def test_unknown_accounts_cost_a_password_check_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing must not tell which e-mail addresses have accounts."""
    import host_app.users as users_module
    from host_app.users import UserStore

    store = UserStore(tmp_path / "users.db")
    store.setup("pw")
    checked: list[str] = []
    real = users_module.verify_password

    def counting(password: str, stored: str) -> bool:
        checked.append(stored.split("$", 1)[0])
        return real(password, stored)

    monkeypatch.setattr(users_module, "verify_password", counting)
    assert store.authenticate("nobody@acme.example", "pw") is None
    assert store.authenticate("alice@acme.example", "wrong") is None
    assert store.authenticate(" Alice@ACME.example ", "pw") is not None
    assert checked == ["scrypt", "scrypt", "scrypt"]


def test_a_second_app_gets_its_own_defaults_but_never_overrides_the_user(tmp_path: Path) -> None:
    environ = {"SUPPORTAI_CLASSIFIERS": '["mine"]'}
    first = HostConfig().model_copy(update={"data_dir": tmp_path / "one"})
    second = HostConfig().model_copy(update={"data_dir": tmp_path / "two"})
    apply_supportai_defaults(first, environ)
    assert str(tmp_path / "one") in environ["SUPPORTAI_DATABASE_URL"]
    apply_supportai_defaults(second, environ)
    assert str(tmp_path / "two") in environ["SUPPORTAI_DATABASE_URL"]
    assert environ["SUPPORTAI_CLASSIFIERS"] == '["mine"]'
    environ["SUPPORTAI_DATABASE_URL"] = "sqlite+aiosqlite:///chosen.db"  # the user changed it
    apply_supportai_defaults(first, environ)
    assert environ["SUPPORTAI_DATABASE_URL"] == "sqlite+aiosqlite:///chosen.db"
