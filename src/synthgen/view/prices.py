"""The price table (``conf/prices.yaml``, extended by the user's file) and the cost of a step's tokens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.config.paths import conf_dir
from synthgen.errors import ConfigError
from synthgen.yaml_io import load_yaml


@dataclass(frozen=True)
class Price:
    """US dollars per million input and output tokens."""

    input: float
    output: float

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.input + tokens_out * self.output) / 1_000_000


class PriceTable:
    """Model name -> :class:`Price`; a model matches its exact name, else the longest listed prefix
    (dated snapshots such as ``gpt-4o-mini-2024-07-18`` cost what their family costs)."""

    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices

    def find(self, model: str | None) -> Price | None:
        if not model:
            return None
        if model in self.prices:
            return self.prices[model]
        prefixes = [name for name in self.prices if model.startswith(name)]
        return self.prices[max(prefixes, key=len)] if prefixes else None


def load_prices(extra: str | Path | None = None) -> PriceTable:
    """The shipped table, with the entries of ``extra`` (a YAML file of the same layout) on top.

    Raises:
        ConfigError: ``extra`` is missing or not a price table.
    """
    prices = _read(conf_dir() / "prices.yaml")
    if extra is not None:
        path = Path(extra).expanduser()
        if not path.is_file():
            raise ConfigError(f"price table {path} does not exist: pass a YAML file like {conf_dir() / 'prices.yaml'}")
        prices.update(_read(path))
    return PriceTable(prices)


def _read(path: Path) -> dict[str, Price]:
    spec = load_yaml(path.read_text()) or {}
    models = spec.get("models") if isinstance(spec, dict) else None
    if not isinstance(models, dict):
        raise ConfigError(f"price table {path} has no `models:` mapping: write `models: {{gpt-4o: {{input: 2.5, "
                          "output: 10}}` (US dollars per million tokens)")
    return {str(name): _price(path, str(name), entry) for name, entry in models.items()}


def _price(path: Path, name: str, entry: Any) -> Price:
    try:
        return Price(float(entry["input"]), float(entry["output"]))
    except (TypeError, KeyError, ValueError):
        raise ConfigError(f"price table {path}: model '{name}' needs numbers `input` and `output` (US dollars "
                          f"per million tokens), got {entry!r}") from None
