"""Lumen's help center goes into each tenant's knowledge base through the import.

The assistant answers from articles in supportai's database, which each
tenant's support admins then own (``/admin/articles``). So the shipped
Markdown folder is imported once per tenant, on the first start that finds
the tenant's knowledge base never written (version 0): later starts leave it
alone, and an admin's edits and deletions survive restarts. To load the
folder again on purpose: ``supportai kb import <folder> --tenant acme``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from supportai.knowledge import KnowledgeStore
from supportai.knowledge.ingest import import_source, read_source
from supportai.store.database import Database

log = logging.getLogger("host_app")

#: Who the audit log names for the seeded articles.
SEED_ACTOR = "host-app-seed"
#: Citations and the help-center pages agree on where an article lives.
URL_TEMPLATE = "/help/{slug}"


async def seed_help_center(
    database: Database, folder: Path, tenants: Iterable[str]
) -> dict[str, int]:
    """Import ``folder`` into every tenant that never had articles; ``{tenant: created}``."""
    store = KnowledgeStore(database)
    pending = [tenant for tenant in tenants if await store.version(tenant) == 0]
    if not pending:
        return {}
    source = read_source(folder, url_template=URL_TEMPLATE)
    seeded: dict[str, int] = {}
    for tenant in pending:
        result = await import_source(database, tenant, source, actor_id=SEED_ACTOR, origin="seed")
        seeded[tenant] = result.created
        log.info("help center: imported %d articles into tenant %s", result.created, tenant)
    return seeded
