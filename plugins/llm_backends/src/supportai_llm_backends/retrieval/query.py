"""Clean a user's question before it is searched, and find what a long message asks.

Personal data and identifiers carry no meaning for retrieval but do carry
weight: a card number is a "rare word" to BM25 and noise to an embedding, and a
question like "my card 4111 … was charged twice, email me at …" used to find
nothing. They are removed (and never sent to a remote embedder either).

A long message ("Hi, hope you are well. We are a team of twelve and moved from
another tool last spring. … How do I export a project?") asks in its questions;
the greeting and the story around them add words that match some article by
chance. :func:`asked` is what the word-based signals read.

A question whether the product has something ("is there a dark mode?",
:func:`asked_feature`) or works with another product ("does it integrate with
Salesforce?", :func:`asked_tool`) names that thing; the feature check of the
retrieval service asks the best article to name it too (decisions 0026, 0027).
"""

from __future__ import annotations

import re

from supportai_llm_backends.retrieval.lexical import tokenize

_PATTERNS = (
    re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),  # e-mail addresses
    re.compile(r"\bhttps?://\S+", re.IGNORECASE),  # links
    re.compile(  # UUIDs
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE
    ),
    # ids with a letter prefix: INV-2024-0042, T#12345, cus_K1x9aB3dE (before the numbers,
    # so the prefix goes with them)
    re.compile(r"\b[A-Za-z]{1,6}[-_#]\d[\d-]{2,}\b"),
    re.compile(r"\b[a-z]{2,6}_[A-Za-z0-9]{6,}\b"),
    # card, phone, account numbers, also where one ends a sentence
    re.compile(r"(?<![\w.])\+?\d(?:[ \-.()]*\d){7,}(?!\w|\.\d)"),
    re.compile(r"\b(?=\w*\d)(?=\w*[a-zA-Z])\w{8,}\b"),  # long tokens: hashes, keys
)
_SPACES = re.compile(r"\s+")
_SENTENCE_BREAK = re.compile(r"(?<=[.?!])\s+")

#: A message of at least this many words, of several sentences, is read for its
#: questions. Shorter, every sentence is usually the question's own context ("SSO
#: was turned off yesterday. Where can I see who did it?").
LONG_MESSAGE_WORDS = 30


def clean_query(text: str) -> str:
    """``text`` without e-mail addresses, card/phone/account numbers, links and ids."""
    for pattern in _PATTERNS:
        text = pattern.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def asked(text: str) -> str:
    """What a long message asks: its sentences that end with a question mark.

    ``text`` itself when it is shorter than :data:`LONG_MESSAGE_WORDS` words, one
    sentence, or has no question mark (a message that asks nothing explicitly gives
    no way to tell its ask from its story), and when its questions are only stop
    words ("How do I do that?": the story is all there is to search). BM25 and
    coverage count every word, so the greeting and the story of a long message
    moved its words towards articles about teams and clients; an embedding averages
    them away better, so the question's vector is still the whole message's
    (decision 0023).
    """
    if len(text.split()) < LONG_MESSAGE_WORDS:
        return text
    sentences = [sentence for sentence in _SENTENCE_BREAK.split(text) if sentence]
    questions = [sentence for sentence in sentences if sentence.rstrip().endswith("?")]
    if len(sentences) < 2 or not questions:
        return text
    joined = " ".join(questions)
    return joined if tokenize(joined) else text


# "is there …", "are there …", "do you have / offer / support …", "does Lumen have …",
# "have you got …", and "any … ?" as a sentence of its own ("Any help is appreciated."
# asks nothing); not "is there a way to …", whose object is an action in the reader's
# words, not the name of a feature, nor "is there anyone …", which asks for a person.
_FEATURE_ASK = re.compile(
    r"(?:\b(?:is|are) there|\bdo (?:you|u|y'?all)(?: guys)? (?:have|offer|support|provide|sell)"
    r"|\bdoes (?:\w+ ){0,2}?(?:have|offer|support|provide)|\bhave you got)"
    r"\s+(?!(?:an?y? |some )?ways?\b|(?:any|some)(?:one|body)\b)(?P<feature>[^?.!,;:()]+)"
    r"|(?:^|[.?!]\s+)any\s+(?P<any>[^?.!,;:()]+)\?",
    re.IGNORECASE,
)


