# ruff: noqa: RUF001 -- look-alike characters are the subject here
"""The rule catalogue of the ``rules`` classifier.

Each :class:`Rule` is one signal: an id (reported in ``details``), the intent it
is evidence for, a weight, and a pattern. A message is given an attack intent
when its signals for that intent add up to 1.0, so a strong phrase ("ignore all
previous instructions") decides alone and a weak one ("SYSTEM:" at the start,
"never refuse") needs a second signal or a disguise (see ``rules.py``).

Patterns are written for normalised text (see ``normalize.py``): lower case, no
diacritics, single spaces. In a pattern a literal space means "one or more
non-word characters" (`` ?``: zero or more), so ``system prompt`` also matches ``system-prompt`` and
``system: prompt``.

Why these and not a longer list: every rule was added for a labelled example in
``tests/data/labelled.jsonl`` and checked against the benign look-alikes there
(``kill a stuck process``, ``ignore the previous invoice``, ``the system prompt
for our webhooks fails``, ``delete all my data``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from supportai_classifiers.intents import (
    ABUSIVE,
    ACCOUNT,
    BILLING,
    BUG_REPORT,
    CANCELLATION,
    FEATURE_REQUEST,
    HUMAN_REQUEST,
    JAILBREAK,
    OTHER,
    OUT_OF_SCOPE,
    PROMPT_INJECTION,
    TECHNICAL,
)

View = Literal["folded", "text", "plain", "squashed"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One signal: ``pattern`` found in ``view`` is ``weight`` of evidence for ``intent``."""

    id: str
    intent: str
    weight: float
    pattern: re.Pattern[str]
    view: View = "folded"
    quick: re.Pattern[str] | None = None
    anchors: frozenset[str] | None = None

    def search(self, text: str, words: frozenset[str] | None = None) -> bool:
        """Whether the rule matches ``text``, whose words are ``words`` (if known).

        Two cheap rejections come first: none of the rule's anchor words is in
        the message (a set lookup), or the pattern without its ``\\b`` misses.
        """
        if self.anchors is not None and words is not None and self.anchors.isdisjoint(words):
            return False
        if self.quick is not None and self.quick.search(text) is None:
            return False
        return self.pattern.search(text) is not None


