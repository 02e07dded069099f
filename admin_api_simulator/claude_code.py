"""Synthetic Claude Code usage: the rows of one UTC day, shaped as the API's Claude Code report.

Each day has its own random stream, so days are independent. Users appear only after they joined;
some use Claude Code both locally and remotely, which the API reports as two rows (``is_remote``).
API actors are named by the key's name as it was that day (keys get renamed). The estimated cost is
the day's list price of the tokens (cache writes at the 5-minute rate), rounded to whole cents.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from .prices import PriceTable
from .entities import Cast
from .timeutil import day_start, rfc3339
from .traffic import models_on

_LOCAL_TERMINALS = ("vscode", "iTerm.app", "tmux", "Apple_Terminal", "cursor", "ghostty")
_TOOLS = (("edit_tool", 0.95), ("multi_edit_tool", 0.5), ("write_tool", 0.7), ("notebook_edit_tool", 0.15))
_TOKEN_PRICES = (
    ("input", "uncached_input_tokens"),
    ("output", "output_tokens"),
    ("cache_read", "cache_read_input_tokens"),
    ("cache_creation", "cache_creation.ephemeral_5m_input_tokens"),
)


def claude_code_rows(cast: Cast, prices: PriceTable, seed: int, day: date, restatement: Fraction) -> list[dict[str, Any]]:
    """Every row of the day, in a stable order (users, then API actors)."""
    rng = random.Random(f"{seed}:claude_code:{day.isoformat()}")
    roster = models_on(prices, day)
    models = [roster[key] for key in (("sonnet", 0), ("opus", 0), ("haiku", 0)) if key in roster]
    if not models:
        return []
    activity = 0.8 if day.weekday() < 5 else 0.3

    def scaled(value: int) -> int:
        return value * restatement.numerator // restatement.denominator

    def row(actor: dict[str, str], terminal: str, is_remote: bool) -> dict[str, Any]:
        sessions = rng.randint(1, 12)
        used_models = [models[0]] + [m for m in models[1:] if rng.random() < 0.4]
        return {
            "date": rfc3339(day_start(day)),
            "actor": actor,
            "organization_id": cast.organization_id,
            "customer_type": "api",
            "subscription_type": None,
            "terminal_type": terminal,
            "is_remote": is_remote,
            "core_metrics": {
                "num_sessions": scaled(sessions),
                "lines_of_code": {
                    "added": scaled(rng.randint(0, 400) * sessions),
                    "removed": scaled(rng.randint(0, 150) * sessions),
                },
                "commits_by_claude_code": scaled(rng.randint(0, 3) * sessions // 2),
                "pull_requests_by_claude_code": scaled(rng.randint(0, sessions // 3)),
            },
            "tool_actions": {
                tool: {"accepted": scaled(rng.randint(1, 20) * sessions), "rejected": scaled(rng.randint(0, 3) * sessions)}
                for tool, chance in _TOOLS
                if rng.random() < chance
            },
            "model_breakdown": [_model_usage(rng, prices, model, day, sessions, scaled) for model in used_models],
        }

    rows = []
    for user, email in cast.claude_code_users:
        if user.added_at.date() <= day and rng.random() < activity:
            actor = {"type": "user_actor", "email_address": email}
            rows.append(row(actor, rng.choice(_LOCAL_TERMINALS), False))
            if rng.random() < 0.35:
                rows.append(row(actor, "web", True))
    for key in cast.claude_code_keys:
        active = key.created_at.date() <= day and (key.used_until is None or day < key.used_until.date())
        if active and rng.random() < activity:
            rows.append(row({"type": "api_actor", "api_key_name": key.name_on(day)}, "non-interactive", False))
    return rows


def _model_usage(
    rng: random.Random, prices: PriceTable, model: str, day: date, sessions: int, scaled: Callable[[int], int]
) -> dict[str, Any]:
    tokens = {
        "input": scaled(rng.randint(2_000, 40_000) * sessions),
        "output": scaled(rng.randint(1_000, 15_000) * sessions),
        "cache_read": scaled(rng.randint(10_000, 400_000) * sessions),
        "cache_creation": scaled(rng.randint(1_000, 60_000) * sessions),
    }
    usd = sum(
        tokens[name] * prices.price_per_mtok(model, token_type, day) / 1_000_000 for name, token_type in _TOKEN_PRICES
    )
    cents = int((usd * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return {"model": model, "tokens": tokens, "estimated_cost": {"amount": cents, "currency": "USD"}}
