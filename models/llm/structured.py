"""Structured decoding of a turn record: the model chooses every value, the grammar holds the shape.

A small model that has learned the turn format still stumbles on its shape:
it loops inside a long string or never closes it (the shipped adapter's free
outputs start right, ``{"evaluation":"b","action":8,...``, then repeat the
``subproblem`` field to the token limit). Serving never asks a model for the
shape: the policy decides the labels and the model writes the utterance after
a forced prefix (``tutor/agents/llm/served.py``). The evaluation can decode
the same way constrained-generation servers do (vLLM's guided decoding,
llama.cpp's grammars), so that it measures what the model knows rather than
how well it types braces:

- each label is the code-book value the model finds most likely, scored on
  the text through the next field's key (so action ``1`` and ``10`` compete
  fairly: after ``1`` the model must also prefer ``,`` to ``0``);
- each string field is the model's greedy text up to its closing quote, cut
  at a token cap;
- the record is written with ``json.dumps``, so it always parses.

The model's own choice is never overridden: this is likelihood ranking over
the code book, as multiple-choice benchmarks score a model. ``eval_tutor``
decodes the base and the fine-tuned model the same way in one report, and
``--decoding free`` gives the unconstrained validity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from models.llm.turnformat import FIELDS
from tutor.agents.llm.served import string_end
from tutor.agents.record import ACTIONS, EVALUATIONS, STATES


@dataclass(frozen=True)
class StructuredConfig:
    """Token caps for the two free-text fields (a string that reaches its cap is closed there)."""

    subproblem_tokens: int = 40
    utterance_tokens: int = 64


CHOICES = {
    "evaluation": [json.dumps(v) for v in EVALUATIONS],
    "action": [json.dumps(v) for v in ACTIONS],
    "subproblem_state": [json.dumps(v) for v in STATES],
}


def key_text(field: str) -> str:
    """The literal that opens ``field`` in the compact record.

    >>> key_text("evaluation"), key_text("action")
    ('{"evaluation":', ',"action":')
    """
    return ("{" if field == FIELDS[0] else ",") + json.dumps(field) + ":"


def string_value(raw: str) -> str:
    """The text of a JSON string body, forgiving a cut escape or a raw control character.

    >>> string_value('a \\\\"b\\\\" c'), string_value('cut \\\\'), string_value('two\\nlines')
    ('a "b" c', 'cut ', 'two lines')
    """
    body = raw[:-1] if raw.endswith("\\") and not raw.endswith("\\\\") else raw
    try:
        value = json.loads('"' + body + '"', strict=False)
    except ValueError:
        value = body.replace('\\"', '"').replace("\\\\", "\\")
    return " ".join(value.split()) if any(c in value for c in "\n\r\t") else value


class _Cursor:
    """The prompt plus the record text so far, with the model's key/value cache kept in step.

    ``sync(text)`` re-tokenizes the whole record text and feeds only the
    tokens that differ from what the cache holds (cutting the cache back to
    the common prefix first), so token boundaries are always the tokenizer's
    own, as in training. Log-probabilities are kept from the prompt's last
    position on (row ``i - lo`` predicts token ``i + 1``).
    """

    def __init__(self, model: Any, tokenizer: Any, prompt_ids: list[int]) -> None:
        from transformers import DynamicCache

        self.model, self.tokenizer, self.prompt = model, tokenizer, list(prompt_ids)
        self.cache = DynamicCache()
        self.fed: list[int] = []
        self.lo = len(self.prompt) - 1
        self.logp: Any = None

    def ids(self, text: str) -> list[int]:
        return self.prompt + self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def sync(self, text: str) -> list[int]:
        """Make the cache hold prompt + ``text``; return those token ids."""
        import torch

        ids = self.ids(text)
        same = min(common_prefix(ids, self.fed), len(ids) - 1)  # refeed at least one token: its logits
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[:, :, :same], layer.values[:, :, :same]
        out = self.model(
            input_ids=torch.tensor([ids[same:]], device=self.model.device),
            position_ids=torch.arange(same, len(ids), device=self.model.device).unsqueeze(0),
            cache=self.cache,
            use_cache=True,
            logits_to_keep=len(ids) - max(same, self.lo),
        )
        logp = torch.log_softmax(out.logits[0].float(), dim=-1)
        kept = self.logp[: max(same - self.lo, 0)] if self.logp is not None else logp[:0]
        self.logp = torch.cat([kept, logp])
        self.fed = ids
        return ids

    def score(self, start: int) -> float:
        """The log-probability of the fed tokens from position ``start`` on."""
        return float(sum(self.logp[i - 1 - self.lo, self.fed[i]] for i in range(start, len(self.fed))))

    def next_token(self) -> int:
        return int(self.logp[-1].argmax())


def common_prefix(a: list[int], b: list[int]) -> int:
    """How many leading items ``a`` and ``b`` share.

    >>> common_prefix([1, 2, 3], [1, 2, 4, 5])
    2
    """
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def choose(cursor: _Cursor, text: str, choices: list[str], after: str) -> str:
    """The choice the model finds most likely after ``text``, each scored through ``after``.

    Every choice is scored from the same token position: the first where any
    choice's tokens part from ``text``'s (a choice may merge with the quote
    before it), so the scores are log-probabilities of comparable strings.
    """
    base = cursor.ids(text)
    start = max(len(cursor.prompt), min(common_prefix(base, cursor.ids(text + c + after)) for c in choices))
    scores = {}
    for c in choices:
        cursor.sync(text + c + after)
        scores[c] = cursor.score(start)
    return max(choices, key=lambda c: scores[c])


def generate_string(cursor: _Cursor, text: str, max_tokens: int) -> str:
    """The model's greedy string body after ``text`` (which ends with the opening quote)."""
    cursor.sync(text)
    generated: list[int] = []
    eos = cursor.tokenizer.eos_token_id
    raw = ""
    for _ in range(max_tokens):
        token = cursor.next_token()
        if token == eos:
            break
        generated.append(token)
        raw = cursor.tokenizer.decode(generated, skip_special_tokens=True)
        end = string_end(raw)
        if end is not None:
            return raw[:end]
        cursor.sync(text + raw)
    return raw


def decode_record(model: Any, tokenizer: Any, prompt_ids: list[int], config: StructuredConfig) -> str:
    """One turn record as compact JSON, every value chosen by the model, always valid."""
    import torch

    cursor = _Cursor(model, tokenizer, prompt_ids)
    record: dict[str, Any] = {}
    text = ""
    caps = {"subproblem": config.subproblem_tokens, "utterance": config.utterance_tokens}
    with torch.inference_mode():
        for i, field in enumerate(FIELDS):
            text += key_text(field)
            if field in CHOICES:
                after = key_text(FIELDS[i + 1]) if i + 1 < len(FIELDS) else "}"
                choice = choose(cursor, text, CHOICES[field], after)
                record[field] = json.loads(choice)
                text += choice
            else:
                raw = generate_string(cursor, text + '"', caps[field])
                value = string_value(raw).strip() or ("…" if field == "utterance" else "")
                record[field] = value
                text += json.dumps(value, ensure_ascii=False)
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
