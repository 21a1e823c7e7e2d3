"""``metrics_app(support_app)``: the Prometheus scrape endpoint of one supportai app.

It is a separate ASGI app on purpose: the supportai sub-app serves end users
(mounted at ``/api/support/ai``), and an operator endpoint must not become public
because the assistant is. The host mounts it where only operators reach it.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import make_asgi_app
from starlette.types import ASGIApp

from supportai_metrics.collectors import metrics_for


def metrics_app(support_app: Any) -> ASGIApp:
    """An ASGI app answering ``GET`` with the metrics of ``support_app`` (text format).

    ``support_app`` is what ``supportai.create_app`` returned. The registry is
    created now if no event has arrived yet, so a scrape before the first turn
    sees every metric (at zero) rather than an empty page.
    """
    runtime = getattr(getattr(support_app, "state", None), "supportai", None)
    if runtime is None:
        raise TypeError("metrics_app expects the app returned by supportai.create_app")
    app: ASGIApp = make_asgi_app(registry=metrics_for(runtime.context).registry)
    return app
