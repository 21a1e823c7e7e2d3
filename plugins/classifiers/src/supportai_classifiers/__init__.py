"""Intent classifiers for supportai.

* ``rules``: offline, deterministic, well under a millisecond per message. It
  normalises obfuscated input (NFKC, zero-width characters, homoglyphs,
  leetspeak, spaced-out letters, base64/hex/rot13 payloads) before matching, so
  a known attack does not get through by being disguised.
* ``injection_model``: a logistic regression over hashed word and character
  features, trained on attack prompts and support questions (``training/``); its
  weights ship in the wheel and load on first use.
* ``rules_model``: the rules, then the model for what they let through: the
  combination recommended for refusing injection and extraction attempts.
* ``llm``: the same intents decided by a model behind an OpenAI-compatible
  endpoint, falling back to ``rules`` on any failure.

The plugin object registered under the entry point is :mod:`supportai_classifiers.plugin`.
Names below load on first use: loading the plugin must not compile the rule catalogue
(about 0.1 s) for an app that does not use these classifiers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from supportai_classifiers.intents import INTENTS, SECURITY_INTENTS, SUPPORT_INTENTS
    from supportai_classifiers.model import InjectionModel, shipped_model
    from supportai_classifiers.model_classifier import (
        InjectionModelClassifier,
        RulesModelClassifier,
    )
    from supportai_classifiers.normalize import Normalized, normalize
    from supportai_classifiers.rules import RulesClassifier
    from supportai_classifiers.settings import (
        InjectionModelSettings,
        LLMClassifierSettings,
        RulesSettings,
    )

_LAZY = {
    "INTENTS": "supportai_classifiers.intents",
    "SECURITY_INTENTS": "supportai_classifiers.intents",
    "SUPPORT_INTENTS": "supportai_classifiers.intents",
    "InjectionModel": "supportai_classifiers.model",
    "shipped_model": "supportai_classifiers.model",
    "InjectionModelClassifier": "supportai_classifiers.model_classifier",
    "RulesModelClassifier": "supportai_classifiers.model_classifier",
    "InjectionModelSettings": "supportai_classifiers.settings",
    "Normalized": "supportai_classifiers.normalize",
    "normalize": "supportai_classifiers.normalize",
    "RulesClassifier": "supportai_classifiers.rules",
    "LLMClassifierSettings": "supportai_classifiers.settings",
    "RulesSettings": "supportai_classifiers.settings",
}

__all__ = [
    "INTENTS",
    "SECURITY_INTENTS",
    "SUPPORT_INTENTS",
    "InjectionModel",
    "InjectionModelClassifier",
    "InjectionModelSettings",
    "LLMClassifierSettings",
    "Normalized",
    "RulesClassifier",
    "RulesModelClassifier",
    "RulesSettings",
    "__version__",
    "normalize",
    "shipped_model",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'supportai_classifiers' has no attribute {name!r}")
