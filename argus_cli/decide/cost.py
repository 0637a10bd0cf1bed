"""What LLM calls cost, estimated from their token counts (``argus eval``, ``argus replay``).

List prices in US dollars per million tokens, as Anthropic published them; a model missing from
the table has no estimate (None), never a guessed one. Prefixes match dated ids
(``claude-haiku-4-5-20251001``). Cache writes and reads are left out: Argus sends no cache
control, so every input token is billed as input.
"""

from __future__ import annotations

from collections.abc import Mapping

# (model id prefix, input $/MTok, output $/MTok); the longest matching prefix wins
PRICES: tuple[tuple[str, float, float], ...] = (
    ("claude-haiku-4-5", 1.00, 5.00),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-3-haiku", 0.25, 1.25),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-opus-4-5", 5.00, 25.00),
    ("claude-opus-4", 15.00, 75.00),
)


def price(model: str) -> tuple[float, float] | None:
    """(input, output) dollars per million tokens for ``model``, or None when it is not listed."""
    found = [(prefix, i, o) for prefix, i, o in PRICES if model.startswith(prefix)]
    if not found:
        return None
    _, per_input, per_output = max(found, key=lambda entry: len(entry[0]))
    return per_input, per_output


def dollars(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """The list price of a call (or of several, summed), or None for a model without a price."""
    rates = price(model)
    if rates is None:
        return None
    return (input_tokens * rates[0] + output_tokens * rates[1]) / 1_000_000


def tokens(usage: Mapping[str, object] | None) -> tuple[int, int]:
    """(input, output) tokens of a reply's ``usage``; 0 for what it does not say."""
    usage = usage or {}
    counted = [usage.get("input_tokens"), usage.get("output_tokens")]
    return (counted[0] if type(counted[0]) is int else 0), (counted[1] if type(counted[1]) is int else 0)
