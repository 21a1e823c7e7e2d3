"""Fine-tune all-MiniLM-L6-v2 on support questions and the help-center sections that answer
them: the shipped ``minilm`` weights (decisions 0030 and 0031; SOURCES.md has the run).

Needs torch, safetensors and tokenizers (``pip install torch safetensors tokenizers``;
training only, the shipped embedder runs ONNX Runtime)::

    python plugins/llm_backends/training/minilm/finetune.py BASE_DIR \
        plugins/llm_backends/training/minilm/support_questions OUT.safetensors \
        [--epochs 2] [--lr 5e-5] [--null 0.5]

BASE_DIR holds the original ``model.safetensors`` and ``tokenizer.json`` (``convert.py``
downloads them; SOURCES.md has their checksums); the data folder holds
``*.jsonl`` help centers with their questions (``support_questions/README.md``).
The output has the original's tensor names, so ``graph.py`` and ``convert.py``'s
quantization turn it into an ONNX model as they do the original.

Why this loss: each question is scored against every section of its batch and the
right one is the target (in-batch contrastive learning, as all-MiniLM-L6-v2 itself
was trained). Batches are drawn within one product, so the other sections of a
batch are the near misses a help center has (refunds against invoices), not easy
ones from another product. With ``--null``, the product's unanswered questions join
the batch with a fixed-cosine "no section" choice as their target, which the
answered questions' right sections must beat: the only part of the loss that speaks
to the no-answer threshold.
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

import torch
import torch.nn.functional as F
from reference import cut
from safetensors.torch import load_file, save_file
from support_data import HelpCenter, read_all
from tokenizers import Tokenizer

HEADS = 12
EPS = 1e-12
QUERY_TOKENS = 64
PASSAGE_TOKENS = 128


def encode(tok: Tokenizer, texts: list[str], limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded word-piece ids and their mask, cut as the shipped embedder cuts them."""
    rows = [cut(list(encoding.ids), limit) for encoding in tok.encode_batch(texts)]
    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.float32)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def linear(p: dict[str, torch.Tensor], name: str, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, p[name + ".weight"], p[name + ".bias"])


def norm(p: dict[str, torch.Tensor], name: str, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], p[name + ".weight"], p[name + ".bias"], EPS)


def layer(p: dict[str, torch.Tensor], n: str, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """One transformer layer (``n``: its tensors' prefix) as BERT defines it."""
    batch, width, dim = x.shape
    head = dim // HEADS

    def heads(t: torch.Tensor) -> torch.Tensor:
        return t.view(batch, width, HEADS, head).transpose(1, 2)

    q, k, v = (heads(linear(p, f"{n}attention.self.{m}", x)) for m in ("query", "key", "value"))
    att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(head) + bias, dim=-1)
    ctx = (att @ v).transpose(1, 2).reshape(batch, width, dim)
    x = norm(p, n + "attention.output.LayerNorm", linear(p, n + "attention.output.dense", ctx) + x)
    h = linear(p, n + "output.dense", F.gelu(linear(p, n + "intermediate.dense", x)))
    return norm(p, n + "output.LayerNorm", h + x)


def forward(p: dict[str, torch.Tensor], ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """all-MiniLM-L6-v2's sentence vectors: BERT, mean-pooled, L2-normalised (as
    ``reference.py`` computes them in numpy)."""
    width = ids.shape[1]
    x = (
        p["embeddings.word_embeddings.weight"][ids]
        + p["embeddings.position_embeddings.weight"][:width]
        + p["embeddings.token_type_embeddings.weight"][0]
    )
    x = norm(p, "embeddings.LayerNorm", x)
    bias = (1.0 - mask)[:, None, None, :] * -1e4
    layers = 1 + max(int(k.split(".")[2]) for k in p if k.startswith("encoder.layer."))
    for i in range(layers):
        x = layer(p, f"encoder.layer.{i}.", x, bias)
    pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return F.normalize(pooled, dim=-1)


Batch = tuple[list[str], list[str], list[str]]


def batches(
    centers: list[HelpCenter], size: int, rng: random.Random, unanswered: bool
) -> list[Batch]:
    """Each section's questions dealt into rounds; a batch is one product's sections,
    one question each (so no section appears twice in a batch), and, with
    ``unanswered``, a share of the product's unanswered questions."""
    out = []
    for center in centers:
        rounds = max(len(section.questions) for section in center.sections)
        spare = list(center.unanswered) if unanswered else []
        rng.shuffle(spare)
        planned = []
        for r in range(rounds):
            pairs = [
                (section.questions[r], section.search_text)
                for section in center.sections
                if r < len(section.questions)
            ]
            rng.shuffle(pairs)
            for start in range(0, len(pairs), size):
                chunk = pairs[start : start + size]
                if len(chunk) >= 8:
                    planned.append(chunk)
        share = math.ceil(len(spare) / max(1, len(planned)))
        for i, chunk in enumerate(planned):
            extra = spare[i * share : (i + 1) * share]
            out.append(([q for q, _ in chunk], [t for _, t in chunk], extra))
    rng.shuffle(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--null",
        type=float,
        default=0.0,
        help="cosine of a 'no section' choice (0: unanswered questions are not used)",
    )
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    tok = Tokenizer.from_file(str(args.base / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    raw = load_file(str(args.base / "model.safetensors"))
    params = {
        k: torch.nn.Parameter(v.float()) for k, v in raw.items() if k != "embeddings.position_ids"
    }
    # the word table is 30,522 rows: only the rows a batch uses would move, so it stays as is
    params["embeddings.word_embeddings.weight"].requires_grad_(False)
    centers = read_all(args.data)
    with_unanswered = bool(args.null)
    plan = [
        b for _ in range(args.epochs) for b in batches(centers, args.batch, rng, with_unanswered)
    ]
    trainable = [v for v in params.values() if v.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    warm = max(1, len(plan) // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (len(plan) - s) / len(plan))
    )
    print(f"{sum(len(c.sections) for c in centers)} sections, {len(plan)} steps")
    for step, (questions, texts, extra) in enumerate(plan):
        q = forward(params, *encode(tok, questions + extra, QUERY_TOKENS))
        s = forward(params, *encode(tok, texts, PASSAGE_TOKENS))
        logits = q @ s.T * args.scale
        targets = torch.arange(len(questions) + len(extra))
        if args.null:
            # one more choice, "no section answers this", at a fixed cosine: the target
            # of the unanswered questions, a rival the answered ones must beat
            column = torch.full((len(targets), 1), args.null * args.scale)
            logits = torch.cat([logits, column], dim=1)
            targets[len(questions) :] = len(texts)
        loss = F.cross_entropy(logits, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.3f}", flush=True)
    out = {k: v.detach().contiguous() for k, v in params.items()}
    out["embeddings.position_ids"] = raw["embeddings.position_ids"]
    save_file(out, str(args.out))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
