"""The simulator's price lookups: the published price file as exact Decimal prices by model and day.

The simulator bills from the same reviewed file as ``marts.list_prices``
(``pipelines/data/prices.csv``, described in ``pipelines.list_prices``), so its cost report is
usage times the list prices the marts estimate with. ``price_per_mtok`` refuses the service tiers
the file cannot price (Priority, flex) rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from pipelines.list_prices import DEFAULT_PRICES_CSV, read_price_file

# The cost report's token_type values, mapped to the CSV column that prices them.
TOKEN_TYPE_COLUMNS: dict[str, str] = {
    "uncached_input_tokens": "input",
    "output_tokens": "output",
    "cache_read_input_tokens": "cache_read",
    "cache_creation.ephemeral_5m_input_tokens": "cache_write_5m",
    "cache_creation.ephemeral_1h_input_tokens": "cache_write_1h",
}
TOKEN_TYPES = tuple(TOKEN_TYPE_COLUMNS)

PRICED_SERVICE_TIERS = ("standard", "batch")
INFERENCE_GEOS = ("global", "us", "not_available")

_DECIMAL_COLUMNS = (
    "input",
    "cache_write_5m",
    "cache_write_1h",
    "cache_read",
    "output",
    "batch_multiplier",
    "us_geo_multiplier",
    "web_search_per_1k",
)


class PriceLookupError(LookupError):
    """No price is known for this model, day, service tier or inference geo."""


@dataclass(frozen=True)
class ModelPrice:
    """One row of the price table: a model's list prices over [effective_from, effective_to)."""

    model: str
    display_name: str
    effective_from: date
    effective_to: date | None
    input: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal
    output: Decimal
    batch_multiplier: Decimal
    us_geo_multiplier: Decimal
    web_search_per_1k: Decimal

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


class PriceTable:
    """All price rows, looked up by model and UTC day (their periods checked by ``read_price_file``)."""

    def __init__(self, rows: list[ModelPrice]):
        self._rows_by_model: dict[str, list[ModelPrice]] = {}
        for row in sorted(rows, key=lambda r: (r.model, r.effective_from)):
            self._rows_by_model.setdefault(row.model, []).append(row)

    @property
    def models(self) -> list[str]:
        """Every model in the table, in alphabetical order."""
        return sorted(self._rows_by_model)

    def launch_day(self, model: str) -> date:
        """The first day the model has a price (its launch)."""
        return self._model_rows(model)[0].effective_from

    def display_name(self, model: str) -> str:
        """The human name used in cost-report descriptions, e.g. "Claude Opus 4.6"."""
        return self._model_rows(model)[-1].display_name

    def row(self, model: str, day: date) -> ModelPrice:
        """The price row in force for the model on that UTC day."""
        for row in self._model_rows(model):
            if row.covers(day):
                return row
        raise PriceLookupError(f"no price for model {model!r} on {day.isoformat()}")

    def price_per_mtok(
        self,
        model: str,
        token_type: str,
        day: date,
        service_tier: str = "standard",
        inference_geo: str | None = "global",
    ) -> Decimal:
        """USD per million tokens of one token type, after the batch and US-residency multipliers.

        ``token_type`` is a cost-report token type (see TOKEN_TYPES). ``service_tier`` must be
        "standard" or "batch": other tiers have no list price. ``inference_geo`` "us" applies the
        model's US multiplier; "global", "not_available" and None (unknown) do not.
        """
        if token_type not in TOKEN_TYPE_COLUMNS:
            raise PriceLookupError(f"unknown token type {token_type!r}; expected one of {TOKEN_TYPES}")
        if service_tier not in PRICED_SERVICE_TIERS:
            raise PriceLookupError(f"service tier {service_tier!r} has no list price")
        if inference_geo is not None and inference_geo not in INFERENCE_GEOS:
            raise PriceLookupError(f"unknown inference geo {inference_geo!r}")
        row = self.row(model, day)
        price: Decimal = getattr(row, TOKEN_TYPE_COLUMNS[token_type])
        if service_tier == "batch":
            price *= row.batch_multiplier
        if inference_geo == "us":
            price *= row.us_geo_multiplier
        return price

    def web_search_per_1k(self, model: str, day: date) -> Decimal:
        """USD per 1,000 web searches made by that model on that day."""
        return self.row(model, day).web_search_per_1k

    def _model_rows(self, model: str) -> list[ModelPrice]:
        try:
            return self._rows_by_model[model]
        except KeyError:
            raise PriceLookupError(f"unknown model {model!r}: add it to the price table") from None


def load_price_table(path: Path | str = DEFAULT_PRICES_CSV) -> PriceTable:
    """Read the price file (default: the published one in ``pipelines/data``)."""
    return PriceTable([_parse_row(record) for record in read_price_file(path).iter_rows(named=True)])


def _parse_row(record: dict[str, str | None]) -> ModelPrice:
    effective_to = record["effective_to"]
    return ModelPrice(
        model=record["model"],
        display_name=record["display_name"],
        effective_from=date.fromisoformat(record["effective_from"]),
        effective_to=date.fromisoformat(effective_to) if effective_to else None,
        **{column: Decimal(record[column]) for column in _DECIMAL_COLUMNS},
    )
