"""Hook implementations: the ``redis`` quota store and its settings model.

Registered under the entry point ``redis`` in group ``supportai``. Installing
this distribution changes nothing by itself: core builds the store only when
``SUPPORTAI_QUOTA_STORE=redis``, and only then is ``redis`` imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings

from supportai import hookimpl
from supportai_redis.settings import RedisQuotaSettings

if TYPE_CHECKING:
    from supportai.hookspecs import Register
    from supportai.plugins import ProviderContext
    from supportai_redis.store import RedisQuotaStore


def build_store(context: ProviderContext) -> RedisQuotaStore:
    """Factory for ``SUPPORTAI_QUOTA_STORE=redis`` (imports redis-py lazily)."""
    from supportai_redis.store import RedisQuotaStore

    return RedisQuotaStore.from_context(context)


@hookimpl
def supportai_settings_models() -> Sequence[type[BaseSettings]]:
    return [RedisQuotaSettings]


@hookimpl
def supportai_register_quota_stores(register: Register) -> None:
    register("redis", build_store)
