"""The hook implementations loaded through the ``supportai`` entry point ``classifiers``.

Registration only records factories: nothing is built, imported (``openai``)
or contacted until the host lists a classifier in ``SUPPORTAI_CLASSIFIERS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings

from supportai.hookspecs import Register, hookimpl
from supportai_classifiers.settings import (
    InjectionModelSettings,
    LLMClassifierSettings,
    RulesSettings,
)

if TYPE_CHECKING:
    from supportai.plugins import ProviderContext
    from supportai_classifiers.llm import LLMClassifier
    from supportai_classifiers.model_classifier import (
        InjectionModelClassifier,
        RulesModelClassifier,
    )
    from supportai_classifiers.rules import RulesClassifier


@hookimpl
def supportai_settings_models() -> Sequence[type[BaseSettings]]:
    return [RulesSettings, LLMClassifierSettings, InjectionModelSettings]


@hookimpl
def supportai_register_classifiers(register: Register) -> None:
    register("rules", build_rules)
    register("llm", build_llm)
    register("injection_model", build_injection_model)
    register("rules_model", build_rules_model)


def build_rules(context: ProviderContext) -> RulesClassifier:
    from supportai_classifiers.rules import RulesClassifier

    return RulesClassifier(context.plugin_settings(RulesSettings))


def build_llm(context: ProviderContext) -> LLMClassifier:
    from supportai_classifiers.llm import LLMClassifier
    from supportai_classifiers.rules import RulesClassifier

    fallback = RulesClassifier(context.plugin_settings(RulesSettings))
    return LLMClassifier(context.plugin_settings(LLMClassifierSettings), fallback=fallback)


def build_injection_model(context: ProviderContext) -> InjectionModelClassifier:
    # The weights are read on the first message, not here (see model.py).
    from supportai_classifiers.model_classifier import InjectionModelClassifier

    return InjectionModelClassifier(context.plugin_settings(InjectionModelSettings))


def build_rules_model(context: ProviderContext) -> RulesModelClassifier:
    from supportai_classifiers.model_classifier import RulesModelClassifier
    from supportai_classifiers.rules import RulesClassifier

    return RulesModelClassifier(
        RulesClassifier(context.plugin_settings(RulesSettings)),
        context.plugin_settings(InjectionModelSettings),
    )
