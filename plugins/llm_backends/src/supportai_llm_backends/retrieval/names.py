"""The product's own name, which its help center says everywhere.

"Who is the CEO of Lumen?" sat at 1.23 from the pricing article with ``minilm``, far
above the no-answer threshold (then 0.82): the name is in nearly every article, so a short
question that holds it comes close to all of them, whatever else it asks. BM25 and the
coverage already weigh such a word at nearly nothing; an embedding does not. The
question is embedded without the name (decision 0028).

The name is found in the articles themselves, so a host need not configure it: a word
that at least :data:`MIN_SHARE` of the articles use (and at least :data:`MIN_ARTICLES`),
written with a capital in at least :data:`CAPITALISED` of its uses where a capital says
nothing else (not a sentence's or a list item's first word, not in a link, an address or
a file name). "Lumen" is; "workspace" (24 of 26 articles, lower case) and "Settings"
(22, a capital in 79 % of its uses, as in **Settings → Billing**) are not. Where more than
:data:`MAX_NAMES` words qualify, the language capitalises its nouns (German) and none is
taken: set ``SUPPORTAI_KB_PRODUCT_NAMES`` there.
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from collections.abc import Sequence

from supportai_llm_backends.retrieval.lexical import tokenize

#: A name must be in at least this share of the articles ...
MIN_SHARE = 0.75
#: ... and in at least this many (a help center of three articles says little).
MIN_ARTICLES = 4
#: Share of its uses, past a sentence's first word, written with a capital.
CAPITALISED = 0.9
#: More words than this that qualify: the capitals are the language's, not a name's.
MAX_NAMES = 3
#: Articles read, at most (:func:`product_names`).
SAMPLE = 300

_WORD = re.compile(r"[^\W\d_]+")
# links, e-mail addresses, domains and file names: "lumen.example", "support@lumen.example"
_ADDRESS = re.compile(r"\S*[@/]\S*|\b\w+(?:\.\w+)+\b")
# where a sentence or a list item starts: its first word's capital says nothing
_SENTENCE = re.compile(r"(?<=[.!?:])\s+|\n+")
_BEFORE_PUNCTUATION = re.compile(r"\s+([?.!,;:])")
_MARKERS = re.compile(r"^[\s*_`>#|-]*(?:\d+[.)]\s*)?[\s*_`>]*")


def product_names(articles: Sequence[str]) -> frozenset[str]:
    """The (lower-case) words that name the product in ``articles`` (their bodies).

    At most :data:`SAMPLE` articles are read, drawn at random (the same ones on every
    worker): a name three quarters of the articles use is in about three quarters of the
    sample, and reading all of a help center of 100k sections took 7.5 s of its index
    build (0.15 s now). Not every n-th article: a help center's articles can repeat a
    pattern (the scale bench's clones do), which a stride can follow."""
    used_in: Counter[str] = Counter()
    capitals: Counter[str] = Counter()
    uses: Counter[str] = Counter()
    total = 0
    chosen: Sequence[int] = range(len(articles))
    if len(articles) > SAMPLE:
        chosen = sorted(random.Random(len(articles)).sample(chosen, SAMPLE))
    for text in (articles[i] for i in chosen):
        total += 1
        seen: set[str] = set()
        for sentence in _SENTENCE.split(_ADDRESS.sub(" ", text)):
            words = _WORD.findall(_MARKERS.sub("", sentence))
            seen.update(word.lower() for word in words[:1])
            for word in words[1:]:
                lower = word.lower()
                seen.add(lower)
                uses[lower] += 1
                capitals[lower] += word[0].isupper()
        used_in.update(seen)
    least = max(MIN_ARTICLES, MIN_SHARE * total)
    names = frozenset(
        word
        for word, count in used_in.items()
        if count >= least and uses[word] and capitals[word] >= CAPITALISED * uses[word]
    )
    # A help center that writes every noun with a capital (German) has several such words
    # ("Arbeitsbereich", "Einstellungen"): there the capital names nothing.
    return names if len(names) <= MAX_NAMES else frozenset()


def without_names(text: str, names: frozenset[str]) -> str:
    """``text`` without the product's names ("Lumen", "Lumen's"), or ``text`` itself when
    nothing searchable would be left ("Lumen?")."""
    if not names:
        return text
    stripped = " ".join(_names_pattern(names).sub(" ", text).split())
    stripped = _BEFORE_PUNCTUATION.sub(r"\1", stripped)  # "the CEO of ?" -> "the CEO of?"
    return stripped if tokenize(stripped) else text


@functools.lru_cache(maxsize=64)
def _names_pattern(names: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(name) for name in sorted(names))
    return re.compile(rf"\b(?:{alternatives})(?:['\u2019]s)?\b", re.IGNORECASE)


def configured_names(setting: str | None) -> frozenset[str] | None:
    """``SUPPORTAI_KB_PRODUCT_NAMES`` read: its comma-separated words, lower case; ``None``
    when unset (the names are then found in the articles)."""
    if setting is None:
        return None
    return frozenset(word.strip().lower() for word in setting.split(",") if word.strip())
