"""all-MiniLM-L6-v2's forward pass in numpy, float32: the converter's reference.

The shipped ``minilm`` embedder runs an int8 ONNX graph (``graph.py`` builds it,
``convert.py`` quantizes it). This module computes the same sentence embeddings
directly from the original float32 weights, step by step as BERT defines them:
embeddings + LayerNorm, six layers of 12-head self-attention and a 1536-wide GELU
feed-forward (each with residual and LayerNorm), then mean pooling over the real
tokens and L2 normalisation, as sentence-transformers does for this model.
``convert.py`` refuses to write a model whose embeddings drift from these.
It was the embedder itself until ONNX Runtime made the same model 5-7x faster
(decision 0016).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[np.float32]]

HEADS = 12
LAYER_NORM_EPS = 1e-12
#: Texts are grouped by token count so padding stays small when an index is built.
BATCH_SIZE = 32
CLS_ID = 101
SEP_ID = 102


def cut(ids: list[int], limit: int) -> list[int]:
    """Word-piece ids cut to ``limit`` as the shipped embedder cuts them: the [SEP] is kept."""
    return [*ids[: limit - 1], SEP_ID] if len(ids) > limit else ids


def gelu(x: Array) -> Array:
    """GELU with the exact erf (as BERT), not the tanh shortcut.

    erf is Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), since numpy
    has no erf and scipy is not a dependency.
    """
    z = np.abs(x) * np.float32(0.7071067811865476)
    t = 1.0 / (1.0 + np.float32(0.3275911) * z)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t * (np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * 1.061405429))
        )
    )
    erf = 1.0 - poly * np.exp(-z * z)
    erf = np.where(x < 0, -erf, erf)
    result: Array = (0.5 * x * (1.0 + erf)).astype(np.float32, copy=False)
    return result


def layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    result: Array = centred / np.sqrt(variance + LAYER_NORM_EPS) * weight + bias
    return result


def softmax(x: Array) -> Array:
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    result: Array = shifted / shifted.sum(axis=-1, keepdims=True)
    return result


@dataclass(frozen=True, slots=True)
class Layer:
    """One transformer layer, matrices transposed to ``(in, out)`` for ``x @ w``."""

    qkv: Array  # (384, 1152): query, key and value projections side by side
    qkv_bias: Array
    out: Array
    out_bias: Array
    attention_norm: tuple[Array, Array]
    up: Array  # (384, 1536)
    up_bias: Array
    down: Array  # (1536, 384)
    down_bias: Array
    output_norm: tuple[Array, Array]


class MiniLM:
    """The model: weights in memory, a tokenizer, and the forward pass."""

    def __init__(
        self,
        arrays: dict[str, np.ndarray[Any, Any]],
        tokenizer: Any,
    ) -> None:
        self.tokenizer = tokenizer
        self._word = arrays["embeddings.word_embeddings.weight"].astype(np.float32)
        self._positions = arrays["embeddings.position_embeddings.weight"].astype(np.float32)
        self._token_type = arrays["embeddings.token_type_embeddings.weight"][0].astype(np.float32)
        self._embedding_norm = _norm(arrays, "embeddings.LayerNorm")
        count = 1 + max(int(k.split(".")[2]) for k in arrays if k.startswith("encoder.layer."))
        self.layers = [_layer(arrays, f"encoder.layer.{i}.") for i in range(count)]
        self.dimensions = int(self._positions.shape[1])
        self.max_positions = int(self._positions.shape[0])

    @classmethod
    def load(cls, weights: Path, tokenizer: Path) -> MiniLM:
        """The original ``model.safetensors`` and ``tokenizer.json``."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(tokenizer))
        tok.no_padding()  # padding is done per batch here
        tok.no_truncation()
        return cls(load_file(weights), tok)

    # -- tokens ----------------------------------------------------------------------------

    def token_ids(self, texts: Sequence[str], max_tokens: int) -> list[list[int]]:
        """WordPiece ids with [CLS] and [SEP], cut to ``max_tokens`` (the [SEP] is kept)."""
        limit = max(2, min(max_tokens, self.max_positions))
        if len(texts) == 1:
            encodings = [self.tokenizer.encode(texts[0])]
        else:
            encodings = self.tokenizer.encode_batch(list(texts))
        return [cut(list(encoding.ids), limit) for encoding in encodings]

    # -- forward pass ----------------------------------------------------------------------

    def embed(self, texts: Sequence[str], max_tokens: int = 128) -> Array:
        """One L2-normalised 384-d vector per text, in order."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        ids = self.token_ids(texts, max_tokens)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        result = np.empty((len(ids), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            result[rows] = self._encode([ids[i] for i in rows])
        return result

    def _encode(self, batch: Sequence[Sequence[int]]) -> Array:
        width = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        x = self._embeddings(ids)
        # Padded keys get -inf-like scores, so no real token attends to them.
        bias = None if mask.all() else ((mask - 1.0) * np.float32(1e9))[:, None, None, :]
        for layer in self.layers:
            x = self._layer(layer, x, bias)
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Array = pooled / np.maximum(norms, np.float32(1e-12))
        return result

    def _embeddings(self, ids: np.ndarray[Any, np.dtype[np.int64]]) -> Array:
        x = self._word[ids] + self._positions[: ids.shape[1]] + self._token_type
        return layer_norm(x, *self._embedding_norm)

    @staticmethod
    def _layer(layer: Layer, x: Array, bias: Array | None) -> Array:
        batch, width, hidden = x.shape
        flat = x.reshape(batch * width, hidden)
        qkv = flat @ layer.qkv + layer.qkv_bias
        head = hidden // HEADS
        # (3, batch, heads, width, head)
        qkv = qkv.reshape(batch, width, 3, HEADS, head).transpose(2, 0, 3, 1, 4)
        scores = (qkv[0] @ qkv[1].transpose(0, 1, 3, 2)) * np.float32(1.0 / np.sqrt(head))
        if bias is not None:
            scores = scores + bias
        context = softmax(scores) @ qkv[2]
        context = context.transpose(0, 2, 1, 3).reshape(batch * width, hidden)
        attended = layer_norm(context @ layer.out + layer.out_bias + flat, *layer.attention_norm)
        inner = gelu(attended @ layer.up + layer.up_bias)
        output = layer_norm(inner @ layer.down + layer.down_bias + attended, *layer.output_norm)
        result: Array = output.reshape(batch, width, hidden)
        return result


def _matrix(arrays: dict[str, np.ndarray[Any, Any]], name: str) -> Array:
    """A dense layer's ``(out, in)`` weight as a float32 ``(in, out)`` matrix."""
    return np.ascontiguousarray(arrays[name].astype(np.float32).T)


