"""The price table: the shipped one, a user's file on top, prefixes for dated models, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.errors import ConfigError
from synthgen.view.prices import Price, load_prices


def test_the_shipped_table_prices_known_models_and_their_dated_snapshots() -> None:
    table = load_prices()
    assert table.find("gpt-4o-mini") == Price(0.15, 0.60)
    assert table.find("gpt-4o-mini-2024-07-18") == Price(0.15, 0.60), "the longest matching name wins"
    assert table.find("gpt-4o-2024-08-06") == table.find("gpt-4o")
    assert table.find("my-local-model") is None and table.find(None) is None
    assert Price(2.0, 8.0).cost(1_000_000, 500_000) == pytest.approx(6.0)


def test_a_users_file_adds_and_overrides_models(tmp_path: Path) -> None:
    extra = tmp_path / "prices.yaml"
    extra.write_text("models:\n  my-local-model: {input: 0, output: 0.5}\n  gpt-4o-mini: {input: 1, output: 2}\n")
    table = load_prices(extra)
    assert table.find("my-local-model") == Price(0.0, 0.5) and table.find("gpt-4o-mini") == Price(1.0, 2.0)
    assert table.find("gpt-4o") == Price(2.5, 10.0)


@pytest.mark.parametrize("text, message", [
    (None, r"price table .*missing.yaml does not exist: pass a YAML file like .*prices.yaml"),
    ("- a list", r"price table .* has no `models:` mapping: write `models: \{gpt-4o: \{input: 2.5, output: 10\}\}`"),
    ("models:\n  m: {input: cheap}\n", r"price table .*: model 'm' needs numbers `input` and `output`"),
])
def test_a_bad_price_table_is_one_clear_error(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "missing.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_prices(path)
