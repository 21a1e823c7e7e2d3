"""Resumable turn streams: the event log, the live turns of this worker, the reader.

See docs/decisions/0011-resumable-turn-events.md and docs/sse.md ("Resuming a stream").
"""
