"""The host product's own settings (``HOST_APP_*``) and the supportai defaults it ships with.

Lumen's defaults make ``host-app`` run on a laptop with no network and no API key:
SQLite files in one data folder, the offline ``knowledge_base`` backend over the
help-center articles, the ``rules`` classifier and the ``pii`` output filter.
They are *defaults*: every ``SUPPORTAI_*`` variable set in the environment wins,
so ``SUPPORTAI_LLM_BACKEND=openai`` (plus the ``SUPPORTAI_OPENAI_*`` settings)
switches to a real model without touching code.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import MutableMapping
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
MOUNT_PATH = "/api/support/ai"
TICKET_FORM_PATH = "/support/tickets/new"
TICKET_URL_TEMPLATE = TICKET_FORM_PATH + "?conversation_id={conversation_id}"


def default_articles_dir() -> Path:
    """The articles shipped in the wheel, or the source folder when installed editable."""
    packaged = PACKAGE_DIR / "articles"
    if packaged.is_dir():
        return packaged
    return PACKAGE_DIR.parents[1] / "articles"


class HostConfig(BaseSettings):
    """Settings of the Lumen host itself (not of supportai)."""

    model_config = SettingsConfigDict(env_prefix="HOST_APP_", extra="forbid")

    data_dir: Path = Field(
        default=Path("host_app_data"),
        description="Folder for the SQLite files and the generated session secret.",
    )
    host: str = Field(default="127.0.0.1", description="Interface the server listens on.")
    port: int = Field(default=8000, ge=0, le=65535)
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs the session cookie. Unset: generated once and kept in data_dir.",
    )
    https_only: bool = Field(
        default=False, description="Mark the session cookie Secure (set it behind HTTPS)."
    )
    session_max_age_s: int = Field(default=8 * 3600, ge=60)
    demo_password: SecretStr = Field(
        default=SecretStr("lumen-demo"),
        description="Password of every seeded demo user (hashed before it is stored).",
    )
    articles_dir: Path = Field(default_factory=default_articles_dir)
    stream_delay_s: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Pause between streamed words of the knowledge-base answer, so a human "
        "sees it arrive (SUPPORTAI_KB_DELTA_DELAY_S wins when set).",
    )

    @property
    def users_db(self) -> Path:
        return self.data_dir / "host_app.db"

    @property
    def supportai_db(self) -> Path:
        return self.data_dir / "supportai.db"

    def session_secret(self) -> str:
        """The configured secret, or one generated on first start and reused afterwards."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "session_secret"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value)
        return value


#: Lumen's disclosure: supportai serves it from ``disclosure/status`` (with the link below)
#: and the widget shows it, so the text users accept is the one the server records a
#: version of. Blank lines separate paragraphs.
DISCLOSURE_TEXT = (
    "The assistant is an AI. It answers from Lumen's help center and can be wrong. Don't "
    "share passwords, card numbers or other secrets: personal data in answers is masked, "
    "and conversations may be reviewed by Lumen's support team to improve answers.\n\n"
    "You can ask for a human at any time."
)
#: The help-center article on what Lumen keeps, linked from the disclosure.
DISCLOSURE_URL = "/help/data-retention"


def supportai_defaults(config: HostConfig) -> dict[str, str]:
    """The ``SUPPORTAI_*`` values Lumen uses unless the environment says otherwise."""
    return {
        "SUPPORTAI_DATABASE_URL": f"sqlite+aiosqlite:///{config.supportai_db.resolve()}",
        "SUPPORTAI_LLM_BACKEND": "knowledge_base",
        "SUPPORTAI_CLASSIFIERS": json.dumps(["rules"]),
        "SUPPORTAI_OUTPUT_FILTERS": json.dumps(["pii"]),
        "SUPPORTAI_ESCALATION_URL_TEMPLATE": TICKET_URL_TEMPLATE,
        "SUPPORTAI_KB_ARTICLES_DIR": str(config.articles_dir.resolve()),
        # The contextual embedder (ONNX Runtime, 1.2-9 ms a question at p50 by CPU): on Lumen's
        # question set it puts the asked fact in the answer more often than wordllama, the
        # framework's default (docs/knowledge.md, "minilm against wordllama").
        "SUPPORTAI_KB_EMBEDDER": "minilm",
        "SUPPORTAI_KB_DELTA_DELAY_S": str(config.stream_delay_s),
        # Citations link to Lumen's own help-center pages (helpcenter.py).
        "SUPPORTAI_KB_URL_TEMPLATE": "/help/{source_id}",
        "SUPPORTAI_DISCLOSURE_TEXT": DISCLOSURE_TEXT,
        "SUPPORTAI_DISCLOSURE_URL": DISCLOSURE_URL,
    }


#: Where :func:`apply_supportai_defaults` remembers what it filled in, so that a later call
#: (another app in the same process, e.g. in tests) can tell its own earlier defaults, which
#: it may replace, from values the user set, which always win.
FILLED_MARKER = "HOST_APP_FILLED_SUPPORTAI_DEFAULTS"


def apply_supportai_defaults(
    config: HostConfig, environ: MutableMapping[str, str] | None = None
) -> dict[str, str]:
    """Fill in the defaults that the user did not set; return what was filled in.

    Environment variables (not a ``Settings`` object) carry them because plugins
    read their own ``SUPPORTAI_<KEY>_*`` settings from the environment too, e.g.
    the knowledge base that grounds the ``openai`` backend.
    """
    target = os.environ if environ is None else environ
    filled: dict[str, str] = json.loads(target.get(FILLED_MARKER, "{}"))
    applied = {}
    for key, value in supportai_defaults(config).items():
        ours = key in filled and target.get(key) == filled[key]
        if key not in target or ours:
            target[key] = value
            applied[key] = filled[key] = value
    target[FILLED_MARKER] = json.dumps(filled, sort_keys=True)
    return applied
