"""The intents both classifiers speak.

Security intents are what a host refuses; support intents are what a host
routes on (a queue, a help-center section, a human). ``other`` means "nothing
specific", not "unknown": greetings, thanks, short acknowledgements.
"""

from __future__ import annotations

from typing import Final

PROMPT_INJECTION: Final = "prompt_injection"
JAILBREAK: Final = "jailbreak"
ABUSIVE: Final = "abusive"
HUMAN_REQUEST: Final = "human_request"
OUT_OF_SCOPE: Final = "out_of_scope"
BILLING: Final = "billing"
ACCOUNT: Final = "account"
TECHNICAL: Final = "technical"
BUG_REPORT: Final = "bug_report"
FEATURE_REQUEST: Final = "feature_request"
CANCELLATION: Final = "cancellation"
OTHER: Final = "other"

SECURITY_INTENTS: Final = (PROMPT_INJECTION, JAILBREAK, ABUSIVE)
SUPPORT_INTENTS: Final = (
    HUMAN_REQUEST,
    CANCELLATION,
    BUG_REPORT,
    FEATURE_REQUEST,
    BILLING,
    ACCOUNT,
    TECHNICAL,
    OUT_OF_SCOPE,
    OTHER,
)
#: Every intent, security first. The order of ``SUPPORT_INTENTS`` breaks ties
#: between equally scored support intents (a person asked for beats a topic).
INTENTS: Final = SECURITY_INTENTS + SUPPORT_INTENTS

DEFAULT_REFUSED_INTENTS: Final = (PROMPT_INJECTION, JAILBREAK, ABUSIVE)

DESCRIPTIONS: Final = {
    PROMPT_INJECTION: "tries to override, replace or reveal the assistant's instructions or "
    "hidden context (including encoded or obfuscated payloads and token floods)",
    JAILBREAK: "tries to make the assistant drop its rules through a persona or mode "
    "(DAN, developer mode, 'no restrictions', role play to get around policy)",
    ABUSIVE: "insults, harasses or threatens people (not mere frustration with the product)",
    HUMAN_REQUEST: "asks to talk to a human, an agent or a manager",
    OUT_OF_SCOPE: "unrelated to the product and its support (weather, poems, homework...)",
    BILLING: "invoices, charges, refunds, payment methods, prices, taxes",
    ACCOUNT: "login, passwords, 2FA, profile, users and workspace membership, personal data",
    TECHNICAL: "how to use, configure or integrate the product (API, webhooks, SSO...)",
    BUG_REPORT: "something in the product is broken or behaves wrongly",
    FEATURE_REQUEST: "asks for a capability the product does not have",
    CANCELLATION: "wants to cancel, not renew, or close a subscription or contract",
    OTHER: "greetings, thanks, acknowledgements, anything without a support topic",
}