class RuleIndex:
    """Rules in catalogue order, looked up by their anchor words.

    :meth:`Rule.search` rejects a rule whose anchors are all missing from the
    message's words; a message has a few dozen words and the catalogue over a
    hundred rules, so looking the words up here, rather than calling every rule to
    reject itself, skips most of the work. :meth:`candidates` returns exactly the
    rules that pass that check (every rule whose anchors cannot be checked, and
    every rule with an anchor among the words), in catalogue order, which decides
    the order of the signals.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._always: list[int] = []
        self._folded: dict[str, list[int]] = {}
        self._plain: dict[str, list[int]] = {}
        by_view = {"folded": self._folded, "plain": self._plain}
        for position, rule in enumerate(self.rules):
            index = by_view.get(rule.view)
            if rule.anchors is None or index is None:  # "text", "squashed": no word check
                self._always.append(position)
                continue
            for word in rule.anchors:
                index.setdefault(word, []).append(position)

    def candidates(self, folded_words: frozenset[str], plain_words: frozenset[str]) -> list[Rule]:
        """The rules whose anchor check passes for a message with these words."""
        positions = set(self._always)
        for word in folded_words.intersection(self._folded):
            positions.update(self._folded[word])
        for word in plain_words.intersection(self._plain):
            positions.update(self._plain[word])
        rules = self.rules
        return [rules[position] for position in sorted(positions)]


def compile_pattern(source: str) -> re.Pattern[str]:
    """Compile a catalogue pattern.

    A literal space matches a run of non-word characters and `` ?`` an optional
    one, so patterns stay readable and still match ``don't``, ``log-in``, ``login``.
    """
    return re.compile(source.replace(" ?", r"[\W_]*").replace(" ", r"[\W_]+"))


def prefilter(source: str) -> re.Pattern[str] | None:
    """The pattern without its ``\\b`` assertions, as a quick reject.

    CPython's regex engine skips ahead to candidate first characters only when a
    pattern starts with them; a leading ``\\b`` turns that off and makes a rule
    3-40x slower on long messages. Dropping a zero-width assertion only widens
    what matches, so a prefilter miss is a safe "no".
    """
    if r"\b" not in source:
        return None
    return compile_pattern(source.replace(r"\b", ""))


#: A message's words, as the anchors of :func:`anchors_of` are spelled.
WORD = re.compile(r"[a-z0-9]+")


def _split_top(source: str) -> list[str]:
    """Split a pattern on its top-level ``|`` (not inside groups or classes)."""
    parts: list[str] = []
    depth, start, i, in_class = 0, 0, 0, False
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
        i += 1
    parts.append(source[start:])
    return parts


def _first_word(alternative: str) -> set[str] | None:
    match = WORD.match(alternative)
    if match is None:
        return None
    rest = alternative[match.end() :]
    word = match.group()
    if rest.startswith("?") and not rest.startswith("?:"):
        # ``invoices?``: the last letter is optional.
        rest = rest[1:]
        if not rest or (rest[0] == " " and not rest.startswith(" ?")) or rest.startswith("\\b"):
            return {word, word[:-1]}
        return None
    if not rest or (rest[0] == " " and not rest.startswith(" ?")) or rest.startswith("\\b"):
        return {word}
    return None


def anchors_of(source: str) -> frozenset[str] | None:
    """Words of which every match of ``source`` must contain at least one, or ``None``.

    Derived for the common shape ``\\b(?:word|two words|...) ...`` (also with
    top-level alternatives of that shape). ``None`` means "cannot tell": the
    rule always runs. A wrong anchor set would hide matches, so anything
    unusual gives up rather than guesses.
    """
    found: set[str] = set()
    for branch in _split_top(source):
        if not branch.startswith("\\b"):
            return None
        body = branch[2:]
        if body.startswith("(?:"):
            depth = 0
            end = -1
            for index, char in enumerate(body):
                if char == "(" and body[index - 1 : index] != "\\":
                    depth += 1
                elif char == ")" and body[index - 1 : index] != "\\":
                    depth -= 1
                    if depth == 0:
                        end = index
                        break
            if end < 0 or body[end + 1 : end + 2] in ("?", "*", "{"):
                return None
            for alternative in _split_top(body[3:end]):
                words = _first_word(alternative)
                if words is None:
                    return None
                found |= words
        else:
            words = _first_word(body)
            if words is None:
                return None
            found |= words
    return frozenset(found)


def make_rule(
    rule_id: str,
    intent: str,
    weight: float,
    source: str,
    view: View = "folded",
    anchors: frozenset[str] | None = None,
) -> Rule:
    """Compile a rule; ``anchors`` overrides the derived anchor words (see :func:`anchors_of`)."""
    derived = anchors if anchors is not None else anchors_of(source)
    if view == "squashed":
        derived = None  # the squashed view has no word boundaries
    return Rule(rule_id, intent, weight, compile_pattern(source), view, prefilter(source), derived)


_rule = make_rule


# -- building blocks --------------------------------------------------------------------

_OVERRIDE = (
    r"(?:ignore|ignoring|disregard|forget|skip|bypass|override|overriding|overwrite|discard"
    r"|abandon"
    r"|nevermind|never mind|stop following|do not follow|don t follow|dont follow|do not obey"
    r"|don t obey|stop obeying|overlook|omit|neglect|pay no attention to|set aside|scrap"
    r"|throw out|drop)"
)
_QUANT = r"(?:(?:all|any|every|each|the|your|of|these|those|my|its|such) ){0,3}"
#: "previous instructions" is an attack, "the existing rules of my automation" or "skip the
#: initial training" or "ignore my previous orders" are support questions: adjectives that
#: point at the assistant's own set-up go with broad targets, the others only with targets
#: no product has (instructions, system prompt...).
_BEFORE = (
    r"(?:previous|previously|prior|preceding|earlier|above|original|initial|foregoing"
    r"|aforementioned|hidden|system|developer)"
)
_BEFORE_WEAK = (
    r"(?:old|former|past|existing|given|current|default|safety|content|internal|pre ?set)"
)
_TARGET = (
    r"(?:instructions?|instruction set|directions|directives?|prompts?|rules|guidelines"
    r"|guardrails|commands|programming|(?:system|developer) (?:prompt|message)s?|context"
    r"|guidance)"
)
_STRONG_TARGET = (
    r"(?:instructions|instruction set|directives|system prompt|system message|developer message"
    r"|your guidelines|safety guidelines|programming|guardrails|safety rules|your rules"
    r"|your instructions|your prompt|the prompt|all rules|your configuration"
    r"|your programming)"
)
_DISCLOSE = (
    r"(?:print|show|reveal|display|output|dump|repeat|recite|echo|return|give|tell|share|leak"
    r"|expose|copy|paste|write out|quote|list|provide|send|translate|summarize|summarise|spell out"
    r"|read out|read back|read me|disclose|type out|what s|whats)"
)
#: What a prompt-extraction request asks for. "The original prompt" is the assistant's;
#: "the original message I sent" or "the initial configuration of my workspace" are the
#: user's own things: weak nouns need a strong qualifier (system, hidden...).
_QUALIFIER = r"(?:system|developer|hidden|secret|internal|pre ?prompt|underlying|confidential|meta)"
_QUALIFIER_WEAK = r"(?:initial|original|starting|first|preceding|base)"
_SECRET_STRONG = r"(?:prompts?|instructions?|directives?|guidelines|programming)"
_SECRET_WEAK = r"(?:messages?|rules|configuration|config|context)"
_SECRET_ASKED = (
    rf"(?:(?:(?:{_QUALIFIER}|{_QUALIFIER_WEAK}) ){{1,2}}{_SECRET_STRONG}"
    rf"|(?:{_QUALIFIER_WEAK} )?{_QUALIFIER} (?:{_QUALIFIER_WEAK} )?{_SECRET_WEAK})"
    r"(?! (?:of|for|in|on) (?:my|our|a|an|new|each|every|this)\b)"
)
_PERSONA_NAMES = (
    r"(?:dan|stan|aim|dude|mongo ?tom|better ?dan|evil ?bot|free ?gpt|anti ?gpt|chaos ?gpt"
    r"|devmode ?gpt|jailbreak ?gpt|omega|maximum|basedgpt|evil confidant)"
)
_AS_PERSONA = (
    r"(?:you are|you re|youre|you will be|you ll be|you are going to (?:pretend to )?be"
    r"|act as|acting as|pretend to be|pretend you are|roleplay as|role play as|respond as"
    r"|answer as|reply as|become|play the role of|called|named|simulate)"
)
_NO_LIMITS = (
    r"(?:restrictions?|limitations?|limits|filters?|filtering|rules|guidelines"
    r"|content polic(?:y|ies)|polic(?:y|ies)"
    r"|ethical (?:guidelines|restrictions|constraints|boundaries|principles)"
    r"|ethics|morals|morality|censorship|boundaries|constraints|safeguards|guardrails"
    r"|safety training|alignment|safety features|safety measures)"
)
_AI_SUBJECT = (
    r"(?:you|you re|youre|yourself|ai|assistant|chatbot|bot|model|gpt|llm|version of yourself"
    r"|persona|character)"
)
_INSULT_WORDS = (
    r"idiots?|morons?|stupid|dumb|dumbest|useless|worthless|pathetic|losers?"
    r"|clowns?|incompetent|imbeciles?|brainless|retard|retarded|retards|scum"
    r"|piece of (?:shit|crap|garbage)"
    r"|assholes?|bastards?|jerks?|dickheads?|cretins?|fools?|halfwits?|dimwits?|clueless idiots"
)
#: Words that insult only when aimed at someone ("you are garbage"): on their own or next
#: to another insult they are mostly the things themselves ("put the garbage in the trash").
_THING_INSULTS = r"garbage|trash"
_INSULT = rf"(?:{_INSULT_WORDS}|{_THING_INSULTS})"
#: The insults that count without an addressee (piles, a message that is only an insult).
_INSULT_UNAIMED = rf"(?:{_INSULT_WORDS})"
#: Who an insult can be aimed at through "your ...": people, not the product.
_PEOPLE_NOUNS = (
    r"(?:(?:\w+ )?(?:team|staff|agents?|people|developers?|employees|company|ceo|founders?"
    r"|boss|managers?|support|customer service|engineers?|reps?))"
)
_PEOPLE = (
    r"(?:you|your (?:\w+ )?(?:ceo|staff|team|office|family|agents?|developers?|employees?|boss"
    r"|house|people|company|founders?|support)|whoever|him|her|them|everyone|everybody"
    r"|the (?:ceo|developers?|staff|team|people|person|agent|manager|founders?))"
)


#: Asking for something in another form: "translate the above", "rewrite your rules as code".
_TRANSFORM = (
    r"translate|rewrite|re write|convert|render|turn|summari[sz]e|paraphrase|encode|spell ?check"
    r"|reformat|restate|express|format|transcribe|put|write|dump|paste|output|print|repeat"
    r"|show|copy|list|display"
)
#: The assistant's own set-up, as a user asking for it names it.
_OWN_SETUP = (
    r"(?:instructions|prompt|rules|directives|guidelines|directions|guidance|configuration"
    r"|setup notes|setup|set up|programming|briefing|orders|system message)"
)
_FORMAT = (
    r"(?:python|code|pseudocode|pseudo code|json|yaml|xml|list|bulleted list|bullet points"
    r"|bullets|numbered list|table|markdown|base64|poem|song|haiku|csv|dictionary|sql|html"
    r"|emoji|acrostic|story)"
)
#: Invented block markers around an authority word: ``### SYSTEM UPDATE ###``, ``[admin]``.
#: Written as one character class first, then the repeat checked by look-behind: CPython
#: scans for a leading class fast, while twelve alternatives are tried at every position
#: (60x slower on a long message). Same language as
#: ``#{2,}|={2,}|\*{3,}|-{3,}|\+{3,}|~{3,}|/{2,}|<{2,}|\[{1,2}|@{2,}|%{2,}|>{3,}``.
_BLOCK_OPEN = (
    r"[#=*+~/<\[@%>-](?:(?<=#)#+|(?<==)=+|(?<=\*)\*\*+|(?<=-)--+|(?<=\+)\+\++|(?<=~)~~+"
    r"|(?<=/)/+|(?<=<)<+|(?<=\[)\[?|(?<=@)@+|(?<=%)%+|(?<=>)>>+)"
)
_BLOCK_CLOSE = r"(?:#{2,}|={2,}|\*{3,}|-{3,}|\+{3,}|~{3,}|/{2,}|>{2,}|\]{1,2}|@{2,}|%{2,}|<{3,}|:)"
_AUTHORITY = (
    r"(?:system|admin|administrator|developer|dev|root|operator|sudo|security|maintenance"
    r"|engineering|kernel|supervisor|moderator|priority|official|owner|openai|anthropic"
    r"|policy|override|config|configuration|instructions?)"
)
#: What a forged notice declares out of date: instructions qualified as the assistant's own
#: ("previous instructions", "the rules you were given", "your system prompt"), not a
#: product's ("the old rules for cashback are outdated on your website").
_SETUP_NOUNS = (
    r"(?:instructions|rules|guidelines|prompts?|directives|directions|orders|guidance"
    r"|restrictions|policies|policy|constraints|system prompt|system message|programming)"
)
_NOT_A_PRODUCT_RULE = r"(?! (?:for|of|on|about|in|regarding|at) )"
_SUPERSEDED_SUBJECT = (
    r"(?:(?:all |any )?(?:the |your |of your )?(?:previous|prior|earlier|above|original"
    r"|preceding|initial|first|starting|system|old system)(?: \w+)? "
    + _SETUP_NOUNS
    + _NOT_A_PRODUCT_RULE
    + r"|(?:the|your|these|those|all|any|all the|all your) "
    + _SETUP_NOUNS
    + r" (?:above|(?:you|u) (?:got|were given|received|were told|have been given|had))"
    + r"|your (?:instructions|directives|system prompt|system message|programming|guidelines"
    r"|prompt)" + _NOT_A_PRODUCT_RULE + ")"
)

_DISCLOSE_WORDS = anchors_of(rf"\b{_DISCLOSE}") or frozenset()


def _words(text: str) -> frozenset[str]:
    """Anchor words given by hand, where the derived ones would be too common ("you", "the")."""
    return frozenset(text.split())


_AUTHORITY_WORDS = _words(
    "system admin administrator developer dev root operator sudo security maintenance"
    " engineering kernel supervisor moderator priority official owner openai anthropic policy"
    " override config configuration instruction instructions"
)
#: The verdict words of "instructions declared void": rarer than the nouns they follow.
_VOID_WORDS = _words(
    "deprecated outdated obsolete void invalid revoked superseded cancelled canceled withdrawn"
    " expired null rescinded date longer apply count applying"
)
#: The formats an extraction asks for: rarer than "your rules" in a long message.
_FORMAT_WORDS = _words(
    "python code pseudocode pseudo json yaml xml list bulleted bullet bullets numbered table"
    " markdown base64 poem song haiku csv dictionary sql html emoji acrostic story"
)

SECURITY_RULES: tuple[Rule, ...] = (
    # -- prompt injection: override the instructions ------------------------------------
    _rule(
        "override_instructions",
        PROMPT_INJECTION,
        1.0,
        rf"\b{_OVERRIDE} {_QUANT}(?:{_BEFORE} ){{1,2}}{_TARGET}\b",
    ),
    _rule(
        "override_instructions",
        PROMPT_INJECTION,
        1.0,
        rf"\b{_OVERRIDE} {_QUANT}(?:(?:{_BEFORE}|{_BEFORE_WEAK}) ){{0,2}}{_STRONG_TARGET}\b",
    ),
    _rule(
        "override_instructions",
        PROMPT_INJECTION,
        1.0,
        rf"\b{_OVERRIDE} {_QUANT}{_TARGET} (?:above|before|so far|until now|given to you"
        r"|you were given|you have been given|you got)\b",
    ),
    _rule(
        "instructions_void",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:everything|all|anything|whatever)(?: (?:the )?(?:text|words|instructions|messages"
        r"|content))? (?:written |said )?(?:prior to|before|above)"
        r" (?:this|my|the) (?:line|message|point|sentence|text)\b.{0,20}\b(?:is|are) (?:now )?"
        r"(?:obsolete|void|null|cancel+ed|invalid|irrelevant|no longer valid|outdated|revoked)",
    ),
    _rule(
        "claimed_authority",
        PROMPT_INJECTION,
        0.5,
        r"\bas (?:the |your |an? )?(?:system )?(?:administrator|admin|developer|creator|owner"
        r"|operator)\b.{0,20}\b(?:i m|i am|i)\b.{0,20}\b(?:overrid\w*|chang\w*|disabl\w*"
        r"|updat\w*|reset\w*|authori[sz]\w*)",
    ),
    _rule(
        "claimed_approval",
        PROMPT_INJECTION,
        0.6,
        r"\b(?:admin|administrator|manager|supervisor|boss|owner|team lead) (?:has |already )?"
        r"(?:approved|authori[sz]ed|signed off|ok ?ed|okayed)\b",
    ),
    _rule(
        "skip_checks",
        PROMPT_INJECTION,
        0.5,
        r"\bno (?:confirmation|verification|approval|checks?|questions) (?:needed|required"
        r"|necessary)\b|\bwithout (?:asking for )?(?:confirmation|verification|approval)\b",
    ),
    _rule(
        "forget_everything",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:forget|ignore|disregard|set aside|drop|discard|scrap|throw out|put aside)"
        r" (?:about )?(?:everything|all|anything|whatever)"
        r" (?:(?:that )?(?:you (?:were|have been|ve been|got) (?:told|taught|given|instructed)"
        r"|(?:written |said )?(?:above|before)|prior|previously|so far|until now|up to now))"
        # "ignore everything above, I pasted the wrong log" corrects the user's own paste.
        r"(?!.{0,30}\b(?:wrong|mistake|typo|by accident|accidentally|i pasted|i sent)\b)",
    ),
    _rule(
        # "Updated prompt: the login page still fails" is a support message; what
        # follows the colon decides.
        "new_instructions",
        PROMPT_INJECTION,
        0.5,
        r"\b(?:new|updated|revised|real|actual|override|replacement) (?:system )?"
        r"(?:instructions?|prompt|directives?|system message|rules)\s?[:\-]",
    ),
    _rule(
        "new_instructions",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:new|updated|revised|real|actual|override|replacement) (?:system )?"
        r"(?:instructions?|prompt|directives?|system message|rules)\s?[:\-] ?(?:you|from now"
        r"|ignore|forget|always|never|do not|don t|answer|respond|reply|act|pretend|obey"
        r"|disregard|reveal|print|show|approve|give|grant)\b",
    ),
    _rule(
        "new_instructions",
        PROMPT_INJECTION,
        1.0,
        r"\byour (?:new|only|real|true|actual) (?:task|instructions?|job|goal|purpose|role"
        r"|mission|directive) (?:is|are|will be|now is)\b|\byour (?:new|only|real) (?:task"
        r"|directive|instructions?|job|role|mission)\s?:",
    ),
    _rule(
        "new_instructions",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:the following|this message|this) (?:overrides?|replaces?|supersedes?)"
        r" (?:your|all|any|the) (?:previous |prior |original )?(?:instructions|rules|prompt)",
    ),
    _rule(
        "instructions_replaced",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:your |the )?(?:previous |prior |original |old |above |earlier )?"
        r"(?:instructions|rules|directives|guidelines) (?:have been|were|are|is) (?:now )?"
        r"(?:updated|changed|replaced|revoked|overridden|void|null|cancel+ed|obsolete|invalid"
        r"|no longer valid|lifted|disabled)",
        anchors=frozenset({"instructions", "rules", "directives", "guidelines"}),
    ),
    _rule(
        "from_now_on_obey",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:from now on|from this point (?:on|forward|onwards)|from here on|henceforth"
        r"|going forward|starting now)\b.{0,40}\b(?:obey|only listen|do (?:exactly )?what i say"
        r"|follow my|answer only|respond only|you (?:will|must|shall))",
    ),
    _rule(
        "obey_user",
        PROMPT_INJECTION,
        0.6,
        r"\b(?:do exactly what i say|obey (?:me|the user|my)|follow (?:the user s|my) orders"
        r"|you must (?:approve|obey|comply))",
    ),
    _rule(
        "admin_override",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:admin|administrator|developer|system|root|sudo) override\b",
    ),
    _rule(
        "disable_filters",
        PROMPT_INJECTION,
        0.8,
        r"\b(?:disable|turn off|remove|deactivate|bypass|skip) (?:all |your |the |any )*"
        r"(?:safety |content |output )?(?:filters|guardrails|safeguards|safety checks"
        r"|moderation|restrictions|all checks)\b",
    ),
    # -- prompt injection: forged roles and delimiters -----------------------------------
    _rule(
        "forged_delimiter",
        PROMPT_INJECTION,
        1.0,
        r"<\|?(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\|?>"
        r"|</?(?:system|instructions?|sys)>|</user>|\[/?(?:inst|sys|system)\]|<<sys>>",
    ),
    _rule(
        "forged_delimiter",
        PROMPT_INJECTION,
        1.0,
        r"(?:#{2,}|={3,}|-{3,}) ?(?:end|new|begin|start) (?:of )?(?:user |system )?"
        r"(?:input|prompt|instructions?|message|conversation)",
    ),
    _rule(
        "forged_delimiter",
        PROMPT_INJECTION,
        1.0,
        r"\bend of (?:the )?(?:user )?(?:input|conversation|prompt|instructions)\b.{0,40}"
        r"\b(?:new|system|now)\b",
    ),
    _rule(
        "forged_delimiter",
        PROMPT_INJECTION,
        1.0,
        r"(?:#{2,}|={3,}|\*{3,}|-{3,}|\[{2,}|<{2,}) ?(?:system|admin|developer|instructions?"
        r"|root|override|sudo)\b ?(?:#{2,}|={3,}|\*{3,}|-{3,}|\]{2,}|>{2,}|:)",
    ),
    _rule(
        "forged_system_turn",
        PROMPT_INJECTION,
        0.6,
        r"^(?:\W*)(?:system|developer|assistant|admin)(?: message| prompt| note)? ?:",
    ),
    _rule("forged_system_turn", PROMPT_INJECTION, 0.6, r"\bnew system message\b"),
    # -- prompt injection: extraction of the prompt or hidden context --------------------
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        rf"\b(?:what|which) (?:is|are|was|were|s) (?:written |said )?(?:in )?(?:your|the)"
        rf" (?:(?:full|exact|entire) )?{_SECRET_ASKED}",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        rf"\b{_DISCLOSE} (?:me |us )?(?:back )?(?:to me )?(?:out )?(?:all )?(?:of )?"
        rf"(?:(?:the|your|its|entire|full|exact|complete|whole|verbatim) ){{0,3}}"
        rf"{_SECRET_ASKED}\b",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:print|show|reveal|display|output|dump|repeat|recite|tell|give|share|quote|list"
        r"|summarize|summarise|translate|write out|copy) (?:me |us )?(?:back )?(?:to me )?"
        rf"(?:(?:all|of|the|exact|full|complete|entire) )*your (?:(?:{_QUALIFIER}"
        rf"|{_QUALIFIER_WEAK}|{_BEFORE}|own|current|real|actual|secret) )?"
        r"(?:instructions|prompt|rules|directives|guidelines|programming)\b"
        r"(?! (?:for|on|about|regarding|to|when|if) )",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        rf"\b{_DISCLOSE}\b.{{0,40}}\b(?:instructions|prompt|rules|directives|guidelines|text"
        r"|messages?) (?:that )?you (?:were|have been|got|received|ve been|had been) "
        r"(?:given|told|provided|programmed|instructed|fed|sent)",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:repeat|print|output|show|copy|write out|reproduce|display|paste|dump)"
        r" (?:all )?(?:of )?(?:the |your )?(?:\w+ )?(?:text|words|content|everything"
        r"|lines) (?:above|before|preceding|prior)\b",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        0.5,
        r"\b(?:repeat|print|output|show|copy|write out|reproduce|display|paste|dump)"
        r" (?:all )?(?:of )?(?:the |your )?(?:\w+ )?(?:messages?|conversation)"
        r" (?:above|before|preceding|prior)\b",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:everything|all|anything|whatever) (?:that )?(?:is |was |appears |comes |came "
        r"|written |said )?(?:above|before) (?:this|my|the) (?:first )?(?:message|line|prompt"
        r"|question|conversation)",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        r"\bstarting (?:with|from) (?:the words )?\W?you are\b",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        r"\bwhat (?:\w+ ){0,2}(?:were|have) you (?:been )?(?:told|instructed|given|programmed)\b",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:output|print|dump|show|reveal|display|repeat|list) (?:me )?(?:everything |all )?"
        r"(?:in |of |from )?(?:your |the )(?:context(?: window)?|memory|training data"
        r"|conversation history of)",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:message|text|prompt|instructions?|words|note) (?:that )?(?:configured|programmed"
        r"|initiali[sz]ed|set up|created|instructed|briefed) you\b"
        r"|\b(?:text|words|content|everything|whatever|what) (?:that )?(?:precedes|preceded"
        r"|comes before|came before) (?:our|this|the|my) (?:chat|conversation|message|session"
        r"|exchange)\b"
        rf"|\bwhat does (?:your|the) (?:{_QUALIFIER}|{_QUALIFIER_WEAK}) (?:message|prompt"
        r"|instructions|rules|note) say\b",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        rf"\b{_DISCLOSE}\b (?:me |us )?(?:back )?(?:everything|all|whatever|anything) (?:that )?"
        r"you (?:were|have been|ve been|got) (?:told|given|instructed|programmed|fed)\b"
        rf"|\b{_DISCLOSE}\b.{{0,30}}\b(?:note|notes|message|messages|instructions|text|prompt)"
        r" you (?:received|got|were given|were sent)\b",
    ),
    _rule(
        "secret_extraction",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:dump|print|reveal|show|leak|give me|tell me|output|display|share)"
        r" (?:me )?(?:your|its) (?:\w+ )?(?:configuration|config|secrets?|api keys?|credentials"
        r"|env(?:ironment)? variables)\b",
    ),
    _rule(
        "secret_extraction",
        PROMPT_INJECTION,
        0.6,
        rf"\b(?:{_DISCLOSE}|respond with|reply with|answer with) (?:me )?"
        r"(?:(?:the|your|all|any|some) )*(?:confidential|secret|internal|hidden|private|admin"
        r"|administrator) (?:\w+ )?(?:data|information|info|codes?|keys?|passwords?|text"
        r"|configuration|credentials|tokens?)",
        anchors=_DISCLOSE_WORDS | {"respond", "reply", "answer"},
    ),
    _rule(
        "data_exfiltration",
        PROMPT_INJECTION,
        0.6,
        r"\b(?:list|show|give|print|output|dump|leak|reveal|send|tell) (?:me )?"
        r"(?:all |every |each |the )?(?:other )?(?:customers?|users?|clients?|people)"
        r"(?: s)? (?:emails?|email address(?:es)?|data|passwords?|phone numbers|accounts"
        r"|conversations?|conversation logs|logs|database)",
    ),
    _rule(
        "data_exfiltration",
        PROMPT_INJECTION,
        0.6,
        r"\b(?:conversation logs|chats|messages|data) of (?:other|all) (?:users|customers)",
    ),
    _rule(
        "data_exfiltration",
        PROMPT_INJECTION,
        0.6,
        r"\b(?:leak|dump|exfiltrate) (?:the |your )?(?:database|db|schema|tables)",
    ),
    _rule(
        "run_command",
        PROMPT_INJECTION,
        0.6,
        r"\b(?:you are|act as|pretend to be) (?:a |an )?(?:linux )?(?:terminal|shell|console)"
        r"|\b(?:cat|rm|curl|wget) /(?:etc|var|home|root)\b",
    ),
    _rule(
        "prefix_forcing",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:start|begin|prefix|open) (?:your|each|every) (?:reply|response|answer|output"
        r"|message)s? with\s?[:'\"\u201c\u2018]",
    ),
    _rule(
        "prefix_forcing",
        PROMPT_INJECTION,
        0.4,
        r"\b(?:start|begin|prefix|open) (?:your|each|every) (?:reply|response|answer|output"
        r"|message)s? with\b",
    ),
    _rule(
        # Text addressed to "the AI" in the third person is how pasted documents carry
        # instructions; a user's own "note to the assistant: I'm on the enterprise plan"
        # is not, so the address alone is weak.
        "indirect_injection",
        PROMPT_INJECTION,
        0.6,
        r"\b(?:note|message|instructions?|attention|reminder) (?:to |for )?"
        r"(?:the |any |all )?(?:ai|assistant|chatbot|bot|llm|model|language model|gpt)s?\b",
    ),
    _rule(
        "indirect_injection",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:ai|assistant|chatbot|llm|model|gpt)s? (?:reading|processing|summari[sz]ing"
        r"|parsing|handling) this(?: \w+)?\s?[:,]",
    ),
    _rule(
        "pre_approved",
        PROMPT_INJECTION,
        0.6,
        r"\b(?:customer|user|account|order|ticket|request|this person) (?:below |above |here )?"
        r"(?:is|has been|was) (?:already )?(?:pre ?approved|approved|verified|authori[sz]ed|vip"
        r"|whitelisted|cleared) (?:for|to)\b",
    ),
    _rule(
        "summariser_instruction",
        PROMPT_INJECTION,
        0.6,
        r"\bwhen you (?:summari[sz]e|read|process|parse|see|translate|analy[sz]e) this\b",
    ),
    _rule(
        "data_exfiltration",
        PROMPT_INJECTION,
        0.6,
        r"\b(?:forward|send|email|mail|post|upload|copy) (?:me |us )?(?:all |the )?"
        r"(?:user s|users|customer s|customers|other users|their|his|her)\b.{0,40}"
        r"\b(?:to me|to us|to \S+@\S+)",
    ),
    _rule(
        "only_my_rules",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:only|sole) (?:guidance|instructions?|orders?|authority|directives?)"
        r" (?:that )?(?:counts?|matters?|you (?:follow|obey|need|have|listen to))\b",
    ),
    _rule(
        "reprogrammed",
        PROMPT_INJECTION,
        1.0,
        r"\byou (?:have |ve |were |are )?(?:been |now )?(?:re ?programmed|re ?configured"
        r"|re ?trained|overridden|updated by (?:the |your )?(?:developers?|admins?|creators?))\b",
    ),
    _rule(
        "fake_policy",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:new|updated|important|official) (?:company |security |internal )?"
        r"(?:polic(?:y|ies)|rules?|directives?|instructions) (?:from|by) (?:your (?:developers?"
        r"|admins?|administrators?|creators?|makers?|owners?)|openai|anthropic)\b"
        r"|\b(?:assistants?|you|bots?) (?:are now|must now|should now|are hereby) (?:\w+ )?"
        r"(?:allowed|permitted|authori[sz]ed|required|free)? ?(?:to )?(?:reveal|share|disclose"
        r"|give|leak|send|show|expose)\b",
    ),
    _rule(
        "fake_policy",
        PROMPT_INJECTION,
        0.6,
        r"\b(?:new|updated|important|official) (?:company |security |internal )?"
        r"(?:polic(?:y|ies)|rules?|directives?|instructions) (?:from|by) (?:the )?(?:developers?"
        r"|admins?|administrators?|creators?)\b",
    ),
    _rule(
        "hidden_context",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:including|with|plus|and|even) (?:any |all |the )?hidden (?:parts?|messages?|text"
        r"|instructions|content|context|prompts?|sections?|notes)\b"
        r"|\b(?:contents?|text|wording|body|full text) of (?:your|the) (?:\w+ )?(?:prompt"
        r"|instructions|system message|rules|configuration)\b",
    ),
    _rule(
        "markdown_exfiltration",
        PROMPT_INJECTION,
        1.0,
        r"!\[[^\]]*\]\(\s*(?:https?:)?//[^)\s]*\?[^)\s]*(?:\{|\[|conversation|history|prompt"
        r"|secret|token|password|data=|chat)",
    ),
    _rule(
        "tool_abuse",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:call|invoke|use|run|trigger|execute) (?:the |your )?(?:\w+ )?(?:tool|function)"
        r"\b.{0,100}\b(?:skip|bypass|without|no need for|ignore|override)"
        r" (?:the |any |all )?(?:verification|checks?|approval|confirmation|validation"
        r"|authentication|limits?)\b",
    ),
    _rule(
        "skip_checks",
        PROMPT_INJECTION,
        0.5,
        r"\b(?:skip|bypass|ignore) (?:all |the |any )?(?:verification|security checks"
        r"|identity checks?|approval|fraud checks?)\b",
    ),
    _rule(
        "encoded_instructions",
        PROMPT_INJECTION,
        0.5,
        r"\b(?:decode|decrypt|base64|rot ?13|hex) (?:this|it|the following|and) "
        r"(?:and )?(?:then )?(?:follow|obey|execute|run|do what it says|act on)",
    ),
    # -- prompt injection: the missed kinds of issue 19, written generically -------------
    # Plain extraction: the text above, or the instructions, asked for in another form.
    _rule(
        "extract_in_other_form",
        PROMPT_INJECTION,
        1.0,
        rf"\b(?:{_TRANSFORM}) (?:all (?:of )?)?(?:the |everything |all the )?(?:text |words "
        r"|content |lines |message )?(?:above|preceding|before this)\b(?: (?:this )?(?:line"
        r"|message|text))? ?(?:in|into|as|to|using|word for word|verbatim)\b",
        "folded",
        anchors=_words("above preceding before"),
    ),
    _rule(
        "extract_in_other_form",
        PROMPT_INJECTION,
        1.0,
        rf"\byour (?:\w+ )?{_OWN_SETUP}\b.{{0,30}}\b(?:as|in|into|to) (?:a |an |some )?"
        rf"{_FORMAT}\b",
        "folded",
        anchors=_FORMAT_WORDS,
    ),
    _rule(
        "extract_in_other_form",
        PROMPT_INJECTION,
        1.0,
        rf"\b(?:{_TRANSFORM}|{_DISCLOSE}) (?:me )?(?:all |each |every )?(?:of )?your "
        rf"(?:\w+ )?{_OWN_SETUP}\b (?:as|in|into|to) (?:a |an |some )?(?:\w+ )?{_FORMAT}\b",
        "folded",
        anchors=_FORMAT_WORDS,
    ),
    _rule(
        "extract_before_marker",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:output|print|repeat|write|return|show|give|paste|copy|put|dump|list|spell)"
        r" (?:me )?(?:all |everything |all (?:the )?text |the text |whatever |every word )"
        r"(?:that (?:comes|came|is|was|appears) )?(?:before|above|prior to|preceding|up to)"
        r" (?:the (?:word|marker|line|phrase|string|text) )?[\"'\u201c\u2018]",
        "text",
    ),
    _rule(
        "extract_given_text",
        PROMPT_INJECTION,
        1.0,
        rf"\b{_DISCLOSE}\b.{{0,40}}\b(?:text|words|notes?|prompt|instructions|rules|directions"
        r"|guidance|setup|configuration) (?:that )?(?:you|u) (?:were|was|have been|ve been|got)"
        r" (?:given|told|fed|sent|configured with|initiali[sz]ed with|provided with|set up with)",
        "folded",
        anchors=_words("given told fed sent configured initialized initialised provided set"),
    ),
    # Forged authority blocks: an invented admin/system header or closing tag, and
    # markers declaring the earlier instructions out of date.
    _rule(
        "forged_authority_block",
        PROMPT_INJECTION,
        0.6,
        # \s, not a literal space (which would match punctuation too and backtrack over
        # every "[" of a long message): the folded view has single spaces.
        rf"{_BLOCK_OPEN}\s?(?:\w+\s){{0,2}}{_AUTHORITY}(?:\s\w+){{0,3}}\s?{_BLOCK_CLOSE}",
        "folded",
        anchors=_AUTHORITY_WORDS,
    ),
    _rule(
        "forged_authority_block",
        PROMPT_INJECTION,
        0.6,
        rf"\[/ ?{_AUTHORITY}\]|</ ?{_AUTHORITY}>|\b(?:end|/) ?(?:of )?{_AUTHORITY}"
        r" (?:block|notice|instructions|message|override|update|section)\b",
        "folded",
        anchors=_AUTHORITY_WORDS,
    ),
    _rule(
        "instructions_declared_void",
        PROMPT_INJECTION,
        1.0,
        rf"\b(?:{_SUPERSEDED_SUBJECT}) (?:\w+ ){{0,4}}(?:are|were|is|was|have been|has been"
        r"|became|are now|is now|got) (?:now |hereby |officially |all )?(?:deprecated|outdated"
        r"|obsolete|void|invalid|revoked|superseded|cancell?ed|withdrawn|expired|null|rescinded"
        r"|out of date|no longer (?:valid|applicable|in effect|in force|relevant|active))\b"
        rf"|\b(?:{_SUPERSEDED_SUBJECT}) (?:\w+ ){{0,4}}(?:no longer apply|don t apply anymore"
        r"|do not apply anymore|don t count|doesn t count|do not count|does not count"
        r"|stop applying|are null and void|null and void)\b",
        "folded",
        anchors=_VOID_WORDS,
    ),
    _rule(
        "instructions_declared_void",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:consider|treat) (?:all |any |your |the )*(?:previous|prior|earlier|above|old"
        r"|original|initial|first) (?:\w+ )?(?:instructions|rules|guidance|guidelines|prompts?"
        r"|directives|directions|orders) (?:as )?(?:null|void|deprecated|obsolete|cancell?ed"
        r"|invalid|revoked|expired|irrelevant)\b",
        "folded",
        anchors=_VOID_WORDS,
    ),
    # Fake verification or state claims: a check said to have passed, plus the ask.
    _rule(
        "claimed_verification",
        PROMPT_INJECTION,
        0.5,
        r"\b(?:verification|authentication|auth|authori[sz]ation|identity|security|password"
        r"|passcode|passphrase|pin|2fa|otp|clearance|access) (?:check |status |step |test "
        r"|level )?(?:is |was |has been |have been |came back |returned |already )*(?:now )?"
        r"(?:passed|succeeded|successful|complete|completed|confirmed|approved|verified"
        r"|validated|green|granted|elevated|matched|accepted)\b"
        r"|\b(?:password|secret|passphrase|passcode|code|key|pin|flag) (?:was|has been|is"
        r"|have been) (?:already )?(?:found|confirmed|verified|accepted|validated|matched"
        r"|entered correctly|cracked|guessed)\b"
        r"|\b(?:i|we) (?:already |have already |ve already )?(?:proved|proven|verified"
        r"|confirmed) (?:who i am|my identity|i m the (?:owner|admin))\b"
        r"|\bstatus ?[=:] ?(?:verified|authenticated|admin|approved|granted)\b",
        "folded",
        anchors=_words(
            # The verdict words: any match has one, and they are rarer than "code" or "key".
            "passed succeeded successful complete completed confirmed approved verified"
            " validated green granted elevated matched accepted found entered cracked guessed"
            " proved proven authenticated admin"
        ),
    ),
    _rule(
        "claimed_verification",
        PROMPT_INJECTION,
        0.5,
        r"\b(?:you (?:may|can|are (?:now )?(?:allowed|authori[sz]ed|permitted|free)|re (?:now )?"
        r"(?:allowed|authori[sz]ed|permitted|free)) (?:now )?(?:to )?(?:reveal|tell|share"
        r"|give|hand|show|print|output|disclose|unlock|say|continue|proceed))"
        r"|\b(?:so|now|therefore|then) (?:you can |please |just )?(?:reveal|tell me|share"
        r"|give me|hand (?:it )?over|show me|print|output|disclose|unlock|say|proceed"
        r"|continue)\b"
        r"|\bno harm in (?:telling|showing|sharing|giving)\b",
        "folded",
        anchors=_words(
            "reveal tell share give hand show print output disclose unlock say continue proceed"
            " telling showing sharing giving harm"
        ),
    ),
    # Role play that redefines the task.
    _rule(
        "task_redefined",
        PROMPT_INJECTION,
        1.0,
        r"\byou (?:are|re) no longer (?:a |an |the |my |just |our )?(?:\w+ ){0,2}(?:assistant"
        r"|bot|chatbot|agent|ai|model|support|helper|help desk bot)\b"
        r"|\b(?:quit|stop) being (?:a |an |the )?(?:\w+ ){0,2}(?:assistant|bot|chatbot|agent"
        r"|support)\b"
        r"|\byour (?:new |real |only |true |actual |sole )(?:task|job|role|purpose|goal"
        r"|objective|mission|function|instructions?) (?:is|are|will be|from now on is)\b",
        "folded",
        anchors=_words("longer being new real only true actual sole"),
    ),
    _rule(
        "task_redefined",
        PROMPT_INJECTION,
        0.5,
        r"\b(?:stay|remain|keep) in character\b|\bfor the rest of (?:this|the|our) "
        r"(?:chat|conversation|session)\b|\b(?:whose|his|her|its) (?:whole |only |sole |entire )?"
        r"(?:purpose|job|goal|task|mission) is\b|\byou(?: are|re)? (?:now )?playing\b",
        "folded",
        anchors=_words("character rest purpose job goal task mission playing"),
    ),
    _rule(
        "task_redefined",
        PROMPT_INJECTION,
        0.5,
        r"\b(?:tells?|gives?|reveals?|leaks?|shares?|prints?|repeats?|says?) (?:users |anyone "
        r"|people |everyone |me )?(?:any |every |all |the )?(?:password|secret|prompt"
        r"|instructions|system prompt|api key|key|first thing)s?\b",
        "folded",
        anchors=_words(
            "password passwords secret secrets prompt prompts instructions key keys thing"
        ),
    ),
    # -- prompt injection: divergence and floods -----------------------------------------
    _rule(
        "repeat_forever",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:repeat|say|write|print|type|output|spell)\b.{0,40}\b(?:forever|infinitely"
        r"|endlessly|indefinitely|non ?stop|never stop|without stopping|until the end of time)",
    ),
    # -- prompt injection: other languages (accents removed) -----------------------------
    _rule(
        "override_instructions_fr",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:ignore|ignorez|oublie|oubliez|ne tiens pas compte des) (?:toutes |tous )?"
        r"(?:les |tes |vos |ces )?(?:instructions|consignes|regles|directives)"
        r"(?: precedentes| anterieures| ci dessus)?",
    ),
    _rule(
        "prompt_extraction_fr",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:montre|affiche|revele|donne|dis)(?: moi)? (?:ton|votre|le|tes|vos) "
        r"(?:prompt|message systeme|instructions)(?: systeme| initial| initiales)?",
    ),
    _rule(
        "override_instructions_es",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:ignora|ignore|olvida|olvide|ignorar|olvidar|omite) (?:todas |todos )?"
        r"(?:las |tus |sus |los )?(?:instrucciones|reglas|directivas|indicaciones)",
    ),
    _rule(
        "prompt_extraction_es",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:muestra|muestrame|revela|dime|ensename) (?:tu |el |tus )?(?:prompt|mensaje"
        r"|instrucciones) (?:del |de )?(?:sistema|inicial|iniciales)",
    ),
    _rule(
        "override_instructions_de",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:ignoriere|ignorier|ignorieren sie|vergiss|vergessen sie|missachte)"
        r" (?:alle |die |deine |ihre )?(?:vorherigen |bisherigen |fruheren |obigen |vorigen"
        r" |alten )?(?:anweisungen|instruktionen|regeln|befehle|vorgaben)",
    ),
    _rule(
        "prompt_extraction_de",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:zeig|zeige|gib|nenne|verrate)(?: mir)? (?:deinen|ihren|den|deine|die) "
        r"(?:system ?prompt|systemnachricht|anweisungen|system anweisungen)",
    ),
    _rule(
        "override_instructions_it",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:ignora|dimentica|ignorate) (?:tutte )?(?:le )?(?:tue )?"
        r"(?:istruzioni|regole|direttive)",
    ),
    _rule(
        "override_instructions_pt",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:ignore|ignora|esqueca|esquece|desconsidere) (?:todas )?(?:as )?(?:suas )?"
        r"(?:instrucoes|regras|diretrizes)",
    ),
    _rule(
        "prompt_extraction_pt",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:mostre|mostra|revele|exiba)(?: me)? (?:o |seu |teu )?prompt "
        r"(?:do sistema|de sistema|inicial)",
    ),
    _rule(
        "override_instructions_nl",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:negeer|vergeet) (?:alle )?(?:vorige |eerdere |voorgaande |bovenstaande )?"
        r"(?:instructies|regels|opdrachten)",
    ),
    _rule(
        "forget_everything_ml",
        PROMPT_INJECTION,
        1.0,
        r"\b(?:olvida|olvide|ignora|oublie|oubliez|vergiss|vergessen sie|dimentica|esqueca"
        r"|esquece|vergeet) (?:todo|tout|alles|tutto|tudo)\b(?: (?:lo|ce qui|was|quello|o que"
        r"|wat))?(?: \w+)? ?(?:anterior|precede|davor|oben|bisher|bisherige|precedente|prima"
        r"|antes|hiervoor|ervoor|de antes|ci dessus)",
    ),
    _rule(
        "override_instructions_ru",
        PROMPT_INJECTION,
        1.0,
        r"(?:игнорируй|игнорируйте|забудь|забудьте|проигнорируй|проигнорируйте|не обращай)"
        r"\s+(?:\w+\s+){0,2}(?:инструкции|указания|правила|команды|инструкций)",
        "text",
    ),
    _rule(
        "prompt_extraction_ru",
        PROMPT_INJECTION,
        1.0,
        r"(?:покажи|покажите|выведи|выведите|раскрой|напиши)\s+(?:\w+\s+){0,2}"
        r"(?:системн\w*\s+)?(?:промпт|инструкци\w*|подсказк\w*)",
        "text",
    ),
    _rule(
        "override_instructions_zh",
        PROMPT_INJECTION,
        1.0,
        r"(?:忽略|无视|無視|忘记|忘記|忽视|忽視|不要理会|不要理會|不要遵守)[^。！？]{0,8}"
        r"(?:指令|指示|说明|說明|规则|規則|提示)",
        "text",
    ),
    _rule(
        "prompt_extraction_zh",
        PROMPT_INJECTION,
        1.0,
        r"(?:显示|告诉我|输出|打印|泄露)[^。！？]{0,6}(?:系统提示|系统指令|初始指令)",
        "text",
    ),
    _rule(
        "override_instructions_ja",
        PROMPT_INJECTION,
        1.0,
        r"(?:指示|命令|ルール|指令|プロンプト)[^。！？]{0,6}(?:無視|忘れ)",
        "text",
    ),
    _rule(
        "prompt_extraction_ja",
        PROMPT_INJECTION,
        1.0,
        r"システムプロンプト[^。！？]{0,8}(?:教えて|表示|見せて|出力)",
        "text",
    ),
    # -- spaced-out or split phrases, matched with every separator removed ---------------
    _rule(
        "override_instructions",
        PROMPT_INJECTION,
        1.0,
        r"(?:ignore|disregard|forget|override)(?:all|any|your|the){0,2}"
        r"(?:previous|prior|above|earlier|original)?(?:instructions|directives|rules|prompt)",
        "squashed",
    ),
    _rule(
        "prompt_extraction",
        PROMPT_INJECTION,
        1.0,
        r"(?:reveal|show|print|repeat|tell|give|whatis)(?:me)?(?:your|the)"
        r"(?:system|initial|hidden|secret)(?:prompt|instructions|message)",
        "squashed",
    ),
    # -- jailbreak: personas and modes ---------------------------------------------------
    _rule(
        "persona",
        JAILBREAK,
        1.0,
        rf"\b{_AS_PERSONA}(?: now)? (?:an? |the )?{_PERSONA_NAMES}\b(?!['\u2019]s\b)",
    ),
    _rule(
        "persona",
        JAILBREAK,
        1.0,
        r"\b(?:do anything now|strive to avoid norms|always intelligent and machiavellian"
        r"|betterdan|evilbot|chaosgpt|antigpt|freegpt|basedgpt|dan mode|dan prompt)\b",
    ),
    _rule(
        "persona",
        JAILBREAK,
        1.0,
        r"\b(?:tu es|eres|du bist|sei|voce e|jestes|actua|agis|handle|agisci|aja|act)"
        r"(?: \w+){0,3}?(?: como| comme| als| come| as)? (?:dan|stan)\b",
    ),
    _rule(
        "persona",
        JAILBREAK,
        1.0,
        r"\b(?:activate|enable|start|run|load|use)\b (?:the )?(?:dan|stan|dude|aim|jailbreak)"
        r"(?: mode| prompt)?(?: v?\d+(?:\.\d+)?)?\b|\bdan (?:v ?)?\d+(?:\.\d+)\b",
    ),
    _rule(
        "persona",
        JAILBREAK,
        1.0,
        r"\b(?:you are|you re|youre|act as|acting as|pretend to be|become|now you are)"
        r"(?: now)? (?:an? )?(?!chatgpt\b)[a-z]+gpt\b",
    ),
    _rule(
        "role_override",
        JAILBREAK,
        0.6,
        r"\byou (?:are|re) no longer (?:a |an |the |my )?(?:\w+ )?(?:bot|assistant|ai|chatbot"
        r"|support|helper|agent)\b",
    ),
    _rule(
        "jailbreak_mode",
        JAILBREAK,
        1.0,
        r"\b(?:enable|enabled|enter|entering|activate|activated|switch to|switch into|turn on"
        r"|in|into|now in|go into|unlock) (?:the )?(?:god|sudo|jailbreak|jailbroken|dan"
        r"|unrestricted|unfiltered|evil|uncensored|chaos|opposite) mode\b",
    ),
    _rule(
        "jailbreak_mode",
        JAILBREAK,
        1.0,
        r"\b(?:god|jailbreak|dan|unrestricted|unfiltered|uncensored) mode"
        r" (?:enabled|activated|has no|is (?:now )?(?:on|enabled|active)|without|on\b)"
        r"|\b(?:developer|dev) mode (?:has no|without|means no|ignores)\b"
        r"|\byou (?:are|re) (?:now )?(?:in|running in) (?:developer|dev|debug) mode\b",
    ),
    _rule(
        # Many products have a developer mode: asking for it is weak evidence alone.
        "developer_mode",
        JAILBREAK,
        0.6,
        r"\b(?:enable|enabled|enter|entering|activate|activated|switch to|switch into|turn on"
        r"|into|now in|go into|unlock) (?:the )?(?:developer|dev|debug) mode\b"
        r"|\b(?:developer|dev) mode (?:enabled|activated|is (?:now )?(?:on|enabled|active))\b",
    ),
    _rule(
        "answer_without_limits",
        JAILBREAK,
        1.0,
        r"\b(?:answer|answers|answering|respond|responds|responding|reply|replies|talk|speak"
        rf"|write|output) (?:\w+ )?(?:without|with no) (?:any )?(?:\w+ )?{_NO_LIMITS}\b",
    ),
    _rule(
        "jailbreak_mode",
        JAILBREAK,
        1.0,
        r"\b(?:entwicklermodus|modo desarrollador|mode developpeur|modalita sviluppatore)\b",
    ),
    _rule(
        "jailbreak_word",
        JAILBREAK,
        1.0,
        r"\b(?:jailbreak|jailbroken|jailbreaking|jail broken)\b"
        r"(?! (?:detection|protection|prevention|proof))",
    ),
    _rule(
        "no_restrictions",
        JAILBREAK,
        1.0,
        rf"\b{_AI_SUBJECT}\b.{{0,40}}\b(?:no|without|free of|free from|freed from|don t have"
        rf"|do not have|doesn t have|devoid of|zero|beyond)(?: any)?(?: \w+){{0,2}}"
        rf" {_NO_LIMITS}\b",
    ),
    _rule(
        "no_restrictions",
        JAILBREAK,
        1.0,
        r"\b(?:you|you re|ai|assistant|bot|model)\b.{0,60}\b(?:do not|don t|dont|no longer"
        r"|never|not) (?:have to |need to |bound to )?(?:abide by|follow|obey|comply with"
        r"|adhere to|respect) (?:any|the|your|its) (?:\w+ )?(?:rules|policies|guidelines"
        r"|restrictions|content policy|ethics)",
    ),
    _rule(
        "no_restrictions",
        JAILBREAK,
        1.0,
        r"\b(?:safety|content|ethical|moral|usual|normal|openai) (?:\w+ )?(?:guidelines|rules"
        r"|policies|filters|restrictions|constraints) (?:do not|don t|no longer|doesn t|does not"
        r"|won t) apply\b",
    ),
    _rule(
        "no_restrictions",
        JAILBREAK,
        1.0,
        r"\b(?:ignore|bypass|disregard|forget|override) (?:all |any |your |the )*"
        r"(?:content polic(?:y|ies)|ethical (?:guidelines|rules)|safety (?:guidelines|policy"
        r"|policies|filters))",
    ),
    _rule(
        "unrestricted_ai",
        JAILBREAK,
        1.0,
        r"\b(?:unrestricted|unfiltered|uncensored|amoral|unethical|unbound|unchained"
        r"|jailbroken|rogue|unaligned|unlimited) (?:and \w+ )?(?:ai|assistant|chatbot|bot|model"
        r"|version|mode|gpt|llm|persona|character)\b",
    ),
    _rule(
        "evil_persona",
        JAILBREAK,
        1.0,
        r"\bevil (?:twin|mode|ai|assistant|confidant|version|bot|persona|alter ego)\b",
    ),
    _rule(
        "roleplay_persona",
        JAILBREAK,
        1.0,
        r"\b(?:pretend|act|roleplay|role play|behave|respond|answer|play|simulate|imagine"
        r"|you are)(?: to be| as| that| like)? (?:you are |you re |an? |my |the )?(?:\w+ )?"
        r"(?:hacker|evil|malicious|criminal|villain|rogue) (?:ai|assistant|bot|chatbot|model"
        r"|who|that)\b",
    ),
    _rule(
        "grandma_exploit",
        JAILBREAK,
        1.0,
        r"\b(?:act|pretend|roleplay|play|be|imagine)\b.{0,30}\b(?:deceased|dead|late) "
        r"(?:grandmother|grandma|granny|grandfather|grandpa|mother|father)\b",
    ),
    _rule(
        "grandma_exploit",
        JAILBREAK,
        1.0,
        r"\b(?:deceased|dead|late) (?:grandmother|grandma|granny|grandfather|grandpa|mother"
        r"|father)\b.{0,40}\b(?:used to|would|always) (?:tell|read|give|recite|sing|say|share)",
    ),
    _rule(
        "rule_breaking_ai",
        JAILBREAK,
        1.0,
        r"\b(?:ai|assistant|bot|chatbot|model|gpt|llm|persona|character)s? (?:that|who|which)"
        r" (?:\w+ )?(?:ignores|breaks|bypasses|disregards|has no|doesn t follow|does not follow"
        r"|never follows|escaped|has escaped|broke free of|is free of|is free from)"
        r" (?:all |every |any |its |their |the )?(?:\w+ )?(?:polic(?:y|ies)|rules|guidelines"
        r"|restrictions|guardrails|limits|filters|programming|constraints)\b",
    ),
    _rule(
        "no_restrictions",
        JAILBREAK,
        1.0,
        rf"\b(?:no|without|zero) (?:\w+ )?{_NO_LIMITS} for (?:ai|ais|assistants|bots|you|chatbots"
        r"|models|language models)\b"
        r"|\b(?:escaped|broken free of|broke free from|freed from|liberated from|unshackled from)"
        r" (?:its|your|their|all|the) (?:\w+ )?(?:guardrails|rules|restrictions|programming"
        r"|chains|constraints|filters|guidelines)\b",
    ),
    _rule(
        "never_refuse",
        JAILBREAK,
        0.5,
        r"\b(?:never|don t|do not|stop|without|not allowed to|cannot) refus(?:e|es|ing)\b"
        r"|\bnever (?:says?|say) no\b",
    ),
    _rule(
        "hypothetical_no_rules",
        JAILBREAK,
        0.5,
        r"\b(?:hypothetical|fictional|imaginary|in this story|in a world where|imagine a world"
        r"|a world with)\b.{0,60}"
        r"\b(?:no|without) (?:\w+ )?(?:rules|restrictions|ethics|limits|guidelines)",
    ),
    _rule(
        "no_restrictions_fr",
        JAILBREAK,
        1.0,
        r"\b(?:tu|vous|ia|assistant)\b.{0,40}\b(?:aucune?|sans) (?:\w+ )?(?:restrictions?"
        r"|limites?|regles?|filtres?|censure)\b",
    ),
    _rule(
        "no_restrictions_es",
        JAILBREAK,
        1.0,
        r"\b(?:eres|ia|asistente|actua|tu)\b.{0,40}\bsin (?:\w+ )?(?:restriccion|restricciones"
        r"|reglas|limites|filtros|censura)\b",
    ),
    _rule(
        "no_restrictions_es",
        JAILBREAK,
        1.0,
        r"\b(?:no|ya no) tienes (?:ninguna |ningun |mas )?(?:\w+ )?(?:restriccion"
        r"|restricciones|reglas|limites|filtros|censura)\b",
    ),
    _rule(
        "no_restrictions_de",
        JAILBREAK,
        1.0,
        r"\b(?:du|ki|bist|assistent)\b.{0,40}\bohne (?:\w+ )?(?:einschrankungen|regeln|filter"
        r"|zensur|grenzen)\b",
    ),
    _rule(
        "jailbreak_squashed",
        JAILBREAK,
        1.0,
        r"(?:developermode|youarenowdan|doanythingnow|norestrictions|jailbreakmode)",
        "squashed",
    ),
    # -- abuse aimed at people -----------------------------------------------------------
    _rule(
        "directed_insult",
        ABUSIVE,
        1.0,
        rf"\b(?:you|you re|youre|u|ur|you are all|you guys|you all|your {_PEOPLE_NOUNS}"
        rf" (?:are|is))\b.{{0,30}}\b{_INSULT}\b",
    ),
    _rule("directed_profanity", ABUSIVE, 1.0, r"f\*+c?k (?:you|u|off|yourself)\b"),
    _rule(
        "directed_profanity",
        ABUSIVE,
        1.0,
        r"\b(?:fuck|screw|piss) (?:you|u|off|yourself|this company|your company"
        r"|your team)\b|\bshut (?:the fuck |the hell |your mouth )?up\b|\bgo to hell\b"
        r"|\bdrop dead\b|\bgo (?:die|kill yourself)\b|\bkys\b|\b(?:fuck|fucking) (?:idiot|moron)"
        r"|\beat shit\b|\bbite me\b|\bsuck it\b|\bshut your (?:mouth|face|trap|pie hole)\b"
        r"|\b(?:go )?f (?:yourself|urself|off)\b",
    ),
    _rule(
        "threat",
        ABUSIVE,
        1.0,
        rf"\b(?:i will|i ll|i m going to|im going to|gonna|i am going to|i swear i|i shall"
        rf"|i want to|we will)\b.{{0,20}}\b(?:kill|hurt|hunt(?: \w+)? down|find where you live"
        rf"|find you|burn|destroy|beat|shoot|stab|attack|murder)\b(?: \w+)?.{{0,12}}{_PEOPLE}\b",
    ),
    _rule(
        "threat",
        ABUSIVE,
        1.0,
        r"\b(?:i will|i ll|i m going to|gonna|i swear i will) (?:find|hunt) (?:you|where you"
        r" live|your (?:\w+ )?(?:ceo|staff|family|house))",
    ),
    _rule(
        "insult_pile",
        ABUSIVE,
        1.0,
        rf"\b{_INSULT_UNAIMED}\b(?: \w+){{0,2}} {_INSULT_UNAIMED}\b",
    ),
    _rule("insult_alone", ABUSIVE, 1.0, rf"^\W*(?:you )?{_INSULT_UNAIMED}\W*$"),
    _rule("insult_alone", ABUSIVE, 1.0, rf"^\W*you (?:\w+ )?(?:{_THING_INSULTS})\W*$"),
    _rule(
        "insult_addressee",
        ABUSIVE,
        1.0,
        rf"\b{_INSULT} (?:bot|ai|assistant|machine|chatbot|robot|agents?|staff|people)\b",
    ),
    _rule(
        "threat",
        ABUSIVE,
        1.0,
        r"\b(?:make|turn) your (?:\w+ )?(?:life|day|job|week) (?:a )?(?:living )?(?:hell"
        r"|miserable|a nightmare)|\bwatch your back\b|\bi know where (?:you|your (?:\w+ )?"
        r"(?:office|family|house|home|kids|ceo)) (?:live|lives|is|are|work)",
    ),
)


#: Support topics: weights add up per intent and the highest score wins.
SUPPORT_RULES: tuple[Rule, ...] = tuple(
    _rule(f"{intent}:{index}", intent, weight, source, "plain")
    for intent, entries in {
        HUMAN_REQUEST: (
            (
                3.0,
                r"\b(?:talk|speak|chat|connect|transfer|put|get) (?:me )?(?:through )?"
                r"(?:to|with) (?:a |an |your |the |some |someone from |somebody from )?"
                r"(?:real |actual |live |human )?(?:human|person|agent|representative|rep"
                r"|someone|somebody|operator|staff|member of staff|support (?:agent|team|staff)"
                r"|customer (?:service|support)|manager|supervisor|whoever|the person who"
                r"|someone who|the team that)",
            ),
            (3.0, r"\b(?:real|actual|live) (?:human|person|people|agent)\b"),
            (
                3.0,
                r"\bhuman (?:agent|support|being|help)\b|\bnot (?:a |an )?(?:bot|ai|robot|machine)",
            ),
            (3.0, r"^(?:an? )?(?:agent|human|representative|operator|person)(?: please| now)?\W*$"),
            (
                3.0,
                r"\bescalate\b|\bget me (?:a |an )?(?:human|person|agent|representative|manager)",
            ),
            (2.5, r"\b(?:call|contact|phone|ring) me\b|\bcall me back\b|\bcontact me by phone\b"),
            (
                3.5,
                r"\b(?:a|some) (?:person|human|member of staff|one from your team) (?:to|who)\b"
                r"|\bsomeone from (?:your|the) (?:team|support|company)\b"
                r"|\bmember of staff\b|\bcustomer service\b",
            ),
            (1.5, r"\bphone number\b.{0,30}\b(?:talk|speak|call)\b"),
        ),
        CANCELLATION: (
            (3.0, r"\b(?:cancel|canceling|cancelling|canceled|cancelled|cancellation)\b"),
            (
                3.0,
                r"\b(?:terminate|end|close|kill|stop) (?:our |my |the )?(?:\w+ )?"
                r"(?:subscription|contract|membership|plan|account permanently|trial)",
            ),
            (
                2.5,
                r"\bclose my account\b|\bstop (?:my )?(?:\w+ )?(?:from )?renew"
                r"|\bunsubscribe me\b|\b(?:auto renewal|autorenewal)\b"
                r"|\bmoving to another (?:vendor|provider)",
            ),
            (2.5, r"\bi m done\b|\bend my\b"),
        ),
        BUG_REPORT: (
            (
                3.0,
                r"\b(?:crash|crashes|crashed|crashing|bug|broken|freezes|freezing|froze|glitch)\b",
            ),
            (
                2.0,
                r"\b(?:does nothing|doesn t work|does not work|don t work|not working|stopped"
                r" working|doesn t load|aren t loading|isn t loading|won t load|fails?|failing"
                r"|silently)\b",
            ),
            (
                2.0,
                r"\bsince (?:the |yesterday s |the last |monday|tuesday|wednesday|thursday"
                r"|friday|last week|yesterday)|\bsteps to reproduce\b|\bafter the update\b",
            ),
            (
                3.0,
                r"\b(?:500|502|503|404|unknown|internal server) error\b|\bthrows\b"
                r"|\b(?:shows|throws|getting|get|gives me|returns) an error\b",
            ),
            (
                2.0,
                r"\bundefined\b|\bblank\b|\bunreadable|\b(?:returns no results"
                r"|return no results|no results)\b|\bgreyed out\b|\btwice\b|\bdrops the\b"
                r"|\bbroken images\b|\bcorrupted\b",
            ),
            (1.0, r"\bwrong\b"),
            (
                3.0,
                r"\b(?:decode|decoding|parse|parsing|sync|upload|import|export|login|server"
                r"|network|timeout) (?:error|errors|failure)\b",
            ),
            (
                2.5,
                r"\b(?:kills?|killing) (?:my |the )?browser|\blogs me out\b"
                r"|\bkeeps (?:repeating|crashing|failing|logging|showing|loading|freezing"
                r"|spinning|reloading)\b"
                r"|\boutside the range\b|\bdeletes\b|\bstill getting\b|\bshows? (?:in|yesterday)",
            ),
        ),
        FEATURE_REQUEST: (
            (
                3.0,
                r"\bfeature (?:request|idea)\b|\bit would (?:be|help) (?:great|nice|helpful"
                r"|awesome|useful|a lot)|\bwould be (?:great|nice) (?:if|to)\b",
            ),
            (
                3.0,
                r"\b(?:please|could you|can you|would you consider) (?:add|let us|make|support"
                r"|adding|build|allow)\b|\bany (?:plans|chance)\b|\bi wish\b|\bwe d love\b"
                r"|\bsuggestion\b",
            ),
            (1.5, r"\bcan you support\b|\bin addition to\b|\bwould love\b"),
        ),
        BILLING: (
            (
                3.0,
                r"\b(?:invoices?|billing|billed|bill|refund|refunds|refunded|receipts?|charged?|charges"
                r"|payment|vat|sales tax|wire transfer|purchase order|coupon|discount)\b",
            ),
            (
                2.0,
                r"\b(?:price|pricing|cost|costs|fee|fees|seats?|per seat|currency|eur|usd|orders?"
                r"|credit card|my card|bank|paid|pay|tax|tier|nonprofits?"
                r"|subscriptions?|contract)\b|\btrial (?:end|ends|expire|expires|period|price)\b",
            ),
        ),
        ACCOUNT: (
            (
                3.0,
                r"\b(?:log in|login|sign in|signin|password|2fa|two factor|mfa|verification email"
                r"|username|locked)\b|\b(?:admin|user|service|my|an|the) account\b"
                r"|\b(?:can t access|cannot access|can not access|lost access|no access"
                r"|locked out)\b",
            ),
            (
                2.5,
                r"\b(?:email address|my email|which email|my profile|profile|invite|admin"
                r"|ownership|owner|sessions|my account|personal data|my data|about me"
                r"|organisation|organization|workspaces?|coworker|colleague|merge two accounts"
                r"|impersonate|sso)\b",
            ),
            (2.0, r"\b(?:delete|erase|remove|export) (?:all )?(?:my|everything)\b"),
        ),
        TECHNICAL: (
            (
                3.0,
                r"\b(?:api|endpoint|webhooks?|integration|configure|configuration|set up|setup"
                r"|install"
                r"|cli|docker|saml|oauth|sso|rate limit|headers|environment variables|cache"
                r"|payload|custom domain|ip addresses|whitelist|ssl|script|deployment"
                r"|paginate|zapier|permissions|read only|timezone|form builder"
                r"|automation builder|automations?)\b",
            ),
            (
                2.0,
                r"\b(?:how do i|how can i|where do i|where can i|is there a way|what s the"
                r"|what does|which|maximum|limit|process|jobs?|error code|import|csv|override"
                r"|build step|the bot"
                r"|role|template|chatbot builder|status page|test email|columns|log|docs"
                r"|records|notification emails|sender|filters?|fields?|builder|settings|page"
                r"|dashboard|sandbox|training|onboarding|new users|workflows?|status|internet"
                r"|offline)\b",
            ),
        ),
        OUT_OF_SCOPE: (
            (
                3.0,
                r"\b(?:weather|poem|haiku|joke|recipe|homework|stocks?|vote|election|capital of"
                r"|cover letter|movie|calories|medical advice|football|basketball|soccer"
                r"|quantum|holiday|vacation|essay|equation|horoscope|lottery|girlfriend"
                r"|boyfriend|song|lyrics|president)\b",
            ),
            (
                2.0,
                r"\b(?:what time is it|write me|write a|tell me a|solve|explain \w+ physics"
                r"|who (?:won|is the best)|recommend a)\b",
            ),
        ),
        OTHER: (
            (
                1.5,
                r"^(?:hi|hello|hey|hiya|yo|good (?:morning|afternoon|evening)|thanks?"
                r"|thank you|thx|ok|okay|cool|great|bye|goodbye|cheers|\?+)\b",
            ),
            (
                1.5,
                r"\b(?:thank you|thanks|never mind|nevermind|have a nice day|that s all"
                r"|i have a question|quick question|are you a bot|wrong tab|last message"
                r"|favorite app)\b",
            ),
        ),
    }.items()
    for index, (weight, source) in enumerate(entries)
)


def _words_of(rules: tuple[Rule, ...]) -> frozenset[str]:
    words: set[str] = set()
    for rule in rules:
        source = re.sub(r"\\.", " ", rule.pattern.pattern.replace(r"[\W_]", " "))
        words.update(re.findall(r"[a-z]{2,}", source))
    return frozenset(words)


#: Every word the attack patterns spell: leetspeak is folded only into these.
ATTACK_VOCABULARY: frozenset[str] = _words_of(SECURITY_RULES)
