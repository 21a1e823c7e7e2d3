"""The metrics of one app, in a registry of its own (``docs/plugins/metrics.md``).

Why not prometheus-client's process-global default registry: a host may build
two supportai apps in one process (two configurations, every test), and the
global registry refuses a second metric of the same name. Each app's registry
lives in its provider context (``context.state``), created on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from supportai.plugins import ProviderContext

STATE_KEY = "supportai-metrics"
#: Seconds: a stage from a fraction of a millisecond (quota) to a slow model.
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
#: Distinct intent label values kept; further ones count as ``other`` so that a
#: classifier inventing intents cannot grow the scrape without bound.
MAX_INTENTS = 50
#: Reason codes of the quota stage (``docs/errors.md``).
QUOTA_REASONS = frozenset({"rate_limited", "cost_cap_exceeded", "quota_store_unavailable"})


class SupportMetrics:
    """Every supportai metric of one app, and how each observer event updates them."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.turns = Counter(
            "supportai_turns",
            "Turns completed, by status and intent.",
            ["status", "intent"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "supportai_turn_stage_seconds",
            "Time spent per pipeline stage of a turn.",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.first_delta_seconds = Histogram(
            "supportai_time_to_first_delta_seconds",
            "From the start of the pipeline to the first answer text sent.",
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.refusals = Counter(
            "supportai_refusals", "Refused intents and blocked answers.", ["stage"], registry=r
        )
        self.escalations = Counter(
            "supportai_escalations", "Conversations handed to a human.", ["reason"], registry=r
        )
        self.cost_micros = Counter(
            "supportai_cost_micros", "Cost of turns, in millionths of the price unit.", registry=r
        )
        self.tokens = Counter(
            "supportai_tokens", "Model tokens of turns.", ["direction"], registry=r
        )
        self.rejections = Counter(
            "supportai_turn_rejections",
            "Turns refused before their answer started, by reason code.",
            ["reason"],
            registry=r,
        )
        self.quota_rejections = Counter(
            "supportai_quota_rejections",
            "Turns refused by the rate limit, the cost cap or an unavailable quota store.",
            ["reason"],
            registry=r,
        )
        self.retrievals = Counter(
            "supportai_retrievals",
            "Grounding look-ups, by source and outcome (answered or no_answer).",
            ["source", "outcome"],
            registry=r,
        )
        self.feedback = Counter(
            "supportai_feedback",
            "Feedback stored, by whether it was negative.",
            ["negative"],
            registry=r,
        )
        self._intents: set[str] = set()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def _child(self, metric: Counter | Histogram, *values: str) -> Any:
        """``metric.labels(*values)``, cached: ``labels`` costs more than the update itself."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def _intent(self, intent: Any) -> str:
        value = str(intent) if intent else "none"
        if value in self._intents or len(self._intents) < MAX_INTENTS:
            self._intents.add(value)
            return value
        return "other"

    def turn_completed(self, event: Mapping[str, Any]) -> None:
        status = str(event.get("status", "unknown"))
        self._child(self.turns, status, self._intent(event.get("intent"))).inc()
        for stage, ms in (event.get("timings_ms") or {}).items():
            self._child(self.stage_seconds, str(stage)).observe(float(ms) / 1000)
        first_delta = event.get("first_delta_ms")
        if first_delta is not None:
            self.first_delta_seconds.observe(float(first_delta) / 1000)
        if status == "refused":
            self._child(self.refusals, "intent").inc()
        elif status == "blocked":
            self._child(self.refusals, "output_filter").inc()
        self.cost_micros.inc(max(int(event.get("cost_micros") or 0), 0))
        usage = event.get("usage") or {}
        for direction in ("input", "output"):
            tokens = int(usage.get(f"{direction}_tokens") or 0)
            if tokens > 0:
                self._child(self.tokens, direction).inc(tokens)

    def turn_rejected(self, event: Mapping[str, Any]) -> None:
        reason = str(event.get("reason", "unknown"))
        self.rejections.labels(reason=reason).inc()
        if reason in QUOTA_REASONS:
            self.quota_rejections.labels(reason=reason).inc()

    def conversation_escalated(self, event: Mapping[str, Any]) -> None:
        self.escalations.labels(reason=str(event.get("reason", "unknown"))).inc()

    def retrieval_completed(self, event: Mapping[str, Any]) -> None:
        outcome = "answered" if int(event.get("documents") or 0) > 0 else "no_answer"
        self.retrievals.labels(source=str(event.get("source", "unknown")), outcome=outcome).inc()

    def feedback_received(self, event: Mapping[str, Any]) -> None:
        self.feedback.labels(negative=str(bool(event.get("negative"))).lower()).inc()


def metrics_for(context: ProviderContext) -> SupportMetrics:
    """The metrics of the app ``context`` belongs to (created on first use)."""
    metrics = context.state.get(STATE_KEY)
    if metrics is None:
        metrics = context.state[STATE_KEY] = SupportMetrics()
    assert isinstance(metrics, SupportMetrics)
    return metrics
