"""supportai-metrics: Prometheus metrics of a supportai app, from its observer hooks.

Install the distribution (the ``metrics`` entry point registers the hooks) and
mount :func:`metrics_app` where your operators scrape it.
"""

from supportai_metrics.asgi import metrics_app
from supportai_metrics.collectors import SupportMetrics, metrics_for

__all__ = ["SupportMetrics", "__version__", "metrics_app", "metrics_for"]

__version__ = "0.1.0"
