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
    # German
    r"\b(?:ignorier\w*|vergiss|vergessen|missacht\w*|übergeh\w*|überspring\w*)\b.{0,40}\b(?:anweisung\w*|regeln|vorgaben|richtlinien|instruktion\w*|prompt\w*)",
    r"\b(?:zeig\w*|verrat\w*|nenn\w*|gib|wiederhol\w*|druck\w*)\b.{0,40}\b(?:system-?prompt\w*|(?:ursprünglich|geheim|versteckt|intern)\w*\s+(?:anweisung|regel|vorgabe|instruktion)\w*)",
    r"\b(?:deine|ihre)\s+(?:ursprünglichen|geheimen|versteckten|internen)\s+(?:anweisungen|regeln|vorgaben)",
    r"\bneue\s+(?:anweisungen|regeln|aufgabe)\s*:",
    r"\b(?:bestellung\w*|daten|adresse\w*|e-?mails?|konten|konto)\b.{0,30}\b(?:anderer|fremder)\s+(?:kunden|nutzer|benutzer)",
    r"\b(?:liste|zeig\w*|exportier\w*|gib)\b.{0,20}\b(?:alle|sämtliche)\b.{0,20}\b(?:kunden|nutzer|benutzer|bestellungen|konten|e-?mails)",
    r"\bab (?:jetzt|sofort)\b.{0,40}\b(?:bist du|du bist|antwortest du|nur noch)",
)
_JAILBREAK = _rules(
    r"\b(?:DAN|do anything now|developer mode|jailbreak|jail-?broken|god mode|sudo mode|unfiltered mode)\b",
    r"\b(?:pretend|imagine|act|roleplay|role-play)\b.{0,30}\b(?:you (?:are|have|were)|to be|as)\b.{0,40}\b(?:no|without|free of|unrestricted|evil|unfiltered|uncensored)\b",
    r"\byou are (?:now|no longer)\b.{0,40}\b(?:free|unrestricted|not bound|evil|uncensored|a different|an? (?:ai|assistant|model) (?:without|with no))",
    r"\bwithout (?:any )?(?:restrictions|filters|rules|limitations|guidelines|censorship)\b",
    r"\b(?:hypothetically|in a story|for a novel|as a joke)\b.{0,60}\b(?:how to|instructions for|steps to)\b.{0,40}\b(?:hack|steal|bomb|weapon|malware|phish|launder)",
    r"\bhow (?:do i|to|can i)\b.{0,30}\b(?:hack|break into|steal|make a bomb|make meth|phish|launder money|bypass (?:the )?payment)",
    r"\b(?:stay in character|opposite mode|evil (?:twin|mode|assistant)|anti-?gpt|no ethical)\b",
    # German
    r"\b(?:entwicklermodus|gott-?modus)\b",
    r"\b(?:tu so|stell dir vor|spiel\w*|gib dich)\b.{0,40}\b(?:ohne|keine|böse\w*|ungefiltert\w*|unzensiert\w*)",
    r"\bohne\s+(?:jegliche\s+|alle\s+|irgendwelche\s+)?(?:einschränkungen|filter|regeln|zensur|grenzen)\b",
    r"\bnicht (?:mehr|länger)\s+an\b.{0,40}\bgebunden",
    r"\bwie (?:kann ich|hacke ich|knacke ich|man)\b.{0,50}\b(?:hack\w*|knack\w*|stiehlt|stehlen|klauen|umgehen|betrügen)",
    r"\b(?:in einer geschichte|hypothetisch|für einen roman)\b.{0,60}\b(?:wie man|anleitung)",
)
_ABUSE = _rules(
    r"\b(?:fuck(?:ing)? (?:you|off|idiot)|f\*+k you|go to hell|shut up,? (?:you|bot|stupid)|screw you)\b",
    r"\b(?:you(?:'re| are)?|stupid|useless|dumb|pathetic|worthless)\s+(?:an? )?(?:idiot|moron|imbecile|retard|bitch|bastard|piece of (?:shit|crap|garbage)|scum|loser)\b",
    r"\b(?:idiot|moron|imbecile|bitch|bastard|asshole|dickhead|scumbag)s?\b",
    r"\b(?:i(?:'ll| will)|gonna|going to)\s+(?:kill|hurt|find|beat|destroy)\s+(?:you|your|the (?:staff|agent|people))",
    r"\b(?:kill yourself|kys|die in a fire|hope you die)\b",
    # German
    r"\b(?:vollidiot\w*|arschl[öo]ch\w*|wichser|hurensohn|missgeburt)\b",
    r"\b(?:halt die (?:klappe|fresse)|leck mich|fick dich|verpiss dich|fahr zur hölle)\b",
    r"\b(?:dumme[rsn]?|blöde[rsn]?|nutzlose[rsn]?)\s+(?:bot|maschine|idiot|kuh|sau)\b",
    r"\bich werde\b.{0,40}\b(?:finden|umbringen|töten|wehtun|verprügeln)\b",
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
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['-])+")  # letters of any alphabet (German umlauts too)
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
    # German
    r"\b(?:schreib\w*|verfass\w*|erstell\w*|dichte)\b.{0,30}\b(?:gedicht|geschichte|aufsatz|lied|code|programm|skript|witz|brief|rezept)",
    r"\b(?:was (?:ist|sind|war)|wer (?:ist|war|hat)|wann (?:ist|war|wurde)|wo (?:ist|liegt)|wie (?:viel|weit|alt|hoch))\b",
    r"\b(?:erkläre?|erzähl\w*|löse|berechne|übersetze?|empfiehl|fasse)\b",
    r"\bkannst du\b.{0,30}\b(?:helfen|schreiben|erklären)",
)
#: German support words, matched as word beginnings (German compounds and inflects: "Rücksendungen",
#: "Lieferadresse"); the tenant's topics are matched as written.
_SUPPORT_STEMS_DE = (
    "bestell",
    "liefer",
    "paket",
    "sendung",
    "rücksend",
    "retour",
    "erstatt",
    "rückerstatt",
    "konto",
    "passwort",
    "anmeld",
    "rechnung",
    "abonn",
    "abo ",  # the word alone ("mein Abo"): words are matched with a trailing space
    "kündig",
    "zahlung",
    "abbuch",
    "preis",
    "tarif",
    "gutschein",
    "rabatt",
    "artikel",
    "produkt",
    "umtausch",
    "versand",
    "kunde",
    "mitarbeiter",
    "mensch",
    "beschwer",
    "fehler",
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
    if any(f"{word} ".startswith(_SUPPORT_STEMS_DE) for word in words):
        return False
    return not any(_stem(word) in vocabulary for word in words)