def _vector(arrays: dict[str, np.ndarray[Any, Any]], name: str) -> Array:
    result: Array = arrays[name].astype(np.float32)
    return result


def _norm(arrays: dict[str, np.ndarray[Any, Any]], prefix: str) -> tuple[Array, Array]:
    return _vector(arrays, prefix + ".weight"), _vector(arrays, prefix + ".bias")


def _layer(arrays: dict[str, np.ndarray[Any, Any]], prefix: str) -> Layer:
    attention = prefix + "attention.self."
    parts = ("query", "key", "value")
    return Layer(
        qkv=np.ascontiguousarray(
            np.concatenate([_matrix(arrays, f"{attention}{p}.weight") for p in parts], axis=1)
        ),
        qkv_bias=np.concatenate([_vector(arrays, f"{attention}{p}.bias") for p in parts]),
        out=_matrix(arrays, prefix + "attention.output.dense.weight"),
        out_bias=_vector(arrays, prefix + "attention.output.dense.bias"),
        attention_norm=_norm(arrays, prefix + "attention.output.LayerNorm"),
        up=_matrix(arrays, prefix + "intermediate.dense.weight"),
        up_bias=_vector(arrays, prefix + "intermediate.dense.bias"),
        down=_matrix(arrays, prefix + "output.dense.weight"),
        down_bias=_vector(arrays, prefix + "output.dense.bias"),
        output_norm=_norm(arrays, prefix + "output.LayerNorm"),
    )
