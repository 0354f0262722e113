"""Prices per token, and the cost of one API response.

gitroi ships a LiteLLM-format price table (``gitroi/data/prices.json``: the
entries of LiteLLM's ``model_prices_and_context_window.json`` for the models
coding agents use, USD per token, cache and long-context tiers included).  A
user's own table in the same format merges over it, model by model and field
by field, from (lowest to highest precedence):

1. ``$XDG_CONFIG_HOME/gitroi/prices.json`` (default ``~/.config/gitroi/prices.json``),
2. ``$GITROI_PRICES`` (a file path),
3. ``--prices FILE`` on the command line.

Matching a model name (formats.md 11.2): exact key, then the name without a
date suffix (``-20250929``, ``-2025-08-07``), then without a provider prefix
(``anthropic/``, ``openai/``), then the longest key that is a prefix of the
name at a word boundary (``gpt-5.3-codex-spark`` -> ``gpt-5.3-codex``).

A model that matches nothing has no cost: :meth:`PriceTable.cost` returns
None and logs one warning per model and run, naming it.  Never a silent zero.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitroi.errors import GitroiError
from gitroi.sessions import UsageEvent

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2 ms
if TYPE_CHECKING:
    from typing import Any

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "prices.json"
_DATE_SUFFIX = re.compile(r"(-\d{8}|-\d{4}-\d{2}-\d{2}|@\d{8})$")
_TIER = re.compile(r"_above_(\d+)k_tokens$")
_BOUNDARY = "-.:@_/"

# formats.md 11.2: missing cache prices default from the input price.
CACHE_WRITE_5M_FACTOR = 1.25
CACHE_WRITE_1H_FACTOR = 2.0
CACHE_READ_FACTOR = 0.1


def user_price_paths(env: Mapping[str, str], home: Path) -> list[Path]:
    """The user tables that exist, lowest precedence first (``--prices`` comes after)."""
    xdg = env.get("XDG_CONFIG_HOME")
    cfg = (Path(xdg) if xdg else home / ".config") / "gitroi" / "prices.json"
    out = [cfg] if cfg.is_file() else []
    envp = env.get("GITROI_PRICES")
    if envp:
        out.append(Path(envp))
    return out


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GitroiError(f"cannot read the price table {path}: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise GitroiError(f"the price table {path} is not valid JSON: {exc}",
                          hint="it must be a LiteLLM-format object {model: {input_cost_per_token: ...}}") from exc
    if not isinstance(data, dict):
        raise GitroiError(f"the price table {path} is not a JSON object of models",
                          hint="it must be a LiteLLM-format object {model: {input_cost_per_token: ...}}")
    return data


@dataclass
class PriceTable:
    """Model name -> LiteLLM price entry, with name matching and cost formulas."""

    entries: dict[str, dict[str, Any]]
    sources: list[str] = field(default_factory=list)
    _resolved: dict[str, str | None] = field(default_factory=dict, repr=False)
    _warned: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def load(cls, *extra: Path | None, env: Mapping[str, str] | None = None,
             home: Path | None = None) -> PriceTable:
        """The shipped table, merged with the user's tables and then ``extra`` files."""
        env = os.environ if env is None else env
        home = Path(env.get("HOME") or Path.home()) if home is None else home
        table = cls(entries={}, sources=[])
        table.merge(_load_json(SHIPPED), str(SHIPPED))
        for p in [*user_price_paths(env, home), *[e for e in extra if e is not None]]:
            table.merge(_load_json(p), str(p))
        return table

    def merge(self, data: Mapping[str, Any], source: str) -> None:
        """Merge a LiteLLM-format mapping over this table, field by field."""
        for name, entry in data.items():
            if name == "sample_spec" or not isinstance(entry, dict):
                continue
            key = name.lower()
            merged = dict(self.entries.get(key, {}))
            merged.update(entry)
            self.entries[key] = merged
        self.sources.append(source)
        self._resolved.clear()

    def resolve(self, model: str) -> str | None:
        """The table key that prices ``model``, or None."""
        if model in self._resolved:
            return self._resolved[model]
        found = self._match(model.lower().strip())
        self._resolved[model] = found
        return found

    def _match(self, name: str) -> str | None:
        if not name:
            return None
        candidates = [name]
        undated = _DATE_SUFFIX.sub("", name)
        candidates.append(undated)
        for c in (name, undated):
            if "/" in c:
                candidates.append(c.rsplit("/", 1)[1])
        for c in candidates:
            if c in self.entries:
                return c
        best: str | None = None
        for c in candidates:
            for key in self.entries:
                if "/" in key or len(key) >= len(c) or not c.startswith(key):
                    continue
                if c[len(key)] in _BOUNDARY and (best is None or len(key) > len(best)):
                    best = key
        return best

    def entry(self, model: str) -> dict[str, Any] | None:
        key = self.resolve(model)
        return None if key is None else self.entries[key]

    def warn_unknown(self, model: str) -> None:
        if model not in self._warned:
            self._warned.add(model)
            import logging  # only here: importing it costs the post-commit hook ~5 ms

            logging.getLogger("gitroi").warning(
                "gitroi: warning: no price for model %r; its cost is left empty "
                "(add it to a price table: --prices FILE or ~/.config/gitroi/prices.json)", model)

    def cost(self, ev: UsageEvent) -> float | None:
        """USD for one response (formats.md 11.3), or None when the model is unknown."""
        p = self.entry(ev.model)
        if p is None or not isinstance(p.get("input_cost_per_token"), (int, float)):
            self.warn_unknown(ev.model)
            return None
        tier = _tier_suffix(p, ev.prompt_tokens)

        def price(name: str, default: float) -> float:
            if tier:
                v = p.get(name + tier)
                if isinstance(v, (int, float)):
                    return float(v)
            v = p.get(name)
            return float(v) if isinstance(v, (int, float)) else default

        inp = price("input_cost_per_token", 0.0)
        out = price("output_cost_per_token", 0.0)
        read = price("cache_read_input_token_cost", inp * CACHE_READ_FACTOR)
        w5 = price("cache_creation_input_token_cost", inp * CACHE_WRITE_5M_FACTOR)
        w1h = price("cache_creation_input_token_cost_above_1hr", inp * CACHE_WRITE_1H_FACTOR)
        one_hour = min(ev.cache_write_1h, ev.cache_write)
        reasoning = min(ev.reasoning, ev.output)
        rprice = p.get("output_cost_per_reasoning_token")
        if reasoning and isinstance(rprice, (int, float)):
            out_cost = (ev.output - reasoning) * out + reasoning * float(rprice)
        else:
            out_cost = ev.output * out
        total = (ev.input * inp + (ev.cache_write - one_hour) * w5 + one_hour * w1h
                 + ev.cache_read * read + out_cost)
        if ev.speed == "fast":
            mult = (p.get("provider_specific_entry") or {}).get("fast")
            if isinstance(mult, (int, float)):
                total *= float(mult)
        return total


def _tier_suffix(p: Mapping[str, Any], prompt_tokens: int) -> str:
    """The ``_above_NNNk_tokens`` suffix whose threshold the prompt passes (largest), or ''."""
    best = 0
    for k in p:
        m = _TIER.search(k)
        if m:
            limit = int(m.group(1)) * 1000
            if prompt_tokens > limit > best:
                best = limit
    return f"_above_{best // 1000}k_tokens" if best else ""
