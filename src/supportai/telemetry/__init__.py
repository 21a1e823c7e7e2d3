"""Traces, log context and request ids: observability that costs nothing when unused.

* :mod:`~supportai.telemetry.tracing`: OpenTelemetry spans through
  ``opentelemetry-api`` only. Without an SDK configured by the host the API's
  no-op tracer answers, so nothing is recorded and nothing is exported;
* :mod:`~supportai.telemetry.logcontext`: request, tenant, conversation and turn
  ids on every log record, from context variables;
* :mod:`~supportai.telemetry.middleware`: the ASGI middleware that sets the
  request id (``X-Request-ID``) and opens the request span.

Metrics live in a plugin (``supportai-metrics``), fed by the observer hooks.
"""
