"""Schema drift: fields and enum values the API sent that this version does not know.

The API grows fields and enum values without notice. Drift must
neither crash a load nor vanish: unknown fields are kept in each row's `extras` JSON and
counted here, unknown enum values load as plain strings and are counted here, and the caller
logs `warnings()`. Fields the docs describe but the tables have no column for (an entity's
`type`, say) go to `extras` too, but are not drift.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pipelines.normalize.pages import json_text

Shape = Mapping[str, "Shape | None"]
"""The known keys of a JSON object, nested; None marks a value taken whole (a leaf).
Arrays are transparent: a shape applies to each element."""

ANY_KEY = "*"
"""A shape key that stands for every key of a map keyed by data (tool names, say)."""

_LIST_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class SchemaDrift:
    """What a page held beyond the known schema, with counts; pages merge with `+`."""

    unknown_fields: dict[str, int] = field(default_factory=dict)
    """Field path (`data[].results[].speed`) -> occurrences."""
    unknown_enum_values: dict[str, dict[str, int]] = field(default_factory=dict)
    """Column -> unknown value -> rows."""

    def merge(self, other: SchemaDrift) -> SchemaDrift:
        enum_columns = self.unknown_enum_values.keys() | other.unknown_enum_values.keys()
        return SchemaDrift(
            unknown_fields=dict(Counter(self.unknown_fields) + Counter(other.unknown_fields)),
            unknown_enum_values={
                column: dict(
                    Counter(self.unknown_enum_values.get(column, {}))
                    + Counter(other.unknown_enum_values.get(column, {}))
                )
                for column in sorted(enum_columns)
            },
        )

    __add__ = merge

    def __bool__(self) -> bool:
        return bool(self.unknown_fields or self.unknown_enum_values)

    def warnings(self) -> list[str]:
        """One line per unknown field and per unknown enum value, for the run log."""
        fields = [
            f"unknown field {path!r} seen {count} time(s); row-level values are kept in `extras`"
            for path, count in sorted(self.unknown_fields.items())
        ]
        values = [
            f"unknown value {value!r} in {column!r} in {count} row(s); rows are kept"
            for column, counts in sorted(self.unknown_enum_values.items())
            for value, count in sorted(counts.items())
        ]
        return fields + values


def unknown_fields(value: Any, shape: Shape | None, path: str = "") -> dict[str, Any]:
    """Every field of `value` that `shape` does not list, keyed by its path (`a.b`, `c[2].d`)."""
    if shape is None:
        return {}
    if isinstance(value, list):
        found: dict[str, Any] = {}
        for index, item in enumerate(value):
            found |= unknown_fields(item, shape, f"{path}[{index}]")
        return found
    if not isinstance(value, dict):
        return {}
    found = {}
    for key, item in value.items():
        item_path = f"{path}.{key}" if path else key
        if key in shape or ANY_KEY in shape:
            found |= unknown_fields(item, shape.get(key, shape.get(ANY_KEY)), item_path)
        else:
            found[item_path] = item
    return found


def key_names(shape: Shape) -> set[str]:
    """All key names a shape knows, at any depth."""
    names = set(shape)
    for inner in shape.values():
        if inner is not None:
            names |= key_names(inner)
    return names


def key_counts(column: str, names: Iterable[str], *, escapes: bool) -> dict[str, pl.Expr]:
    """A cheap screen for unknown object keys in the JSON text of `column`: `key_ends` equals
    `known_keys` exactly when every key is one of `names` (compared as written).

    Not a parser: it compares names, not paths, so a known name in an unknown place passes.
    Two counts, each one Rust-regex pass that builds no list of matches: every `"` followed by
    optional whitespace and `:` (each key ends so exactly once; a string value can add more only
    through an escaped quote, which at worst sends the page down the slow, exact path), and
    every known name written as a key. With `escapes` (the text holds a backslash) a known name
    counts only after an unescaped quote, since an escaped one can sit inside a string.
    """
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    known_key = rf'"(?:{alternatives})"\s*:'
    if escapes:
        known_key = r"(?:^|[^\\])" + known_key
    return {
        "key_ends": pl.col(column).str.count_matches(r'"\s*:'),
        "known_keys": pl.col(column).str.count_matches(known_key),
    }


def drift_and_extras(
    page: Any, page_shape: Shape, rows: list[Any], row_shape: Shape, documented: Iterable[str] = ()
) -> tuple[SchemaDrift, list[str | None]]:
    """Drift of a parsed page, and each row's `extras`: its fields that have no column.

    `documented` lists field paths (as in `SchemaDrift.unknown_fields`) that the docs
    describe but the tables do not map: they go to `extras` without counting as drift.
    """
    paths = Counter(_LIST_INDEX.sub("[]", path) for path in unknown_fields(page, page_shape))
    quiet = set(documented)
    drift = SchemaDrift(unknown_fields={path: n for path, n in paths.items() if path not in quiet})
    return drift, [extras_json(unknown_fields(row, row_shape)) for row in rows]


def extras_json(found: dict[str, Any]) -> str | None:
    """A row's unmapped fields as JSON text, or None when there are none."""
    return json_text(found) if found else None


def enum_drift(frame: pl.DataFrame, known: Mapping[str, Iterable[str]]) -> SchemaDrift:
    """Values of enum columns outside the documented set (the rows keep them as strings)."""
    found = {}
    for column, values in known.items():
        unknown = frame.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(list(values)))
        if unknown.height:
            found[column] = dict(unknown.group_by(column).len().iter_rows())
    return SchemaDrift(unknown_enum_values=found)
