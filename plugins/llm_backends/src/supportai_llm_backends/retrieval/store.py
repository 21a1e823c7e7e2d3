"""Where embeddings are persisted, so a restart does not re-embed the help center.

Vectors are stored per tenant and per embedder ``model`` under the content key
of the text they embed (:attr:`Chunk.key`): an unchanged section keeps its
vector whatever else changed, which is what makes an article edit an
incremental update.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger("supportai.knowledge")


def text_key(text: str) -> str:
    """The content key a vector is cached and persisted under."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class EmbeddingStore(Protocol):
    async def load(self, tenant_id: str, model: str, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored vectors among ``keys`` (missing keys are simply absent)."""
        ...

    async def save(self, tenant_id: str, model: str, vectors: Mapping[str, bytes]) -> None: ...

    async def prune(self, tenant_id: str, model: str, keep: Collection[str]) -> None:
        """Forget the tenant's vectors of ``model`` that no current section uses."""
        ...


class FileEmbeddingStore:
    """One ``.npz`` file per tenant and model in a folder, replaced atomically."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, tenant_id: str, model: str) -> Path:
        name = hashlib.blake2b(f"{tenant_id}\0{model}".encode(), digest_size=12).hexdigest()
        return self.folder / f"{name}.npz"

    def _read(self, tenant_id: str, model: str) -> dict[str, bytes]:
        path = self._path(tenant_id, model)
        try:
            with np.load(path, allow_pickle=False) as data:
                keys = [str(k) for k in data["keys"]]
                vectors = data["vectors"]
        except (OSError, KeyError, ValueError):
            return {}  # missing or unreadable: re-embedding is always correct
        return {key: vectors[i].astype("<f4").tobytes() for i, key in enumerate(keys)}

    def _write(self, tenant_id: str, model: str, vectors: Mapping[str, bytes]) -> None:
        merged = self._read(tenant_id, model)
        merged.update(vectors)
        if not merged:
            return
        keys = sorted(merged)
        matrix = np.stack([np.frombuffer(merged[key], dtype="<f4") for key in keys])
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, keys=np.array(keys), vectors=matrix)
            os.replace(temporary, self._path(tenant_id, model))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def load(self, tenant_id: str, model: str, keys: Sequence[str]) -> dict[str, bytes]:
        stored = await asyncio.to_thread(self._read, tenant_id, model)
        return {key: stored[key] for key in keys if key in stored}

    async def save(self, tenant_id: str, model: str, vectors: Mapping[str, bytes]) -> None:
        if vectors:
            await asyncio.to_thread(self._write, tenant_id, model, vectors)

    async def prune(self, tenant_id: str, model: str, keep: Collection[str]) -> None:
        await asyncio.to_thread(self._prune, tenant_id, model, set(keep))

    def _prune(self, tenant_id: str, model: str, keep: set[str]) -> None:
        stored = self._read(tenant_id, model)
        if stored.keys() - keep:
            self._path(tenant_id, model).unlink(missing_ok=True)
            self._write(tenant_id, model, {k: v for k, v in stored.items() if k in keep})


class MemoryEmbeddingStore:
    """Nothing persisted (tests, and a read-only deployment that accepts re-embedding)."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], dict[str, bytes]] = {}

    async def load(self, tenant_id: str, model: str, keys: Sequence[str]) -> dict[str, bytes]:
        stored = self.data.get((tenant_id, model), {})
        return {key: stored[key] for key in keys if key in stored}

    async def save(self, tenant_id: str, model: str, vectors: Mapping[str, bytes]) -> None:
        self.data.setdefault((tenant_id, model), {}).update(vectors)

    async def prune(self, tenant_id: str, model: str, keep: Collection[str]) -> None:
        stored = self.data.get((tenant_id, model), {})
        wanted = set(keep)
        for key in [key for key in stored if key not in wanted]:
            del stored[key]


class VectorStore(Protocol):
    """Core's ``KnowledgeStore`` embedding methods (vectors in the app's database)."""

    async def load_embeddings(
        self, tenant_id: str, model: str, keys: Sequence[str]
    ) -> dict[str, bytes]: ...

    async def save_embeddings(
        self, tenant_id: str, model: str, vectors: Mapping[str, bytes]
    ) -> None: ...

    async def prune_embeddings(self, tenant_id: str, model: str, keep: Collection[str]) -> int: ...


class DatabaseEmbeddingStore:
    """Embeddings persisted in the app's database, shared by every worker."""

    def __init__(self, store: VectorStore) -> None:
        self.store = store

    async def load(self, tenant_id: str, model: str, keys: Sequence[str]) -> dict[str, bytes]:
        try:
            return await self.store.load_embeddings(tenant_id, model, keys)
        except Exception as exc:  # unreadable: embedding again is always correct
            log.warning("stored embeddings unavailable (%s); embedding again", type(exc).__name__)
            return {}

    async def save(self, tenant_id: str, model: str, vectors: Mapping[str, bytes]) -> None:
        if not vectors:
            return
        try:
            await self.store.save_embeddings(tenant_id, model, vectors)
        except Exception as exc:  # the index still works; the next build embeds again
            log.warning("embeddings could not be stored (%s)", type(exc).__name__)

    async def prune(self, tenant_id: str, model: str, keep: Collection[str]) -> None:
        try:
            await self.store.prune_embeddings(tenant_id, model, keep)
        except Exception as exc:  # stale vectors only cost space
            log.warning("stale embeddings could not be pruned (%s)", type(exc).__name__)
