"""The hook implementations loaded through the ``supportai`` entry point ``classifiers``.

Registration only records factories: nothing is built, imported (``openai``)
or contacted until the host lists a classifier in ``SUPPORTAI_CLASSIFIERS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings

from supportai.hookspecs import Register, hookimpl
from supportai_classifiers.settings import LLMClassifierSettings, RulesSettings

if TYPE_CHECKING:
    from supportai.plugins import ProviderContext
    from supportai_classifiers.llm import LLMClassifier
    from supportai_classifiers.rules import RulesClassifier


@hookimpl
def supportai_settings_models() -> Sequence[type[BaseSettings]]:
    return [RulesSettings, LLMClassifierSettings]


@hookimpl
def supportai_register_classifiers(register: Register) -> None:
    register("rules", build_rules)
    register("llm", build_llm)


def build_rules(context: ProviderContext) -> RulesClassifier:
    from supportai_classifiers.rules import RulesClassifier

    return RulesClassifier(context.plugin_settings(RulesSettings))


def build_llm(context: ProviderContext) -> LLMClassifier:
    from supportai_classifiers.llm import LLMClassifier
    from supportai_classifiers.rules import RulesClassifier

    fallback = RulesClassifier(context.plugin_settings(RulesSettings))
    return LLMClassifier(context.plugin_settings(LLMClassifierSettings), fallback=fallback)