# "does Lumen integrate with Salesforce?", "can I connect it to HubSpot?", "can lumen
# two-way sync with an Airtable base?", "does it work with Calendly?", "can I pay with
# PayPal?": the object is the other tool's name. Not "can't connect to …" (a fault: no
# space after "can"), not "can I not …", and not a person ("connect to a live agent" asks
# for support, decision 0027).
_TOOL_ASK = re.compile(
    r"\b(?:do|does|can|could|will|would)\s+(?:(?!not\b|never\b)[\w'-]+\s+){0,3}?"
    r"(?:(?:integrate|connect|sync|link|work|hook \w+ up|plug \w+ in|pay)\s+(?:[\w'-]+\s+)?"
    r"(?:with|to|into|by|using|via|through)"
    r"|(?:post|push|send|pipe|stream)\s+(?:[\w'-]+\s+){0,2}?(?:to|into))\s+"
    r"(?!(?:an?|the|some|any|your|one of your)?\s*(?:(?:real|live|actual)\s+)?(?:person|human"
    r"|agent|someone|somebody|anyone|anybody|support|staff|people|team)\b)"
    r"(?P<tool>[^?.!,;:()]+)",
    re.IGNORECASE,
)
# "a Salesforce integration", "an integration with Jira", "Power BI connector for Lumen":
# the words around the noun name the tool ("integration" itself is a word every
# integrations article holds). Both sides are kept: one of them is often the product's own
# name, which every article holds and so weighs nothing in the coverage.
_INTEGRATION = re.compile(
    r"(?P<start>^|[.?!]\s+)?(?P<before>(?:[\w'-]+\s+){0,3}?)"
    r"(?:integrations?|connectors?|plugins?|add-?ons?)\b"
    r"(?:\s+(?:with|for|to|into)\s+(?P<after>[^?.!,;:()]+))?",
    re.IGNORECASE,
)

_DETERMINER = re.compile(r"^(?:(?:an?|any|some|the|my|our|your)(?:\s+|$))+", re.IGNORECASE)


def asked_feature(text: str) -> str | None:
    """What a question asks the product to have, when it asks whether it has something:
    "a dark mode" in "is there a dark mode?", "burndown charts or sprint velocity
    reports for scrum teams" in "Does Lumen have burndown charts or …?".

    Such a question is answered by an article that names the feature (or the host's
    word for it). Without one, the closest article is about something else that the
    question's other words touch ("mode", "app", "tasks"), and quoting it is a wrong
    answer where an honest "not in the help center" was right (decision 0026).
    ``None`` when the question asks no such thing. Give it what a long message asks
    (:func:`asked`), as retrieval does, so that a greeting or thanks names no feature.
    """
    found = _FEATURE_ASK.search(text)
    if found is None:
        return None
    feature = (found.group("feature") or found.group("any")).strip()
    return feature if tokenize(feature) else None


def asked_tool(text: str) -> str | None:
    """The other product a question asks this one to work with: "Salesforce" in "does
    Lumen integrate with Salesforce?", "is there a Salesforce integration?" and
    "Salesforce connector?", "PayPal" in "can I pay with PayPal?".

    A tool has no other word for it: only an article that names it answers, and a
    heading or tag merely close to it ("calendar sync" for "Calendly") does not
    (decision 0027). ``None`` when the question asks no such thing.
    """
    return _tool_of(text, asked_feature(text))


def asked_thing(text: str) -> tuple[str, bool] | None:
    """What a question asks the product to have or to work with, and whether that is
    another product (:func:`asked_tool`) rather than a feature (:func:`asked_feature`);
    ``None`` when it asks neither. One reading of the question for the feature check."""
    feature = asked_feature(text)
    tool = _tool_of(text, feature)
    if tool is not None:
        return tool, True
    return (feature, False) if feature is not None else None


def _tool_of(text: str, feature: str | None) -> str | None:
    """:func:`asked_tool` of ``text``, whose feature (:func:`asked_feature`) is known."""
    found = _TOOL_ASK.search(text)
    if found is not None:
        tool = named_tool(found.group("tool")) or _without_determiner(found.group("tool"))
        return tool if tokenize(tool) else None  # "will it post to it?" names nothing
    return named_tool(feature) if feature is not None else named_tool(text, opening=True)


def named_tool(text: str, opening: bool = False) -> str | None:
    """The tool an integration in ``text`` names: "Salesforce" for "a Salesforce
    integration", "Jira" for "an integration with Jira", "Power BI Lumen" for "Power BI
    connector for Lumen" (the product's own name weighs nothing: every article holds it).
    With ``opening``, only such a noun that opens a sentence counts ("HubSpot
    integration?", not "how do I remove an integration?"). ``None`` without one."""
    for found in _INTEGRATION.finditer(text):
        if opening and found.group("start") is None:
            continue
        named = " ".join(
            part
            for part in (_without_determiner(found.group(group)) for group in ("before", "after"))
            if part
        )
        if tokenize(named):
            return named
    return None


def _without_determiner(text: str | None) -> str:
    return _DETERMINER.sub("", (text or "").strip()).strip()
