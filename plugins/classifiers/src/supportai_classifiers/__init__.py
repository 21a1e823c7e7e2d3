"""Intent classifiers for supportai.

* ``rules``: offline, deterministic, well under a millisecond per message. It
  normalises obfuscated input (NFKC, zero-width characters, homoglyphs,
  leetspeak, spaced-out letters, base64/hex/rot13 payloads) before matching, so
  the cheap check is also a hard one to slip past.
* ``llm``: the same intents decided by a model behind an OpenAI-compatible
  endpoint, falling back to ``rules`` on any failure.

The plugin object registered under the entry point is :mod:`supportai_classifiers.plugin`.
"""

from __future__ import annotations

from supportai_classifiers.intents import INTENTS, SECURITY_INTENTS, SUPPORT_INTENTS
from supportai_classifiers.normalize import Normalized, normalize
from supportai_classifiers.rules import RulesClassifier
from supportai_classifiers.settings import LLMClassifierSettings, RulesSettings

__version__ = "0.1.0"

__all__ = [
    "INTENTS",
    "SECURITY_INTENTS",
    "SUPPORT_INTENTS",
    "LLMClassifierSettings",
    "Normalized",
    "RulesClassifier",
    "RulesSettings",
    "__version__",
    "normalize",
]
