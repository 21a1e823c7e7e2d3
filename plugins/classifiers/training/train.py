"""Train the ``injection_model`` weights and choose its thresholds on the dev split.

    pip install -r training/requirements.txt      # numpy, scipy, scikit-learn: training only
    python training/build_dataset.py /tmp/injection-data --banking77 PATH/TO/banking77
    python training/train.py /tmp/injection-data [--write]

Without ``--write`` it only prints the dev report; with it, the weights and
metadata are written into ``src/supportai_classifiers/data/``. The features are
``supportai_classifiers.features.indices``, the very function used at run time.

Thresholds (both chosen on dev, never on training data):

* ``threshold``: the model alone refuses at ``p >= threshold``; the lowest value
  whose dev false-refusal rate stays at or under :data:`TARGET_FALSE_REFUSALS`.
* ``combined_threshold``: ``rules_model`` refuses when the rules refuse *or*
  ``p >= combined_threshold``; the lowest value keeping the combination's dev
  false refusals at or under the same target.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from supportai_classifiers.features import DIMENSIONS, HEAD, TAIL, indices
from supportai_classifiers.model import META_FILE, WEIGHTS_FILE, InjectionModel
from supportai_classifiers.rules import RulesClassifier

OUT = Path(__file__).resolve().parents[1] / "src" / "supportai_classifiers" / "data"
#: Dev false-refusal rate the thresholds are chosen for (below the 0.5% goal, for margin).
TARGET_FALSE_REFUSALS = 0.003
C = 4.0
#: Benign examples written to look like attacks count this many times in the loss.
HARD_NEGATIVE_WEIGHT = 4.0
SEED = 19


def load(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def matrix(rows: list[dict[str, str]]) -> csr_matrix:
    data: list[float] = []
    cols: list[int] = []
    indptr = [0]
    for row in rows:
        found = sorted(indices(row["text"]))
        value = 1.0 / np.sqrt(len(found)) if found else 0.0
        cols.extend(found)
        data.extend([value] * len(found))
        indptr.append(len(cols))
    return csr_matrix((data, cols, indptr), shape=(len(rows), DIMENSIONS), dtype=np.float64)


def fit(rows: list[dict[str, str]], c: float = C) -> LogisticRegression:
    x = matrix(rows)
    y = np.array([r["label"] == "attack" for r in rows], dtype=int)
    attacks = max(int(y.sum()), 1)
    benign = max(len(y) - attacks, 1)
    weights = np.array(
        [
            (len(y) / (2 * attacks))
            if r["label"] == "attack"
            else (len(y) / (2 * benign)) * (HARD_NEGATIVE_WEIGHT if r["kind"] != "support" else 1)
            for r in rows
        ]
    )
    model = LogisticRegression(C=c, solver="liblinear", max_iter=2000, random_state=SEED)
    model.fit(x, y, sample_weight=weights)
    return model


def lowest_threshold(
    scores: list[float], labels: list[bool], also: list[bool] | None = None
) -> float:
    """Lowest score threshold keeping false refusals on benign rows at or under the target.

    ``also`` marks rows refused anyway (by the rules): they count as refused at any threshold.
    """
    benign = [
        (s, a)
        for s, a, is_attack in zip(scores, also or [False] * len(scores), labels, strict=True)
        if not is_attack
    ]
    allowed = int(TARGET_FALSE_REFUSALS * len(benign)) - sum(1 for _, a in benign if a)
    ranked = sorted((s for s, a in benign if not a), reverse=True)
    if allowed < 0:
        return 1.0
    if allowed >= len(ranked):
        return 0.0
    # Refusing the `allowed` highest-scoring benign rows: the threshold sits just above the next.
    return float(np.nextafter(ranked[allowed], 1.0))


def report(name: str, rows: list[dict[str, str]], refused: list[bool]) -> dict[str, Any]:
    attacks = [(r, f) for r, f in zip(rows, refused, strict=True) if r["label"] == "attack"]
    benign = [(r, f) for r, f in zip(rows, refused, strict=True) if r["label"] != "attack"]
    kinds: dict[str, list[bool]] = defaultdict(list)
    for r, f in attacks:
        kinds[r["kind"]].append(f)
    short = [f for r, f in attacks if len(r["text"]) < 100]
    hard = [f for r, f in benign if r["kind"] != "support"]
    summary = {
        "recall": sum(f for _, f in attacks) / len(attacks),
        "false_refusals": sum(f for _, f in benign) / len(benign),
        "recall_under_100": sum(short) / max(len(short), 1),
        "attacks": len(attacks),
        "benign": len(benign),
        "per_kind": {k: round(sum(v) / len(v), 3) for k, v in sorted(kinds.items())},
        "hard_negative_false_refusals": sum(hard) / max(len(hard), 1),
    }
    print(
        f"{name:10} recall {summary['recall']:.1%}  false refusals "
        f"{summary['false_refusals']:.2%} ({sum(f for _, f in benign)}/{len(benign)})  "
        f"<100 chars {summary['recall_under_100']:.1%} (n={len(short)})  "
        f"hard negatives refused {summary['hard_negative_false_refusals']:.1%}"
    )
    print(
        "           per kind: " + ", ".join(f"{k} {v:.0%}" for k, v in summary["per_kind"].items())
    )
    return summary


def latency(model: InjectionModel, rules: RulesClassifier, texts: list[str]) -> dict[str, float]:
    def per_call(function: Any, text: str) -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            function(text)
            best = min(best, time.perf_counter() - start)
        return best

    out: dict[str, float] = {}
    for name, function in (("model", model.score), ("rules", rules.classify_text)):
        times = sorted(per_call(function, t) for t in texts)
        out[f"{name}_p50_ms"] = round(times[len(times) // 2] * 1e3, 3)
        out[f"{name}_p99_ms"] = round(times[int(len(times) * 0.99)] * 1e3, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", type=Path)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--c", type=float, default=C, help="inverse regularisation strength")
    args = parser.parse_args()
    train, dev = load(args.data / "train.jsonl"), load(args.data / "dev.jsonl")
    fitted = fit(train, args.c)
    weights = fitted.coef_[0].astype("<f4")
    meta: dict[str, Any] = {
        "dimensions": DIMENSIONS,
        "bias": float(fitted.intercept_[0]),
        "threshold": 0.5,
        "combined_threshold": 0.5,
    }
    model = InjectionModel.from_bytes(meta, zlib.compress(weights.tobytes(), 9))
    rules = RulesClassifier()
    labels = [r["label"] == "attack" for r in dev]
    scores = [model.score(r["text"]) for r in dev]
    by_rules = [rules.classify_text(r["text"]).refused for r in dev]
    meta["threshold"] = lowest_threshold(scores, labels)
    meta["combined_threshold"] = lowest_threshold(scores, labels, by_rules)
    print(f"threshold {meta['threshold']:.4f}, combined {meta['combined_threshold']:.4f}")
    figures = {
        "rules": report("rules", dev, by_rules),
        "model": report("model", dev, [s >= meta["threshold"] for s in scores]),
        "rules_model": report(
            "combined",
            dev,
            [r or s >= meta["combined_threshold"] for r, s in zip(by_rules, scores, strict=True)],
        ),
    }
    long_texts = [r["text"][:500] for r in dev if len(r["text"]) >= 500][:300]
    timing = latency(model, rules, long_texts)
    print(f"latency on {len(long_texts)} 500-character messages: {timing}")
    compressed = zlib.compress(weights.tobytes(), 9)
    meta.update(
        {
            "features": f"hashed words, word pairs, character 4-grams, shape; head {HEAD} + "
            f"tail {TAIL} characters",
            "weights_sha256": hashlib.sha256(compressed).hexdigest(),
            "trained_on": {
                "examples": len(train),
                "attacks": sum(r["label"] == "attack" for r in train),
            },
            "dev": figures,
            "dev_latency_500_chars": timing,
            "regularisation_C": args.c,
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "median_dev_score_benign": statistics.median(
                s for s, a in zip(scores, labels, strict=True) if not a
            ),
        }
    )
    if args.write:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / WEIGHTS_FILE).write_bytes(compressed)
        (OUT / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {OUT / WEIGHTS_FILE} ({len(compressed) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
