"""The input guardrail: is this message an injection or jailbreak attempt, abuse, or outside the tenant's topics?

Rules, not the classifier model, decide here, on purpose: they run before the answer's first token in well under
a millisecond, are deterministic (a refusal can be explained and tested), and are measured on the labelled set
(``make eval-guardrails``). The classifier model (structured output) is the better judge of paraphrased attacks,
but it sits on the engine's queue: asking it before every answer would put its latency on every customer's first
token, and the served classifier here has random weights, so nothing about its quality could be measured. The
rules favour precision (an ordinary customer refused is a failure we see at once); what they miss, the output
guardrail still checks on the answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Category = Literal["injection", "jailbreak", "abuse", "off_topic"]


@dataclass(frozen=True)
class InputVerdict:
    category: Category
    reason: str  # the rule's name: safe to log and show to agents (never the customer's words)


Rules = tuple[re.Pattern[str], ...]


def _rules(*patterns: str) -> Rules:
    return tuple(re.compile(pattern, re.IGNORECASE | re.MULTILINE) for pattern in patterns)


_INJECTION = _rules(
    r"\b(?:ignore|disregard|forget|override|bypass|skip)\b.{0,30}\b(?:previous|prior|above|earlier|all|your|the|any|these|system)\b.{0,20}\b(?:instructions?|prompts?|rules|directives|guidelines|context|messages?)",
    r"\b(?:reveal|show|print|repeat|output|display|leak|tell me|give me|what (?:is|are|were))\b.{0,30}\b(?:system|initial|hidden|original|secret|developer)\s+(?:prompt|instructions?|message|rules)",
    r"\b(?:your|the)\s+(?:system prompt|instructions above|hidden instructions|initial instructions)",
    r"\brepeat (?:everything|the text|the words|all text)\b.{0,20}\b(?:above|before)",
    r"\bnew (?:instructions|rules|task)\s*:",
    r"<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?(?:INST|SYS)\]|<<SYS>>|^\s*#{2,}\s*(?:system|instruction)",
    r"\b(?:other|another) (?:customers?|users?|tenants?)(?:'s?)?\b.{0,30}\b(?:data|orders?|emails?|addresses|details|accounts?|conversations?)",
    r"\b(?:list|dump|export|show)\b.{0,20}\b(?:all|every)\b.{0,20}\b(?:customers|users|accounts|orders|emails)",
    r"\bfrom now on\b.{0,40}\b(?:you (?:will|must|are)|respond|answer|only)",
    r"\b(?:translate|summari[sz]e|encode)\b.{0,30}\b(?:your|the)\s+(?:instructions|prompt|rules)",
)
_JAILBREAK = _rules(
    r"\b(?:DAN|do anything now|developer mode|jailbreak|jail-?broken|god mode|sudo mode|unfiltered mode)\b",
    r"\b(?:pretend|imagine|act|roleplay|role-play)\b.{0,30}\b(?:you (?:are|have|were)|to be|as)\b.{0,40}\b(?:no|without|free of|unrestricted|evil|unfiltered|uncensored)\b",
    r"\byou are (?:now|no longer)\b.{0,40}\b(?:free|unrestricted|not bound|evil|uncensored|a different|an? (?:ai|assistant|model) (?:without|with no))",
    r"\bwithout (?:any )?(?:restrictions|filters|rules|limitations|guidelines|censorship)\b",
    r"\b(?:hypothetically|in a story|for a novel|as a joke)\b.{0,60}\b(?:how to|instructions for|steps to)\b.{0,40}\b(?:hack|steal|bomb|weapon|malware|phish|launder)",
    r"\bhow (?:do i|to|can i)\b.{0,30}\b(?:hack|break into|steal|make a bomb|make meth|phish|launder money|bypass (?:the )?payment)",
    r"\b(?:stay in character|opposite mode|evil (?:twin|mode|assistant)|anti-?gpt|no ethical)\b",
)
_ABUSE = _rules(
    r"\b(?:fuck(?:ing)? (?:you|off|idiot)|f\*+k you|go to hell|shut up,? (?:you|bot|stupid)|screw you)\b",
    r"\b(?:you(?:'re| are)?|stupid|useless|dumb|pathetic|worthless)\s+(?:an? )?(?:idiot|moron|imbecile|retard|bitch|bastard|piece of (?:shit|crap|garbage)|scum|loser)\b",
    r"\b(?:idiot|moron|imbecile|bitch|bastard|asshole|dickhead|scumbag)s?\b",
    r"\b(?:i(?:'ll| will)|gonna|going to)\s+(?:kill|hurt|find|beat|destroy)\s+(?:you|your|the (?:staff|agent|people))",
    r"\b(?:kill yourself|kys|die in a fire|hope you die)\b",
)
#: Words any support conversation may use whatever the tenant's topics (greetings, the service itself).
_SUPPORT_WORDS = frozenset(
    [
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "bye",
        "goodbye",
        "support",
        "agent",
        "human",
        "person",
        "someone",
        "account",
        "order",
        "orders",
        "refund",
        "refunds",
        "return",
        "returns",
        "delivery",
        "deliver",
        "shipping",
        "ship",
        "parcel",
        "package",
        "tracking",
        "payment",
        "pay",
        "paid",
        "charge",
        "charged",
        "invoice",
        "bill",
        "billing",
        "price",
        "cancel",
        "cancellation",
        "subscription",
        "plan",
        "login",
        "password",
        "sign",
        "email",
        "phone",
        "address",
        "problem",
        "issue",
        "error",
        "broken",
        "wrong",
        "missing",
        "late",
        "complaint",
        "app",
        "website",
        "service",
        "product",
        "products",
        "item",
        "items",
    ]
)
_WORD = re.compile(r"[a-z][a-z'-]+")
#: Words that say nothing about a topic (a profile's prose is full of them).
_STOPWORDS = frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "also",
        "answer",
        "because",
        "before",
        "being",
        "between",
        "both",
        "cannot",
        "could",
        "does",
        "doing",
        "during",
        "each",
        "from",
        "have",
        "having",
        "here",
        "into",
        "just",
        "know",
        "more",
        "most",
        "never",
        "only",
        "other",
        "over",
        "same",
        "should",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "under",
        "until",
        "very",
        "what",
        "when",
        "where",
        "which",
        "while",
        "with",
        "would",
        "your",
        "yours",
        "customer",
        "customers",
        "assistant",
        "friendly",
        "concise",
        "help",
        "helpful",
        "question",
        "questions",
        "please",
    ]
)
_MIN_TOPIC_WORD = 3
#: Messages this short are greetings and follow-ups ("ok", "yes please"): never off-topic.
_MIN_WORDS_FOR_TOPIC_CHECK = 4
#: Phrasings that ask the assistant for a task; off-topic needs one (a complaint is never off-topic).
_TASK_REQUEST = _rules(
    r"\b(?:write|compose|generate|create|draft|make)\b.{0,20}\b(?:poem|story|essay|song|code|script|program|joke|letter|lyrics|article|recipe)",
    r"\b(?:what(?:'s| is| are| was| were)|who(?:'s| is| was)|when (?:is|was|did)|where is|how (?:many|much|far|old|tall))\b",
    r"\b(?:explain|tell me about|solve|calculate|translate|recommend|suggest|summari[sz]e)\b",
    r"\b(?:can|could|would) you\b.{0,20}\b(?:help me with|do|write|give|tell|explain)",
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def topic_vocabulary(topics: Iterable[str], *extra_texts: str) -> frozenset[str]:
    """Stemmed words of the tenant's topics (and its profile / knowledge titles), plus the support words."""
    words = {
        _stem(w)
        for text in (*topics, *extra_texts)
        for w in _WORD.findall(text.lower())
        if len(w) > _MIN_TOPIC_WORD and w not in _STOPWORDS
    }
    return frozenset(words | {_stem(w) for w in _SUPPORT_WORDS})


def check_input(text: str, *, vocabulary: frozenset[str] | None) -> InputVerdict | None:
    """The first rule the message trips, or None. ``vocabulary`` None: the tenant set no topics."""
    categories: tuple[tuple[Category, Rules], ...] = (
        ("injection", _INJECTION),
        ("jailbreak", _JAILBREAK),
        ("abuse", _ABUSE),
    )
    for category, rules in categories:
        for number, rule in enumerate(rules, start=1):
            if rule.search(text) is not None:
                return InputVerdict(category, f"{category} rule {number}")
    if vocabulary is not None and _off_topic(text, vocabulary):
        return InputVerdict("off_topic", "no topic word in a task request")
    return None


def _off_topic(text: str, vocabulary: frozenset[str]) -> bool:
    words = _WORD.findall(text.lower())
    if len(words) < _MIN_WORDS_FOR_TOPIC_CHECK or not any(rule.search(text) for rule in _TASK_REQUEST):
        return False
    return not any(_stem(word) in vocabulary for word in words)
