"""What the simulated customers say: support messages of realistic length, different per seed.

Each message is one to three sentences (about 10 to 60 words, 60 to 350 characters), drawn from a support
vocabulary: the first message of a conversation states a problem, the next ones add details or react. The
direct and the full-path phases use different seeds, so the full path never finds the direct phase's prompts
in the engine's prefix cache (identical prompts would make the full path look faster than the engine).
"""

from __future__ import annotations

import random

TOPICS = (
    ("my order", "order number {n}", "the parcel"),
    ("my last invoice", "invoice {n}", "the charge"),
    ("my account", "the account under this email", "the login"),
    ("the subscription", "plan {n}", "the renewal"),
    ("the mobile app", "version {n}.2 of the app", "the sync"),
    ("a refund", "return request {n}", "the refund"),
)
OPENERS = (
    "Hi there.",
    "Hello, I hope you can help me.",
    "Good morning.",
    "Hi, quick question.",
    "Hello again.",
)
PROBLEMS = (
    "I have a problem with {topic}: {detail} still shows as pending after five days.",
    "Something is wrong with {topic}, because {detail} does not match what I was told on the phone.",
    "I would like to know why {detail} was changed without any notice to me.",
    "Can you explain what happened to {topic}? {detail} seems to be stuck.",
    "I was charged twice for {topic} and I need {detail} to be corrected as soon as possible.",
)
FOLLOW_UPS = (
    "I already tried restarting everything and waiting a day, but {detail} is still the same.",
    "Thanks. What exactly do I need to send you so that you can look into {detail}?",
    "That does not really answer my question about {topic}; could you check again?",
    "Okay, and how long will it take until {detail} is fixed on your side?",
    "I am travelling next week, so I need {topic} sorted out before Friday if at all possible.",
    "Could you also confirm the address and the email you have on file for {topic}?",
)
CLOSERS = ("Thank you.", "Thanks in advance.", "I appreciate your help.", "", "")


def customer_message(rng: random.Random, turn: int) -> str:
    """The customer's message for ``turn`` (0 = the opening message) of one conversation."""
    topic, detail, short = rng.choice(TOPICS)
    detail = detail.format(n=rng.randint(1000, 99999))
    if turn == 0:
        sentences = [rng.choice(OPENERS), rng.choice(PROBLEMS).format(topic=topic, detail=detail)]
    else:
        sentences = [rng.choice(FOLLOW_UPS).format(topic=topic, detail=short)]
    closer = rng.choice(CLOSERS)
    return " ".join([*sentences, closer] if closer else sentences)
