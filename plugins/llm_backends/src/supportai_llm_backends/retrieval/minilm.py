"""all-MiniLM-L6-v2 sentence embeddings, run by ONNX Runtime from an int8 model.

A contextual embedder reads a word in its sentence ("bill" next to "pay" is an
invoice), which static word vectors (wordllama) cannot. The model ships inside
the plugin (``minilm_data/``: the graph with int8 weights, written by
``training/minilm/convert.py``, and the WordPiece tokenizer), so nothing is ever
downloaded. ONNX Runtime (the ``minilm`` extra) runs it without torch; its
integer kernels embed a question in 1.1-2.2 ms on one core of a CPU with VNNI
and about 3 ms on one without (AVX2 only; 1.9 ms on two cores), against 8 ms for
the numpy forward pass this replaced (decision 0016).

The graph has two outputs: the sentence vector, and each word piece's own vector
in the sentence, which the word-piece alignment reads (``alignment.py``, decision
0025); :meth:`MiniLM.embed` asks for the first only, :meth:`MiniLM.encode` for both.

Each text runs alone. The model quantizes its activations per run, so in a batch
a text's vector would shift with its batch-mates; alone, a section gets the same
vector at every index build and a question the one it would get as a section.
There is no padding either, hence no attention mask.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from supportai_llm_backends.retrieval.dense import normalise

from supportai.errors import ConfigurationError

Array = np.ndarray[Any, np.dtype[np.float32]]

DATA_DIR = Path(__file__).resolve().parent / "minilm_data"
MODEL_FILE = DATA_DIR / "minilm-l6-v2-int8.onnx"
TOKENIZER_FILE = DATA_DIR / "tokenizer.json"

DIMENSIONS = 384
#: Position embeddings the shipped graph keeps (``training/minilm/graph.py``).
MAX_POSITIONS = 128
SEP_ID = 102
#: ONNX Runtime graph rewrites left off. From 1.30 its fused SkipLayerNormalization
#: kernel takes three times as long on a question's few rows as in 1.29 (0.7 against
#: 0.25 ms of a 3.5 ms question), more than the Add and LayerNormalization it fuses.
#: Unfused, the sums round differently and the vectors move a little (cosine 0.996
#: at worst), hence a model id of their own (decision 0024).
UNFUSED = ("SkipLayerNormFusion",)
INSTALL_HINT = "pip install 'supportai-llm-backends[minilm]'"


def onnxruntime_missing() -> str | None:
    """Why ``minilm`` cannot run here (ONNX Runtime not installed), or ``None``."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None:
        return f"the minilm embedder needs ONNX Runtime: {INSTALL_HINT}"
    return None


