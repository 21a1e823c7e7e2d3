"""The embedding provider protocol: text in, one vector per text out.

Retrieval plugins rank help-center chunks by meaning with an embedder chosen by
name (``supportai_register_embedders``), like every other provider. Core only
defines the shape, so a host can bring its own model (a local server, a vendor
API) without touching the retrieval code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


class EmbeddingError(Exception):
    """The embedder could not embed (server down, bad answer): retrieval falls back to words."""


@runtime_checkable
class Embedder(Protocol):
    """A registered embedder.

    ``model`` names the model and its version: vectors are cached (and persisted)
    under it, so two models never mix. ``embed`` returns one vector per text, all
    of the same length, in the order given; vectors need not be normalised.
    """

    name: str
    model: str

    async def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        """Vectors for ``texts``. Raise :class:`EmbeddingError` on failure."""
        ...
