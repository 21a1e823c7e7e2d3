"""The turn pipeline: stages, streaming output filters, the tool loop and SSE framing."""
