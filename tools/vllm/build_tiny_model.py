"""Build a tiny chat model from nothing, for tests against a real vLLM: no download, a few seconds on a CPU.

Run it with the vLLM tool environment's Python (it needs torch, transformers and tokenizers, which that env has):

    $HELPLINE_VLLM_ENV/bin/python tools/vllm/build_tiny_model.py build/tiny-chat

The chat model is the Qwen2 architecture with random weights (seeded: the same folder every time), a byte-level
BPE tokenizer trained on a few lines of support text, and a ChatML chat template. Its answers are noise; what the
tests need is the protocol. The CPU attention kernels refuse a head size of 16, so heads are 32 wide.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

#: What the tokenizer learns its merges from: a support desk's words, so prompts tokenize to plausible lengths.
SUPPORT_TEXT = [
    "Hello, where is my order? It should have arrived yesterday.",
    "I was charged twice for my subscription, can you refund the second payment?",
    "My invoice looks wrong, can you check the charges on my account?",
    "How do I reset my password? The link in the email has expired.",
    "I want to talk to a human agent right now.",
    "Thank you for your help, the parcel arrived this morning.",
    "Please cancel my plan at the end of the billing period.",
    "Our opening hours are 9 to 5, Monday to Friday. Is there anything else I can help you with?",
    "I'm sorry about the delay. I've added a note to your account so the team has the full context.",
    '{"intent": "question", "emotion": "neutral"} {"intent": "complaint", "emotion": "angry"}',
]
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
#: ChatML, as Qwen2 uses; ``continue_final_message`` needs the last assistant turn left open, which vLLM does by
#: cutting the rendered text at the final message's end.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
VOCAB_SIZE = 512
HIDDEN = 64
HEADS = 2  # head size 32: the CPU attention kernels refuse 16
MAX_POSITIONS = 2048
SEED = 1234


def train_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (every string encodes, as with GPT-2/Qwen) trained on SUPPORT_TEXT."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(SUPPORT_TEXT * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",  # noqa: S106  # a token, not a password
        pad_token="<|endoftext|>",  # noqa: S106
        chat_template=CHAT_TEMPLATE,
        model_max_length=MAX_POSITIONS,
    )


def build_chat(out: Path) -> None:
    tokenizer = train_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=HEADS,
        num_key_value_heads=HEADS,
        max_position_embeddings=MAX_POSITIONS,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        torch_dtype="float32",
    )
    torch.manual_seed(SEED)
    Qwen2ForCausalLM(config).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    _write_generation_config(out, config.eos_token_id)


def _write_generation_config(out: Path, eos_token_id: int) -> None:
    """Sampling defaults vLLM reads (``--generation-config auto``): none beyond the end token."""
    (out / "generation_config.json").write_text(json.dumps({"eos_token_id": eos_token_id}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the model into (created; files overwritten)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    build_chat(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
