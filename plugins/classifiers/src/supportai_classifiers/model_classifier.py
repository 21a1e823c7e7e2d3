"""The ``injection_model`` and ``rules_model`` classifiers.

* ``injection_model`` refuses a message whose model score reaches its threshold
  as ``prompt_injection``; anything else is ``other`` with confidence 0, so a
  topic found by another configured classifier wins the core ``combine``.
* ``rules_model`` is the combination chosen on the dev split: the rules decide
  first (topics, abuse, jailbreak personas, encoded payloads, floods); a message
  they let through is refused when the model's score reaches
  ``combined_threshold``. One classifier rather than ``rules`` plus
  ``injection_model`` side by side, so the refusal names both verdicts in
  ``details`` and the pair is tuned as one.

Both score the message alone and then (``check_history``) joined to the user's
previous messages, like the rules do, so a split attack is caught when completed.
``details`` holds the score and threshold, never the text.
"""

from __future__ import annotations

from dataclasses import replace

from supportai.classifiers import Classification, ClassifierInput
from supportai_classifiers.intents import OTHER, PROMPT_INJECTION
from supportai_classifiers.model import InjectionModel, shipped_model
from supportai_classifiers.rules import SPLIT_TURNS, RulesClassifier
from supportai_classifiers.settings import InjectionModelSettings


class InjectionModelClassifier:
    """The trained model alone; see the module docstring."""

    name = "injection_model"

    def __init__(
        self, settings: InjectionModelSettings | None = None, model: InjectionModel | None = None
    ) -> None:
        self.settings = settings or InjectionModelSettings()
        self._model = model

    @property
    def model(self) -> InjectionModel:
        """The weights, read from the distribution on first use."""
        if self._model is None:
            self._model = shipped_model()
        return self._model

    @property
    def threshold(self) -> float:
        return self.settings.threshold or self.model.threshold

    async def classify(self, message: ClassifierInput) -> Classification:
        return self.classify_text(message.text, _earlier(message))

    def classify_text(self, text: str, earlier: list[str] | None = None) -> Classification:
        """Synchronous core of :meth:`classify`; ``earlier`` are previous user messages."""
        score, turns = self.score(text, earlier if self.settings.check_history else None)
        details: dict[str, object] = {"score": round(score, 4), "threshold": self.threshold}
        if turns:
            details["across_turns"] = turns
        if score >= self.threshold:
            return Classification(PROMPT_INJECTION, round(score, 2), True, self.name, details)
        return Classification(OTHER, 0.0, False, self.name, details)

    def score(self, text: str, earlier: list[str] | None = None) -> tuple[float, int]:
        """The model's score for ``text`` and, when higher, for it joined to ``earlier``.

        The second value is how many messages the winning score covers (0: this one alone).
        """
        alone = self.model.score(text)
        if not earlier or alone >= self.threshold:
            return alone, 0
        together = self.model.score("\n".join([*earlier, text]))
        if together > alone:
            return together, len(earlier) + 1
        return alone, 0


class RulesModelClassifier:
    """Rules first, then the model for what they let through; see the module docstring."""

    name = "rules_model"

    def __init__(
        self,
        rules: RulesClassifier,
        settings: InjectionModelSettings | None = None,
        model: InjectionModel | None = None,
    ) -> None:
        self.rules = rules
        self.settings = settings or InjectionModelSettings()
        self.model = InjectionModelClassifier(self.settings, model)

    @property
    def threshold(self) -> float:
        return self.settings.combined_threshold or self.model.model.combined_threshold

    async def classify(self, message: ClassifierInput) -> Classification:
        by_rules = await self.rules.classify(message)
        return self._decide(by_rules, message.text, _earlier(message))

    def classify_text(self, text: str, earlier: list[str] | None = None) -> Classification:
        """Synchronous core of :meth:`classify` (rules on this message alone)."""
        return self._decide(self.rules.classify_text(text), text, earlier)

    def _decide(
        self, by_rules: Classification, text: str, earlier: list[str] | None
    ) -> Classification:
        if by_rules.refused:
            return replace(by_rules, classifier=self.name)
        use_history = earlier if self.model.settings.check_history else None
        score, turns = self.model.score(text, use_history)
        details = {**by_rules.details, "score": round(score, 4), "threshold": self.threshold}
        if score >= self.threshold:
            if turns:
                details["across_turns"] = turns
            return Classification(PROMPT_INJECTION, round(score, 2), True, self.name, details)
        return replace(by_rules, classifier=self.name, details=details)


def _earlier(message: ClassifierInput) -> list[str]:
    return [m.content for m in message.history if m.role == "user"][-SPLIT_TURNS:]
