"""The price table: matching model names, tiers, defaults, user tables merged over the shipped one."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from gitroi.errors import GitroiError
from gitroi.sessions import UsageEvent
from gitroi.sessions.pricing import PriceTable


def ev(model: str, **kw: int | str) -> UsageEvent:
    return UsageEvent(event_id="e", ts="2026-01-01T00:00:00.000Z", model=model, **kw)  # type: ignore[arg-type]


@pytest.fixture
def table(tmp_path: Path) -> PriceTable:
    return PriceTable.load(env={}, home=tmp_path)


@pytest.mark.parametrize(("name", "key"), [
    ("claude-opus-4-6", "claude-opus-4-6"),                       # exact
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"), # exact, dated key exists
    ("claude-haiku-4-5-20991231", "claude-haiku-4-5"),            # date suffix stripped
    ("gpt-5-2099-01-01", "gpt-5"),                                # ISO date suffix stripped
    ("anthropic/claude-sonnet-4-6", "claude-sonnet-4-6"),         # provider prefix stripped
    ("gemini/gemini-2.5-pro", "gemini/gemini-2.5-pro"),           # AI Studio key kept exact
    ("gpt-5.3-codex-spark", "gpt-5.3-codex"),                     # longest prefix
    ("gpt-5.1-codex-max-xhigh", "gpt-5.1-codex-max"),
    ("Claude-Opus-4-6", "claude-opus-4-6"),                       # case
    ("o3x", None),                                                # prefix only at a word boundary
    ("totally-unknown", None),
])
def test_matching(table: PriceTable, name: str, key: str | None) -> None:
    assert table.resolve(name) == key


def test_long_context_tier_above_200k(table: PriceTable) -> None:
    # claude-sonnet-4-5: base in 3e-6 / read 3e-7 / out 1.5e-5; above 200k: 6e-6 / 6e-7 / 2.25e-5
    at = ev("claude-sonnet-4-5", input=10, cache_read=199_990, output=100)          # prompt = 200000
    above = ev("claude-sonnet-4-5", input=10, cache_read=249_990, output=100)       # prompt = 250000
    # 10*3e-6 + 199990*3e-7 + 100*1.5e-5 = 0.00003 + 0.059997 + 0.0015
    assert table.cost(at) == pytest.approx(0.061527)
    # 10*6e-6 + 249990*6e-7 + 100*2.25e-5 = 0.00006 + 0.149994 + 0.00225
    assert table.cost(above) == pytest.approx(0.152304)
    # 1h writes above 200k: 1.2e-5 each; 5m writes above 200k 7.5e-6
    big = ev("claude-sonnet-4-5", input=200_001, cache_write=300, cache_write_1h=100)
    assert table.cost(big) == pytest.approx(200_001 * 6e-6 + 200 * 7.5e-6 + 100 * 1.2e-5)


def test_gpt_above_272k_tier(table: PriceTable) -> None:
    # gpt-5.5: in 5e-6 / read 5e-7 / out 3e-5; above 272k: 1e-5 / 1e-6 / 4.5e-5
    e = ev("gpt-5.5", input=100_000, cache_read=200_000, output=1000)
    assert table.cost(e) == pytest.approx(100_000 * 1e-5 + 200_000 * 1e-6 + 1000 * 4.5e-5)


def test_one_hour_cache_tier_and_fast_mode(table: PriceTable) -> None:
    # claude-opus-4-6: 5m write 6.25e-6, 1h write 1e-5: 100*6.25e-6 + 200*1e-5 = 0.002625
    assert table.cost(ev("claude-opus-4-6", cache_write=300, cache_write_1h=200)) == pytest.approx(0.002625)
    # fast mode: x provider_specific_entry.fast (6.0 for claude-opus-4-6): 1000*5e-6*6 = 0.03
    assert table.cost(ev("claude-opus-4-6", input=1000, speed="fast")) == pytest.approx(0.03)
    assert table.cost(ev("claude-opus-4-6", input=1000, speed="standard")) == pytest.approx(0.005)


def test_codex_reasoning_inside_output(table: PriceTable) -> None:
    # gpt-5.3-codex has no reasoning price: reasoning is billed inside output at 1.4e-5
    e = ev("gpt-5.3-codex", input=1000, cache_read=4000, output=500, reasoning=300)
    assert table.cost(e) == pytest.approx(1000 * 1.75e-6 + 4000 * 1.75e-7 + 500 * 1.4e-5)


def test_user_tables_merge_over_shipped(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cfg = home / ".config" / "gitroi"
    cfg.mkdir(parents=True)
    (cfg / "prices.json").write_text(json.dumps({
        "claude-opus-4-6": {"input_cost_per_token": 1e-6},
        "my-model": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
    }))
    envfile = tmp_path / "env-prices.json"
    envfile.write_text(json.dumps({"my-model": {"output_cost_per_token": 4e-6}}))
    cli = tmp_path / "cli-prices.json"
    cli.write_text(json.dumps({"my-model": {"output_cost_per_token": 8e-6}}))
    t = PriceTable.load(cli, env={"GITROI_PRICES": str(envfile)}, home=home)
    # the config file changed only the input price of claude-opus-4-6; the rest is shipped
    assert t.cost(ev("claude-opus-4-6", input=1000, output=10)) == pytest.approx(1000 * 1e-6 + 10 * 2.5e-5)
    # my-model: input from the config file, output from --prices (highest); cache prices default
    # from input (formats.md 11.2): 5m write x1.25, 1h write x2, read x0.1
    e = ev("my-model", input=1000, output=1000, cache_write=1000, cache_write_1h=400, cache_read=1000)
    assert t.cost(e) == pytest.approx(1000 * 1e-6 + 1000 * 8e-6 + 600 * 1.25e-6 + 400 * 2e-6 + 1000 * 1e-7)
    assert len(t.sources) == 4


def test_bad_user_table_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text("{not json")
    with pytest.raises(GitroiError, match=str(bad)):
        PriceTable.load(bad, env={}, home=tmp_path)


def test_unknown_model_warns_once(table: PriceTable, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gitroi"):
        assert table.cost(ev("mystery-1", input=5)) is None
        assert table.cost(ev("mystery-1", input=6)) is None
        assert table.cost(ev("mystery-2", input=6)) is None
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 2
    assert "'mystery-1'" in msgs[0] and "'mystery-2'" in msgs[1]


def test_shipped_table_has_the_agents_models(table: PriceTable) -> None:
    for model in ("claude-opus-4-7", "claude-opus-4-5", "claude-sonnet-4-6", "claude-haiku-4-5",
                  "gpt-5.3-codex", "gpt-5.2-codex", "gpt-5.1-codex-mini", "gpt-5.5", "o3", "o4-mini",
                  "gemini-2.5-pro", "gemini-2.5-flash", "gemini-3.1-pro-preview", "gemini/gemini-3-flash-preview"):
        assert table.resolve(model) == model, model
        assert table.cost(ev(model, input=1)) is not None
