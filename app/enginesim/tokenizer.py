"""A deterministic tokenizer stand-in and the chat template, so token counts behave like a real model's.

The rule (documented in docs/enginesim.md) is one regular expression, used for counting, for the max_model_len
check, for prefix-cache blocks and for the generated text alike:

- the chat template's special tokens (``<|im_start|>``, ``<|im_end|>``) are one token each;
- otherwise a token is up to 4 non-space characters, with at most one leading space;
- any other whitespace character (newline, tab, a second space) is a token of its own.

English text comes out at about 4 characters per token, close to Qwen's and Llama's tokenizers. Because a token
never spans a newline or a special token, tokenizing ``prompt + answer`` gives ``tokens(prompt) +
tokens(answer)``: the next turn of a conversation re-tokenizes to exactly the blocks the previous turn cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"

_SPECIAL = re.compile(r"(<\|im_start\|>|<\|im_end\|>)")
_PIECE = re.compile(r"[ ]?\S{1,4}|\s")


def tokenize(text: str) -> list[str]:
    """Split ``text`` into token strings; ``"".join(tokenize(t)) == t`` always holds."""
    tokens: list[str] = []
    # re.split with a capturing group alternates plain text (even indexes) and special tokens (odd indexes).
    for index, part in enumerate(_SPECIAL.split(text)):
        if index % 2:
            tokens.append(part)
        elif part:
            tokens.extend(_PIECE.findall(part))
    return tokens


def count_tokens(text: str) -> int:
    return len(tokenize(text))


def render_chat(
    messages: Iterable[tuple[str, str]], *, add_generation_prompt: bool = True, continue_final_message: bool = False
) -> str:
    """The ChatML template Qwen2.5 uses: each turn framed by special tokens, then the assistant's header.

    With ``continue_final_message`` the last message is left open (no end token), as transformers renders it.
    """
    parts = [f"{IM_START}{role}\n{content}{IM_END}\n" for role, content in messages]
    if continue_final_message and parts:
        parts[-1] = parts[-1].removesuffix(f"{IM_END}\n")
    elif add_generation_prompt:
        parts.append(f"{IM_START}assistant\n")
    return "".join(parts)
