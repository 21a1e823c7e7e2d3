"""supportai output filters: ``pii`` (streaming redaction) and ``guardrails`` (guardrails-ai)."""

__version__ = "0.1.0"
