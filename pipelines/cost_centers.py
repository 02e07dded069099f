"""The cost-center mapping: which team and cost center a person, a service account, a federated identity,
an API key, a product or a workspace belongs to, and from when. An input of the marts build, like the
budgets and the price file.

The mapping comes from a reviewed CSV (setting ``cost_centers_file``) and/or ``[[cost_centers]]`` entries
in the config file (setting ``cost_centers``), with the same fields: ``kind`` (see ``KINDS``), ``id``
(the workspace, API key or service account ID, the federated subject, the product; for a user the user ID
or email), ``team``, ``cost_center``, ``valid_from`` (inclusive UTC day) and ``valid_to`` (exclusive,
empty = still in force). A person who moves team gets a second row starting the day the first one ends.
Both sources go through one validation, before any work: a mistake is one line naming the file and line,
so the person who edited the mapping can fix it, and overlapping periods are refused across both.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.settings import ConfigError, CostCenterEntry

# Precedence, first wins: the actor (a person, a service account or a federated identity: one cost has
# at most one), then the API key, then the product, then the workspace (see int_cost_center_cost.sql).
KINDS = ("user", "service_account", "federated", "api_key", "product", "workspace")
COLUMNS = ("kind", "id", "team", "cost_center", "valid_from", "valid_to")
# The mapping as the build registers it (text, cast in sql/marts/cost_centers.sql).
SCHEMA = {"kind": pl.String, "subject": pl.String, "team": pl.String, "cost_center": pl.String,
          "valid_from": pl.String, "valid_to": pl.String, "source_line": pl.String, "source_order": pl.Int64}


@dataclass(frozen=True)
class _Row:
    where: str  # file:line
    kind: str
    subject: str
    team: str
    cost_center: str
    valid_from: date
    valid_to: date | None


def read_cost_centers(path: str | Path | None, entries: Iterable[CostCenterEntry] = ()) -> pl.DataFrame:
    """The mapping's rows from the CSV at ``path`` (if any) and the config file's ``entries``, or a
    ConfigError naming the first bad line."""
    fields = [*(_csv_fields(Path(path)) if path else []), *_entry_fields(entries)]
    rows = [_validated(where, values) for where, values in fields]
    _refuse_overlaps(rows)
    return pl.DataFrame(
        [(row.kind, row.subject, row.team, row.cost_center, row.valid_from.isoformat(),
          row.valid_to.isoformat() if row.valid_to else None, row.where, order) for order, row in enumerate(rows)],
        schema=SCHEMA, orient="row",
    )


def _csv_fields(path: Path) -> list[tuple[str, dict[str, str]]]:
    """Each non-blank row of the CSV as (file:line, {column: text}). Read as utf-8-sig: a spreadsheet's
    "CSV UTF-8" starts with a byte-order mark. Another column is refused, as an unknown key inline is."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = [name.strip() for name in next(reader, [])]
            missing = [name for name in COLUMNS if name not in header]
            if missing:
                raise ConfigError(f"{path}:1: missing column(s) {', '.join(missing)}; "
                                  f"the header is {','.join(COLUMNS)}")
            unknown = [name for name in header if name not in COLUMNS]
            if unknown:
                raise ConfigError(f"{path}:1: unknown column(s) {', '.join(map(repr, unknown))}; "
                                  f"the header is {','.join(COLUMNS)}")
            rows = []
            for values in reader:
                where = f"{path}:{reader.line_num}"
                if not any(value.strip() for value in values):
                    continue
                if len(values) != len(header):
                    raise ConfigError(f"{where}: {len(values)} fields, the header has {len(header)}")
                rows.append((where, dict(zip(header, values))))
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read cost centers file {path}: {exc}") from None


def _entry_fields(entries: Iterable[CostCenterEntry]) -> Iterator[tuple[str, dict[str, str]]]:
    """Each config-file entry as (file:line, {field: text}); a TOML date reads as YYYY-MM-DD."""
    for entry in entries:
        unknown = [key for key, _ in entry.fields if key not in COLUMNS]
        if unknown:
            raise ConfigError(f"{entry.where}: unknown key(s) {', '.join(unknown)}; use {', '.join(COLUMNS)}")
        yield entry.where, {key: str(value) for key, value in entry.fields}


def _validated(where: str, values: Mapping[str, str]) -> _Row:
    row = {name: values.get(name, "").strip() for name in COLUMNS}
    if not row["kind"]:
        raise ConfigError(f"{where}: missing kind")
    if row["kind"] not in KINDS:
        raise ConfigError(f"{where}: unknown kind {row['kind']!r}; use one of {', '.join(KINDS)}")
    for name in ("id", "team", "cost_center", "valid_from"):
        if not row[name]:
            raise ConfigError(f"{where}: missing {name}")
    valid_from = _day(where, "valid_from", row["valid_from"])
    valid_to = _day(where, "valid_to", row["valid_to"]) if row["valid_to"] else None
    if valid_to is not None and valid_to <= valid_from:
        raise ConfigError(f"{where}: valid_to {valid_to} is not after valid_from {valid_from} (valid_to is exclusive)")
    subject = row["id"].lower() if row["kind"] == "user" and "@" in row["id"] else row["id"]
    return _Row(where, row["kind"], subject, row["team"], row["cost_center"], valid_from, valid_to)


def _day(where: str, column: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{where}: bad date in {column}: {text!r} (use YYYY-MM-DD)") from None


def _refuse_overlaps(rows: list[_Row]) -> None:
    """Two rows of one subject in force on the same day would charge its cost twice."""
    by_subject: dict[tuple[str, str], list[_Row]] = {}
    for row in rows:
        by_subject.setdefault((row.kind, row.subject), []).append(row)
    for periods in by_subject.values():
        periods.sort(key=lambda row: row.valid_from)
        for earlier, later in zip(periods, periods[1:]):
            if earlier.valid_to is None or earlier.valid_to > later.valid_from:
                raise ConfigError(f"{later.where}: {later.kind} {later.subject} from {later.valid_from} overlaps "
                                  f"{earlier.where} (valid_to is exclusive: end the earlier row on {later.valid_from})")
