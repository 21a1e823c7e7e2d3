"""Write the help centers of ``support_questions/`` as folders the eval commands read.

Run from the repository root::

    python plugins/llm_backends/training/minilm/help_centers.py OUT_DIR

For each product it writes ``OUT_DIR/<product>/articles/*.md`` (one Markdown article
per title, one ``##`` section per line of the file) and ``OUT_DIR/<product>/questions.jsonl``
(every question with its article, and the product's unanswered questions as out of
scope, all in the split ``all``). Then, for example::

    SUPPORTAI_KB_ARTICLES_DIR=OUT_DIR/voxly/articles SUPPORTAI_KB_EMBEDDER=minilm \\
        supportai kb-calibrate OUT_DIR/voxly/questions.jsonl

Why: the example help center is one product, and every weight and threshold was chosen
on it. Thirty-two other help centers, written for this project, tell whether a setting
carries over to a help center nobody tuned on (docs/knowledge.md, "Other help centers").
The shipped ``minilm`` is fine-tuned on all thirty-two, so to measure a model on them,
train it on some and measure on the rest (decisions 0030, 0031).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from support_data import HelpCenter, read_all

from supportai.knowledge.articles import slug_from_name


def write(center: HelpCenter, target: Path) -> tuple[int, int]:
    """One product's articles and question set; the counts of articles and questions."""
    articles: dict[str, tuple[str, list[str]]] = {}
    questions: list[dict[str, object]] = []
    for section in center.sections:
        article = slug_from_name(section.article)
        sections = articles.setdefault(article, (section.article, []))[1]
        sections.append(f"## {section.heading}\n\n{section.text}")
        questions.extend({"question": text, "article": article} for text in section.questions)
    questions.extend({"question": text, "article": None} for text in center.unanswered)
    (target / "articles").mkdir(parents=True, exist_ok=True)
    for article, (title, sections) in articles.items():
        body = "\n\n".join([f"# {title}", *sections]) + "\n"
        (target / "articles" / f"{article}.md").write_text(body)
    with (target / "questions.jsonl").open("w") as out:
        for number, question in enumerate(questions, 1):
            row = {"id": f"{target.name}-{number:03d}", **question, "split": "all"}
            out.write(json.dumps(row) + "\n")
    return len(articles), len(questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    for center in read_all():
        articles, questions = write(center, args.out / center.name)
        print(f"{center.name}: {articles} articles, {questions} questions")


if __name__ == "__main__":
    main()
