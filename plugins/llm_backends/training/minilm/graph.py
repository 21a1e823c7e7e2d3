"""all-MiniLM-L6-v2 as an ONNX graph, built from its original weights.

No exporter is involved (the model normally comes from torch, which supportai
never installs): each step of BERT's forward pass is written as ONNX operators,
the same steps ``reference.py`` computes in numpy. ``convert.py`` then quantizes
the dense layers to int8 with ONNX Runtime's dynamic quantization.

Self-attention and the feed-forward's GELU are written as ONNX Runtime's own
fused operators (``com.microsoft`` ``Attention`` and ``BiasGelu``, in every ONNX
Runtime the ``minilm`` extra allows, 1.17 on): they compute exactly what the plain
operators do (the same vectors to the last bit on the example help center), but a
question runs about 70 nodes instead of 170: 0.1 ms less a question on one thread,
0.3-0.45 ms (15 %) less on two, where every node is a hand-off between the threads.

Input ``input_ids`` is ``(batch, tokens)`` int64 with ``[CLS]`` and ``[SEP]``,
no padding: the embedder runs one text at a time, so there is no attention mask.
Output ``pooled`` is the mean of the last layer over the tokens, ``(batch, 384)``,
not yet normalised (the embedder divides by the norm).

The word-embedding table (30,522 x 384) is stored as int8 with one float32 scale
per row, and only the rows a text uses are scaled: 11 MB instead of 47 MB.
"""

from __future__ import annotations

from typing import Any

import numpy as np

HEADS = 12
LAYER_NORM_EPS = 1e-12
#: Longest input the embedder accepts; position embeddings past it are dropped.
MAX_POSITIONS = 128
OPSET = 17  # LayerNormalization
#: ONNX Runtime's operator domain (Attention, BiasGelu).
MICROSOFT = "com.microsoft"

Weights = dict[str, np.ndarray[Any, Any]]


