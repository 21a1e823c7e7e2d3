"""The trained injection model: a logistic regression over hashed features.

The weights ship inside this distribution (``data/injection_model.*``, about
1 MB) and are read on the first message scored, not when the plugin loads, so
an app that does not list ``injection_model`` or ``rules_model`` pays nothing.
Inference is plain Python over a flat ``array('f')``: a message touches a few
hundred to a couple of thousand weights, which costs well under a millisecond
and needs no numpy.

Scoring: ``p = sigmoid(bias + sum(w[i] for i in indices) / sqrt(len(indices)))``,
the same L2-normalised binary features ``training/train.py`` fits.
"""

from __future__ import annotations

import json
import math
import sys
import zlib
from array import array
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from supportai_classifiers.features import DIMENSIONS, indices

WEIGHTS_FILE = "injection_model.f32.z"
META_FILE = "injection_model.json"


class ModelFileError(RuntimeError):
    """The shipped weights are missing or do not match their metadata."""


@dataclass(frozen=True, slots=True)
class InjectionModel:
    """Weights, bias and the thresholds chosen on the dev split."""

    weights: array[float]
    bias: float
    threshold: float
    combined_threshold: float
    meta: dict[str, Any]

    def score(self, text: str) -> float:
        """Probability that ``text`` is an injection or extraction attempt."""
        found = indices(text)
        if not found:
            return _sigmoid(self.bias)
        weights = self.weights
        total = sum(weights[i] for i in found)
        return _sigmoid(self.bias + total / math.sqrt(len(found)))

    @classmethod
    def from_bytes(cls, meta: dict[str, Any], compressed: bytes) -> InjectionModel:
        """Build a model from its metadata and zlib-compressed little-endian float32 weights."""
        weights = array("f")
        weights.frombytes(zlib.decompress(compressed))
        if sys.byteorder == "big":
            weights.byteswap()
        if len(weights) != DIMENSIONS or meta.get("dimensions") != DIMENSIONS:
            raise ModelFileError(
                f"injection model has {len(weights)} weights, the features need {DIMENSIONS}"
            )
        return cls(
            weights=weights,
            bias=float(meta["bias"]),
            threshold=float(meta["threshold"]),
            combined_threshold=float(meta["combined_threshold"]),
            meta=meta,
        )


@cache
def shipped_model() -> InjectionModel:
    """The model inside the distribution, read once per process on first use."""
    folder = resources.files("supportai_classifiers") / "data"
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        compressed = (folder / WEIGHTS_FILE).read_bytes()
    except FileNotFoundError as exc:
        raise ModelFileError(
            f"the injection model is missing from supportai-classifiers ({exc.filename}); "
            "reinstall the distribution"
        ) from exc
    return InjectionModel.from_bytes(meta, compressed)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
