"""Lumen: an example host product that mounts supportai at ``/api/support/ai``.

It is written the way a real product would integrate supportai: the product owns
login, tenants and users, puts its user on ``request.user`` through Starlette's
``AuthenticationMiddleware`` (which is all supportai's default caller resolver
needs), composes supportai's lifespan into its own, and serves its own ticket
form that the escalation URL points to.
"""

from __future__ import annotations

from host_app.app import create_host_app
from host_app.config import HostConfig

__all__ = ["HostConfig", "__version__", "create_host_app"]

__version__ = "0.1.0"
