"""all-MiniLM-L6-v2 sentence embeddings, computed with numpy alone.

A contextual embedder reads a word in its sentence ("bill" next to "pay" is an
invoice), which static word vectors (wordllama) cannot. Running the model through
torch would add a ~700 MB dependency for six small layers, so this module does
the BERT forward pass itself: embeddings + LayerNorm, six layers of 12-head
self-attention and a 1536-wide GELU feed-forward (each with residual and
LayerNorm), then mean pooling over the real tokens and L2 normalisation, the
same as sentence-transformers' pipeline for this model.

The weights ship inside the plugin (``minilm_data/``, converted from the original
``model.safetensors`` by ``training/minilm/convert.py``): matrices as int8 with a
float32 scale per output channel. Dense layers are dequantized to float32 once at
load (42 MB of memory); the word-embedding table stays int8 and only the rows a
text uses are scaled. Nothing is ever downloaded.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[np.float32]]

DATA_DIR = Path(__file__).resolve().parent / "minilm_data"
WEIGHTS_FILE = DATA_DIR / "minilm-l6-v2.npz"
TOKENIZER_FILE = DATA_DIR / "tokenizer.json"

HEADS = 12
LAYER_NORM_EPS = 1e-12
#: Texts are grouped by token count so padding stays small when an index is built.
BATCH_SIZE = 32
CLS_ID = 101
SEP_ID = 102


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
        self._word, self._word_scale = _table(arrays, "embeddings.word_embeddings.weight")
        self._positions = arrays["embeddings.position_embeddings.weight"].astype(np.float32)
        self._token_type = arrays["embeddings.token_type_embeddings.weight"][0].astype(np.float32)
        self._embedding_norm = _norm(arrays, "embeddings.LayerNorm")
        count = 1 + max(int(k.split(".")[2]) for k in arrays if k.startswith("encoder.layer."))
        self.layers = [_layer(arrays, f"encoder.layer.{i}.") for i in range(count)]
        self.dimensions = int(self._positions.shape[1])
        self.max_positions = int(self._positions.shape[0])

    @classmethod
    def load(cls, weights: Path = WEIGHTS_FILE, tokenizer: Path = TOKENIZER_FILE) -> MiniLM:
        """Read the shipped files (or the converter's float32 reference)."""
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(tokenizer))
        # tokenizer.json pads every text to 128 tokens; padding is done per batch here.
        tok.no_padding()
        tok.no_truncation()
        with np.load(weights) as data:
            arrays = {name: data[name] for name in data.files}
        return cls(arrays, tok)

    # -- tokens ----------------------------------------------------------------------------

    def token_ids(self, texts: Sequence[str], max_tokens: int) -> list[list[int]]:
        """WordPiece ids with [CLS] and [SEP], cut to ``max_tokens`` (the [SEP] is kept)."""
        limit = max(2, min(max_tokens, self.max_positions))
        if len(texts) == 1:
            encodings = [self.tokenizer.encode(texts[0])]
        else:
            encodings = self.tokenizer.encode_batch(list(texts))
        result = []
        for encoding in encodings:
            ids = list(encoding.ids)
            if len(ids) > limit:
                ids = [*ids[: limit - 1], SEP_ID]
            result.append(ids)
        return result

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
        words = self._word[ids].astype(np.float32)
        if self._word_scale is not None:
            words *= self._word_scale[ids][:, :, None]
        x = words + self._positions[: ids.shape[1]] + self._token_type
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


_lock = threading.Lock()
_loaded: MiniLM | None = None


def load_minilm() -> MiniLM:
    """The shipped model, loaded once per process on first use."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = MiniLM.load()
    return _loaded


def _table(arrays: dict[str, np.ndarray[Any, Any]], name: str) -> tuple[Any, Array | None]:
    """The word-embedding table as stored (int8 plus row scales, or float)."""
    if name + ".q" in arrays:
        return arrays[name + ".q"], arrays[name + ".scale"].astype(np.float32)
    return arrays[name].astype(np.float32), None


def _matrix(arrays: dict[str, np.ndarray[Any, Any]], name: str) -> Array:
    """A dense layer's ``(out, in)`` weight as a float32 ``(in, out)`` matrix."""
    if name + ".q" in arrays:
        weight = arrays[name + ".q"].astype(np.float32) * arrays[name + ".scale"][:, None]
    else:
        weight = arrays[name].astype(np.float32)
    return np.ascontiguousarray(weight.T)


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
