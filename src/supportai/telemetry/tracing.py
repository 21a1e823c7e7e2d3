"""OpenTelemetry spans for a turn's stages and backend calls (``docs/operations.md``).

Only ``opentelemetry-api`` is used: the host decides whether spans are recorded
and where they go by configuring an SDK (``TracerProvider``) of its own. Until it
does, the pipeline starts no span at all (:func:`enabled`): nothing is recorded,
nothing leaves the process, and a span site costs one check.

Attributes carry ids, names, counts and statuses only: never message text, a
user's identity or anything else personal (``tests/test_tracing.py`` checks it).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

if TYPE_CHECKING:
    from supportai.llm import BackendEvent, BackendRequest, LLMBackend

P = ParamSpec("P")
R = TypeVar("R")

TRACER_NAME = "supportai"
Attributes = dict[str, str | int | float | bool]


_TRACER = trace.get_tracer(TRACER_NAME)


def tracer() -> trace.Tracer:
    """The supportai tracer of whatever provider the host set.

    Fetched once: before the host sets a provider the API returns a proxy that
    switches to the real tracer when one is set, so the order does not matter.
    """
    return _TRACER


def enabled() -> bool:
    """Has the host configured a tracer provider (an SDK)?

    Without one, every span would be the API's no-op span: still a context
    manager, a context attach and a few objects per span. The pipeline skips them
    altogether instead, so tracing costs one global look-up per span site until a
    host turns it on (``bench/metrics_overhead.py`` measures both).
    """
    return not isinstance(
        trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
    )


def _fail(span: Span, exc: BaseException) -> None:
    """Mark ``span`` failed with the error's type and typed reason, never its text."""
    from supportai.errors import SupportAIError

    reason = exc.reason.value if isinstance(exc, SupportAIError) else type(exc).__name__
    span.set_attribute("supportai.reason", reason)
    span.set_status(Status(StatusCode.ERROR, reason))


@contextmanager
def span(name: str, attributes: Attributes | None = None) -> Iterator[Span]:
    """A current span around a block; an exception marks it failed and propagates."""
    with tracer().start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as exc:
            _fail(current, exc)
            raise


def traced(
    name: str,
    attributes: Callable[..., Attributes],
    outcome: Callable[..., Attributes] | None = None,
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """Decorate an ``async def`` so each call runs in a span named ``name``.

    ``attributes`` receives the call's arguments and returns the span's starting
    attributes; ``outcome`` (if given) receives the result followed by the
    arguments and returns attributes added when the call returns. A decorator
    rather than a ``with`` block keeps the traced pipeline functions' bodies as
    they are.
    """

    def decorate(
        function: Callable[P, Coroutine[Any, Any, R]],
    ) -> Callable[P, Coroutine[Any, Any, R]]:
        @wraps(function)
        async def call(*args: P.args, **kwargs: P.kwargs) -> R:
            if not enabled():
                return await function(*args, **kwargs)
            with span(name, attributes(*args, **kwargs)) as current:
                result = await function(*args, **kwargs)
                if outcome is not None and current.is_recording():
                    current.set_attributes(outcome(result, *args, **kwargs))
                return result

        return call

    return decorate


def stage_span(stage: str, started: float) -> None:
    """Record a finished pipeline stage that began at ``started`` (``perf_counter``).

    Called from :meth:`supportai.pipeline.prepare.Timings.add` when a stage ends, so the
    stages need no ``with`` block of their own: the span is started at the stage's
    start time, as a child of the current (prepare or answer) span, and ended now.
    """
    if not trace.get_current_span().is_recording():
        return  # no SDK, or a parent that is not sampled: nothing to record
    elapsed_ns = int((time.perf_counter() - started) * 1e9)
    now = time.time_ns()
    finished = tracer().start_span(
        f"supportai.stage.{stage}",
        start_time=now - elapsed_ns,
        attributes={"supportai.stage": stage},
    )
    finished.end(end_time=now)


def traced_stream(
    backend: LLMBackend, request: BackendRequest, round_number: int
) -> AsyncIterator[BackendEvent]:
    """``backend.stream(request)``, inside a ``supportai.backend.stream`` span if tracing is on."""
    if not enabled():
        return backend.stream(request)
    return _traced_stream(backend, request, round_number)


async def _traced_stream(
    backend: LLMBackend, request: BackendRequest, round_number: int
) -> AsyncIterator[BackendEvent]:
    """The span is not made current: it brackets an async generator, which yields to
    other code between events, and nothing is nested inside a backend call.
    """
    from supportai.llm import TextDelta

    call = tracer().start_span(
        "supportai.backend.stream",
        attributes={
            "supportai.backend": str(getattr(backend, "name", type(backend).__name__)),
            "supportai.model": str(backend.model),
            "supportai.tenant_id": request.caller.tenant_id,
            "supportai.conversation_id": request.conversation_id,
            "supportai.round": round_number,
        },
    )
    deltas = 0
    try:
        async for event in backend.stream(request):
            if isinstance(event, TextDelta):
                deltas += 1
            yield event
    except BaseException as exc:
        _fail(call, exc)
        raise
    else:
        call.set_status(Status(StatusCode.OK))
    finally:
        call.set_attribute("supportai.deltas", deltas)
        call.end()