class MiniLM:
    """The model: an ONNX Runtime session and the tokenizer."""

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.dimensions = DIMENSIONS

    @classmethod
    def load(
        cls,
        model: Path = MODEL_FILE,
        tokenizer: Path = TOKENIZER_FILE,
        threads: int = 1,
        unfused: Sequence[str] = UNFUSED,
    ) -> MiniLM:
        """Read the shipped files into a session running on ``threads`` threads.

        The embedder asks for :func:`default_threads` unless the host sets
        ``SUPPORTAI_EMBEDDINGS_MINILM_THREADS``: a question is on the path to the
        first token, and on a CPU without VNNI a second thread makes it 1.5x faster
        wherever a core is idle, with the same throughput when every core is already
        embedding (decision 0020); with VNNI one thread is faster (decision 0029). The
        pool does not spin between runs, so an idle thread costs no CPU. ``unfused`` names
        the graph rewrites ONNX Runtime must not apply (:data:`UNFUSED`; ``()`` applies
        them all, which ``training/minilm/measure.py`` compares against).
        """
        missing = onnxruntime_missing()
        if missing is not None:
            raise ConfigurationError(missing)
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # warnings about the graph would reach the host's log
        session = onnxruntime.InferenceSession(
            str(model),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=list(unfused),
        )
        tok = Tokenizer.from_file(str(tokenizer))
        tok.no_padding()  # tokenizer.json pads every text to 128 tokens
        tok.no_truncation()
        return cls(session, tok)

    def token_ids(self, text: str, max_tokens: int) -> list[int]:
        """WordPiece ids with [CLS] and [SEP], cut to ``max_tokens`` (the [SEP] is kept)."""
        limit = max(2, min(max_tokens, MAX_POSITIONS))
        ids = list(self.tokenizer.encode(text).ids)
        if len(ids) > limit:
            ids = [*ids[: limit - 1], SEP_ID]
        return ids

    def embed(self, texts: Sequence[str], max_tokens: int = MAX_POSITIONS) -> Array:
        """One L2-normalised 384-d vector per text, in order."""
        result = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = np.asarray([self.token_ids(text, max_tokens)], dtype=np.int64)
            pooled = self.session.run(["pooled"], {"input_ids": ids})[0][0]
            result[row] = unit(pooled)
        return result

    def encode(self, text: str, max_tokens: int = MAX_POSITIONS) -> Encoded:
        """The text's vector (as :meth:`embed` gives it) and each word piece's own
        vector in the sentence, from the same run: the word-piece alignment reads them
        (``retrieval/alignment.py``) at no second pass."""
        ids = self.token_ids(text, max_tokens)
        pooled, states = self.session.run(None, {"input_ids": np.asarray([ids], dtype=np.int64)})
        return Encoded(unit(pooled[0]), tuple(ids), normalise(states[0]))


@dataclass(frozen=True, slots=True)
class Encoded:
    """One text through the model: its vector, its word-piece ids ([CLS] and [SEP]
    included) and one L2-normalised vector per word piece, in order."""

    vector: Array
    ids: tuple[int, ...]
    states: Array


def unit(vector: Array) -> Array:
    """``vector`` scaled to length 1, exactly as the persisted sentence vectors were (its
    norm taken over the whole vector, which can differ in the last bit from
    :func:`.dense.normalise`'s row norms)."""
    scaled: Array = vector / max(float(np.linalg.norm(vector)), 1e-12)
    return scaled


_lock = threading.Lock()
_loaded: dict[int, MiniLM] = {}


@functools.cache
def usable_cpus() -> int:
    """CPUs this process may run on (its affinity, e.g. a container's cpuset), read once:
    every embedding asks, and the affinity is set when the process starts."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: ONNX Runtime threads per run by default, on a CPU without VNNI (decision 0020) and with
#: it (decision 0029).
THREADS_WITHOUT_VNNI = 2
THREADS_WITH_VNNI = 1


@functools.cache
def cpu_has_vnni() -> bool:
    """Whether the CPU has VNNI (AVX-512 or AVX) int8 dot products, from Linux's
    ``/proc/cpuinfo``; ``False`` where that cannot be read (then two threads, as before)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    flags = set(line.partition(":")[2].split())
                    return bool(flags & {"avx512_vnni", "avx_vnni"})
    except OSError:
        pass
    return False


def default_threads() -> int:
    """Threads per run when the host sets none. With VNNI a question's int8 products take
    about 1.2 ms on one core, and a second thread only adds hand-offs between the ~70
    nodes of a run (1.67 ms on two); without VNNI the products dominate and two threads
    take 0.7x the time of one (decisions 0020 and 0029)."""
    return THREADS_WITH_VNNI if cpu_has_vnni() else THREADS_WITHOUT_VNNI


def load_minilm(threads: int | None = None) -> MiniLM:
    """The shipped model on ``threads`` threads (unset: :func:`default_threads`; at most
    the usable CPUs: a second thread on a single core only adds hand-offs), loaded once
    per process on first use."""
    threads = max(1, min(default_threads() if threads is None else threads, usable_cpus()))
    model = _loaded.get(threads)
    if model is None:
        with _lock:
            model = _loaded.get(threads)
            if model is None:
                model = _loaded[threads] = MiniLM.load(threads=threads)
    return model