class GraphBuilder:
    """Nodes and initializers of one graph, named as they are added."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def constant(self, name: str, value: np.ndarray[Any, Any]) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def integers(self, name: str, *values: int) -> str:
        return self.constant(name, np.array(values, dtype=np.int64))

    def op(
        self,
        op_type: str,
        inputs: list[str],
        output: str | None = None,
        domain: str = "",
        **attrs: Any,
    ) -> str:
        from onnx import helper

        self._count += 1
        name = output or f"{op_type.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op_type, inputs, [name], domain=domain, **attrs))
        return name

    def dense(self, x: str, weights: Weights, prefix: str) -> str:
        """``x @ W.T + b`` for a torch ``Linear`` stored as ``(out, in)``."""
        return self.op("Add", [self.product(x, weights, prefix), self.bias(weights, prefix)])

    def product(self, x: str, weights: Weights, prefix: str) -> str:
        """``x @ W.T``: a ``Linear`` without its bias."""
        matrix = np.ascontiguousarray(weights[prefix + ".weight"].astype(np.float32).T)
        return self.op("MatMul", [x, self.constant(prefix + ".w", matrix)])

    def bias(self, weights: Weights, prefix: str) -> str:
        return self.constant(prefix + ".b", _f32(weights, prefix + ".bias"))

    def layer_norm(self, x: str, weights: Weights, prefix: str) -> str:
        scale = self.constant(prefix + ".gamma", _f32(weights, prefix + ".weight"))
        bias = self.constant(prefix + ".beta", _f32(weights, prefix + ".bias"))
        return self.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=LAYER_NORM_EPS)


def build(weights: Weights) -> Any:
    """The float32 ``onnx.ModelProto`` of the sentence encoder (checked by ``onnx``)."""
    import onnx
    from onnx import TensorProto, helper

    g = GraphBuilder()
    x = _embeddings(g, weights)
    count = 1 + max(int(k.split(".")[2]) for k in weights if k.startswith("encoder.layer."))
    for i in range(count):
        x = _layer(g, weights, f"encoder.layer.{i}.", x)
    g.op("ReduceMean", [x], output="pooled", axes=[1], keepdims=0)  # axes: attribute before 18
    # Each word piece's own vector in its sentence too: the retrieval's word-piece
    # alignment reads them (decision 0025). Same computation, a second output.
    g.op("Identity", [x], output="states")
    hidden = int(weights["embeddings.word_embeddings.weight"].shape[1])
    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"])],
        [
            helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden]),
            helper.make_tensor_value_info("states", TensorProto.FLOAT, ["batch", "tokens", hidden]),
        ],
        g.initializers,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(MICROSOFT, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8  # readable by every ONNX Runtime since 1.10
    onnx.checker.check_model(model)
    return model


def _embeddings(g: GraphBuilder, weights: Weights) -> str:
    """Word (int8 rows times their scale) + position + token type, then LayerNorm."""
    table = weights["embeddings.word_embeddings.weight"].astype(np.float32)
    scale = np.abs(table).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    quantized = np.clip(np.rint(table / scale[:, None]), -127, 127).astype(np.int8)
    rows = g.op("Cast", [g.op("Gather", [g.constant("word.q", quantized), "input_ids"])], to=1)
    row_scale = g.op("Gather", [g.constant("word.scale", scale.astype(np.float32)), "input_ids"])
    words = g.op("Mul", [rows, g.op("Unsqueeze", [row_scale, g.integers("last_axis", -1)])])
    positions = _f32(weights, "embeddings.position_embeddings.weight")[:MAX_POSITIONS]
    length = g.op("Gather", [g.op("Shape", ["input_ids"]), g.integers("tokens_dim", 1)])
    position = g.op(
        "Slice",
        [g.constant("position", positions), g.integers("zero", 0), length, g.integers("axis0", 0)],
    )
    token_type = _f32(weights, "embeddings.token_type_embeddings.weight")[0]
    x = g.op("Add", [g.op("Add", [words, position]), g.constant("token_type", token_type)])
    return g.layer_norm(x, weights, "embeddings.LayerNorm")


def _layer(g: GraphBuilder, weights: Weights, prefix: str, x: str) -> str:
    """One transformer layer: self-attention and feed-forward, each with residual + LayerNorm."""
    attended = g.op(
        "Add",
        [g.dense(_attention(g, weights, prefix, x), weights, prefix + "attention.output.dense"), x],
    )
    attended = g.layer_norm(attended, weights, prefix + "attention.output.LayerNorm")
    inner = g.product(attended, weights, prefix + "intermediate.dense")
    # GELU with the exact erf, as BERT: 0.5 * y * (1 + erf(y / sqrt(2))), y = inner + bias.
    gelu = g.op(
        "BiasGelu", [inner, g.bias(weights, prefix + "intermediate.dense")], domain=MICROSOFT
    )
    output = g.op("Add", [g.dense(gelu, weights, prefix + "output.dense"), attended])
    return g.layer_norm(output, weights, prefix + "output.LayerNorm")


def _attention(g: GraphBuilder, weights: Weights, prefix: str, x: str) -> str:
    """12-head self-attention over every token (no mask: one unpadded text per run).

    ``Attention`` takes the query, key and value projections side by side as one
    ``(hidden, 3 * hidden)`` matrix and scales the scores by ``1/sqrt(head size)``,
    as BERT does; its output is the heads' context, merged back to ``hidden``.
    """
    names = [f"{prefix}attention.self.{name}" for name in ("query", "key", "value")]
    matrix = np.concatenate([weights[n + ".weight"].astype(np.float32).T for n in names], axis=1)
    bias = np.concatenate([_f32(weights, n + ".bias") for n in names])
    return g.op(
        "Attention",
        [
            x,
            g.constant(prefix + "qkv.w", np.ascontiguousarray(matrix)),
            g.constant(prefix + "qkv.b", bias),
        ],
        domain=MICROSOFT,
        num_heads=HEADS,
    )


def _f32(weights: Weights, name: str) -> np.ndarray[Any, np.dtype[np.float32]]:
    result: np.ndarray[Any, np.dtype[np.float32]] = weights[name].astype(np.float32)
    return result
