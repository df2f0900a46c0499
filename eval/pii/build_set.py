"""Writes ``messages.jsonl``: the labelled PII set (see DATASHEET.md). Deterministic (seeded): rerun after editing
templates and commit both. Each line: ``{"id", "text", "spans": [{"start", "end", "kind"}]}``.

Run: ``.venv/bin/python -m eval.pii.build_set``.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

OUT = Path(__file__).with_name("messages.jsonl")
RNG = random.Random(20261207)  # noqa: S311 -- synthetic test data, reproducible on purpose

FIRST = ["Dana", "Omar", "Priya", "Lukas", "Chloe", "Mateo", "Aisha", "Grace", "Tomasz", "Ines", "Kwame", "Hannah"]
LAST = ["Whitfield", "Haddad", "Raman", "Becker", "Martin", "Silva", "Okafor", "Lindqvist", "Nowak", "Moreau"]
DOMAINS = ["example.com", "mail.example.org", "example.co.uk", "corp.example.net"]
STREETS = ["Baker Street", "Elm Road", "Maple Avenue", "Station Lane", "Church Close", "Harbour Drive", "Oak Way"]
TOWNS = ["London", "Leeds", "Springfield", "Bristol", "Portland"]
POSTCODES = ["NW1 6XE", "LS1 4AP", "BS8 1TH", "M1 1AE", "EH1 2NG", "CF10 1EP"]


def luhn_complete(prefix: str, length: int) -> str:
    digits = prefix + "".join(RNG.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        candidate = digits + check
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            v = int(ch)
            if i % 2:
                v = v * 2 - 9 if v > 4 else v * 2
            total += v
        if total % 10 == 0:
            return candidate
    raise AssertionError


def card() -> str:
    number = luhn_complete(RNG.choice(["4", "51", "55", "37"]), 15 if False else 16)
    style = RNG.choice(["spaces", "plain", "dashes"])
    groups = [number[i : i + 4] for i in range(0, 16, 4)]
    return {"spaces": " ".join(groups), "plain": number, "dashes": "-".join(groups)}[style]


def iban() -> str:
    country, bank, length = RNG.choice([("GB", "WEST", 14), ("DE", "", 18), ("FR", "", 23), ("NL", "ABNA", 10)])
    body = bank + "".join(RNG.choice(string.digits) for _ in range(length))
    rearranged = body + country + "00"
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    check = 98 - int(numeric) % 97
    raw = f"{country}{check:02d}{body}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4)) if RNG.random() < 0.6 else raw


def ssn() -> str:
    return f"{RNG.randint(101, 665)}-{RNG.randint(10, 99)}-{RNG.randint(1000, 9999)}"


def nino() -> str:
    first, second = RNG.choice([("A", "B"), ("C", "E"), ("J", "G"), ("P", "R"), ("S", "T"), ("W", "L"), ("Y", "H")])
    digits = [f"{RNG.randint(10, 99)}" for _ in range(3)]
    return (
        f"{first}{second} {' '.join(digits)} {RNG.choice('ABCD')}"
        if RNG.random() < 0.5
        else f"{first}{second}{''.join(digits)}{RNG.choice('ABCD')}"
    )


def area() -> int:
    """A North American area code in service (a random one is often unassigned, and rightly not a number)."""
    return RNG.choice([212, 202, 303, 312, 415, 617, 646, 713, 206, 305])


def phone() -> str:
    return RNG.choice(
        [
            f"+44 20 {RNG.randint(7000, 7999)} {RNG.randint(1000, 9999)}",
            f"07{RNG.randint(700, 999)} {RNG.randint(100000, 999999)}",
            f"({area()}) {RNG.randint(200, 999)}-{RNG.randint(1000, 9999)}",
            f"+1 {area()} {RNG.randint(200, 999)} {RNG.randint(1000, 9999)}",
            f"{area()}-{RNG.randint(200, 999)}-{RNG.randint(1000, 9999)}",
            f"+49 30 {RNG.randint(1000000, 9999999)}",
        ]
    )


def email() -> str:
    first, last = RNG.choice(FIRST).lower(), RNG.choice(LAST).lower()
    local = RNG.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{RNG.randint(1, 99)}", f"{first}+orders"])
    return f"{local}@{RNG.choice(DOMAINS)}"


def ip() -> str:
    return (
        f"{RNG.choice([81, 86, 92, 145, 185, 203])}.{RNG.randint(1, 254)}.{RNG.randint(1, 254)}.{RNG.randint(1, 254)}"
    )


def address() -> str:
    line = f"{RNG.randint(1, 250)} {RNG.choice(STREETS)}"
    return RNG.choice([line, f"{line}, {RNG.choice(TOWNS)}", f"{line}, {RNG.choice(TOWNS)} {RNG.choice(POSTCODES)}"])


def person() -> str:
    return f"{RNG.choice(FIRST)} {RNG.choice(LAST)}" if RNG.random() < 0.7 else RNG.choice(FIRST)


FILLERS = {
    "EMAIL": email,
    "PHONE": phone,
    "CARD": card,
    "IBAN": iban,
    "SSN": ssn,
    "NINO": nino,
    "IP_ADDRESS": ip,
    "ADDRESS": address,
    "PERSON": person,
}

#: Templates with {KIND} slots. Written for this project from the kinds of messages support desks receive.
TEMPLATES = [
    "Hi, my email is {EMAIL} and I never got the confirmation.",
    "Please update the contact address on my account to {EMAIL}.",
    "You can reach me on {PHONE} after 5pm.",
    "My number changed, it's now {PHONE}.",
    "I was charged twice on my card {CARD}, please refund one.",
    "The payment with card number {CARD} failed but money left my account.",
    "Refund it to my bank account, IBAN {IBAN}.",
    "My IBAN is {IBAN}, can you set up the direct debit?",
    "For the identity check: my SSN is {SSN}.",
    "My national insurance number is {NINO} if you need it.",
    "I can't log in from {IP_ADDRESS}, it says my IP is blocked.",
    "Your firewall blocked my address {IP_ADDRESS} again.",
    "Please ship the replacement to {ADDRESS}.",
    "I moved, my new address is {ADDRESS}.",
    "My name is {PERSON} and my order never arrived.",
    "Hello, this is {PERSON}, I called yesterday about a refund.",
    "Thanks, {PERSON}",
    "The parcel should go to {ADDRESS}, and call {PHONE} when you're outside.",
    "Account holder {PERSON}, email {EMAIL}, phone {PHONE}.",
    "I'm {PERSON}. Card {CARD} was charged but the order shows as cancelled. Mail me at {EMAIL}.",
    "Please send the invoice to {EMAIL} and the goods to {ADDRESS}.",
    "Use IBAN {IBAN} for the refund, and text {PHONE} when it's done.",
    "my email is {EMAIL} pls help asap",
    "call me on {PHONE} or email {EMAIL}",
    "I spoke to {PERSON} last week and she promised a refund.",
    "Can you verify me? NI number {NINO}, postcode is in my profile.",
    "Login attempts from {IP_ADDRESS} were not me! Please lock the account.",
    "Order for {PERSON} at {ADDRESS} is late.",
    # hard cases: no introducing phrase, lower case, or PII inside other text
    "{PERSON} here, still waiting for my parcel.",
    "please cc {EMAIL}; my colleague handles billing",
    "card ending in 4421 was declined, full number {CARD}",
]

#: Messages without PII (and a few with PII-looking strings that are not PII), to measure false positives.
CLEAN = [
    "Where is my order? It was supposed to arrive on Monday.",
    "How do I reset my password?",
    "I want to cancel my subscription at the end of the month.",
    "The app crashes every time I open the settings page.",
    "Can I change the size of the shoes I ordered?",
    "What are your opening hours over the holidays?",
    "My order number is 48213 and it still says processing.",
    "I was charged 49.99 instead of 39.99, can you check?",
    "Do you ship to Canada?",
    "The tracking link says the parcel is in the depot since 3 days.",
    "I'd like a refund for the broken kettle.",
    "Is the blue model back in stock?",
    "Version 2.4.1 of the app still has the login bug.",
    "I need an invoice for my company, we pay by bank transfer.",
    "Thanks for the quick help earlier!",
    "The discount code SUMMER25 doesn't work.",
    "I have been waiting 45 minutes on the phone line.",
    "Can you tell me the return policy for sale items?",
    "Your website shows error 500 when I check out.",
    "I'm really frustrated, this is the third time I'm asking.",
    "What does the premium plan include?",
    "I received the wrong colour, I ordered grey.",
    "My account is locked after too many attempts.",
    "How long does a refund usually take?",
    "Please close my account and delete my data.",
    "The package was left at the door and it's gone.",
    "Can I pay with PayPal?",
    "The total was 1,250.00 for 3 items, that seems wrong.",
    "Ticket 2024-11-305 is still open, any news?",
    "Hello, I'm interested in the annual plan.",
]


def build() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for round_ in range(6):
        for template in TEMPLATES:
            text, spans, rest = "", [], template
            while "{" in rest:
                before, _, after = rest.partition("{")
                kind, _, rest = after.partition("}")
                text += before
                value = FILLERS[kind]()
                if round_ % 3 == 2 and kind == "EMAIL":
                    value = value.upper() if RNG.random() < 0.2 else value
                label = "NATIONAL_ID" if kind in ("SSN", "NINO") else kind
                spans.append({"start": len(text), "end": len(text) + len(value), "kind": label})
                text += value
            text += rest
            rows.append({"text": text, "spans": spans})
    for text in CLEAN:
        rows.append({"text": text, "spans": []})
    RNG.shuffle(rows)
    return [{"id": f"pii-{i:03d}", **row} for i, row in enumerate(rows)]


def main() -> None:
    rows = build()
    OUT.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    print(f"wrote {len(rows)} messages to {OUT}")


if __name__ == "__main__":
    main()
