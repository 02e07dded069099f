"""The spend report: one self-contained HTML file with SVG charts, readable offline.

Charts are drawn server-side as inline SVG (no JavaScript, fonts or files to fetch), so the file
opens anywhere, prints, and can be mailed. Data comes from the serving copy's marts through the
SQL files in `sql/report/`; "this month" is the month of the latest day with billed cost. This
module computes the figures and each chart's geometry; the markup is `templates/spend_report.html`,
rendered with autoescaping so names from the API reach the page as text.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import jinja2

from pipelines import __version__
from pipelines.output import write_output
from pipelines.warehouse import read_sql
from pipelines.publish import read_serving_copy

PALETTE = ("#3b6fb6", "#d9822b", "#3a9a5b", "#b5475a", "#7a5fb0", "#8c6d46", "#c95fa8", "#6f7f8f", "#b5a33a", "#3aa5a5")
WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 260, 64, 28, 12
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("pipelines"), autoescape=True, undefined=jinja2.StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)


class ReportError(RuntimeError):
    """The serving copy has no marts to report on yet."""


@dataclass(frozen=True)
class Bar:
    """A data mark: one rectangle, with its value as a tooltip."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    tooltip: str


@dataclass(frozen=True)
class Line:
    """A data mark: one series as a polyline ("x,y x,y ...")."""

    points: str
    stroke: str
    tooltip: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(frozen=True)
class Axis:
    x1: float
    x2: float
    y: float


@dataclass(frozen=True)
class Chart:
    """One chart's geometry in SVG user units, drawn by the template."""

    height: float
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    axis: Axis | None = None
    legend: list[tuple[str, str]] = field(default_factory=list)  # (series, colour)
    width: float = WIDTH


@dataclass(frozen=True)
class Figure:
    title: str
    caption: str
    chart: Chart


def write_report(serving_path: str | Path, output: str) -> None:
    """Render the report from the serving copy into `output` (one HTML file, or `-`: standard output)."""
    with read_serving_copy(serving_path) as con:
        try:
            (as_of,) = con.execute(read_sql("report/as_of.sql")).fetchone()
        except duckdb.CatalogException as exc:
            raise ReportError(f"{serving_path} has no marts yet: run a sync that builds them ({exc})") from None
        if as_of is None:
            raise ReportError(f"{serving_path} holds no billed cost yet: run a sync first")
        query = _Query(con, as_of)
        figures = _figures(query)
        kpis = query.rows("forecast.sql")[0]
    write_output(output, _page(as_of, kpis, figures))


class _Query:
    def __init__(self, con: duckdb.DuckDBPyConnection, as_of: date):
        self.con, self.as_of = con, as_of

    def rows(self, sql_file: str) -> list[tuple]:
        return self.con.execute(read_sql(f"report/{sql_file}"), {"as_of": self.as_of}).fetchall()


def _figures(query: _Query) -> list[Figure]:
    cache = query.rows("cache.sql")
    month_to_date, forecast, days_in_month = query.rows("forecast.sql")[0]
    forecast_line = [(query.as_of.day, "Forecast", month_to_date or 0.0), (days_in_month, "Forecast", forecast or 0.0)]
    savings = sum(row[2] or 0 for row in cache)
    return [
        Figure("Daily spend by workspace", "Billed USD per UTC day, last 30 days, stacked by workspace.",
               stacked_bars(query.rows("daily_spend_by_workspace.sql"), money=True)),
        Figure("Month to date against last month",
               "Cumulative billed USD by day of month; the forecast extends this month's run rate to month end.",
               lines(query.rows("month_to_date.sql") + forecast_line, money=True)),
        Figure("Top users this month", "Billed USD allocated to each person (exact split of the bill).",
               horizontal_bars(query.rows("top_users.sql"), money=True)),
        Figure("Top API keys this month", "Billed USD allocated to each API key.",
               horizontal_bars(query.rows("top_api_keys.sql"), money=True)),
        Figure("Model mix this month", "Tokens per model, all token types.",
               horizontal_bars(query.rows("model_mix.sql"), money=False)),
        Figure("Cache hit ratio", f"Cache reads / all input tokens per day; estimated net saving over the period: "
               f"${savings:,.2f}.", lines([(d, "hit ratio", r or 0.0) for d, r, _ in cache], money=False)),
        Figure("Claude Code adoption", "Developers with at least one Claude Code session per day.",
               stacked_bars([(d, "developers", v) for d, v in query.rows("claude_code_adoption.sql")], money=False)),
        Figure("Claude Code cost per developer this month",
               "Estimated USD per developer (informational: already inside the billed API cost).",
               horizontal_bars(query.rows("claude_code_cost_per_developer.sql"), money=True)),
    ] + _analytics_figures(query)


def _analytics_figures(query: _Query) -> list[Figure]:
    """Product mix and list versus billed: only the Analytics API reports them, so they are drawn
    when the last 30 days hold days loaded from it."""
    list_vs_billed = query.rows("list_vs_billed.sql")
    if not list_vs_billed:
        return []
    discount = sum(value if series == "List" else -value for _, series, value in list_vs_billed)
    return [
        Figure("Product mix this month", "Billed USD per product (Messages API, Batches, Claude Code, ...).",
               horizontal_bars(query.rows("product_mix.sql"), money=True)),
        Figure("List versus billed", f"List price and billed USD per day; the gap is the discount: ${discount:,.2f} "
               f"over the period.", lines(list_vs_billed, money=True)),
    ]


# --- chart primitives: each returns one Chart; its data marks (bars, lines) get class "mark" ---


def stacked_bars(rows: list[tuple[object, str, float]], *, money: bool) -> Chart:
    """Vertical bars per x, stacked by series, with a legend."""
    xs = sorted({x for x, _, _ in rows})
    series = _series_order(rows)
    totals, stacks = defaultdict(float), []
    for x, name, value in sorted(rows, key=lambda r: (r[0], series.index(r[1]))):
        stacks.append((x, name, totals[x], value or 0.0))
        totals[x] += value or 0.0
    top = max(totals.values(), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(len(xs), 1)
    bars = [
        Bar(
            x=_round(PAD_LEFT + xs.index(x) * step + 1), y=_round(PAD_TOP + plot_h - (base + value) / top * plot_h),
            width=_round(max(step - 2, 1)), height=_round(max(value / top * plot_h, 0)),
            fill=_color(series, name), tooltip=f"{x} {name}: {_fmt(value, money)}",
        )
        for x, name, base, value in stacks
    ]
    return Chart(HEIGHT, bars=bars, axis=_axis(), labels=_axis_labels(top, money, xs, step), legend=_legend(series))


def lines(rows: list[tuple[object, str, float]], *, money: bool) -> Chart:
    """One polyline per series over the sorted x values, with a legend."""
    xs = sorted({x for x, _, _ in rows})
    series = _series_order(rows)
    top = max((v or 0.0 for _, _, v in rows), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(len(xs) - 1, 1)
    polylines = []
    for name in series:
        points = [
            f"{PAD_LEFT + xs.index(x) * step:.1f},{PAD_TOP + plot_h - (v or 0.0) / top * plot_h:.1f}"
            for x, s, v in sorted(rows, key=lambda r: r[0]) if s == name
        ]
        polylines.append(Line(" ".join(points), stroke=_color(series, name), tooltip=name))
    labels = _axis_labels(top, money, xs, step, centered=False)
    return Chart(HEIGHT, lines=polylines, axis=_axis(), labels=labels, legend=_legend(series))


def horizontal_bars(rows: list[tuple[str, float]], *, money: bool) -> Chart:
    """One labelled horizontal bar per row, largest first, values written at the bar's end."""
    top = max((v or 0.0 for _, v in rows), default=0.0) or 1.0
    label_w, bar_h = 230, 22
    bars, labels = [], []
    for i, (label, value) in enumerate(rows):
        y = 4 + i * (bar_h + 6)
        w = (value or 0.0) / top * (WIDTH - label_w - 90)
        text = _fmt(value or 0.0, money)
        bars.append(Bar(label_w, y, width=_round(max(w, 1)), height=bar_h, fill=PALETTE[0], tooltip=f"{label}: {text}"))
        labels += [Label(label_w - 6, y + 15, _clip(str(label), 34), anchor="end"), Label(_round(label_w + w + 6), y + 15, text)]
    return Chart(max(len(rows), 1) * (bar_h + 6) + 8, bars=bars, labels=labels)


def _axis() -> Axis:
    return Axis(PAD_LEFT, WIDTH - 8, HEIGHT - PAD_BOTTOM)


def _axis_labels(top: float, money: bool, xs: list, step: float, centered: bool = True) -> list[Label]:
    """Three value labels up the y axis, and the first and last x under the x axis."""
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    labels = [
        Label(PAD_LEFT - 6, _round(PAD_TOP + plot_h - fraction * plot_h + 4), _fmt(top * fraction, money, short=True), "end")
        for fraction in (0, 0.5, 1)
    ]
    for index, anchor in ((0, "start"), (len(xs) - 1, "end")) if xs else ():  # both stay inside the chart
        x = PAD_LEFT + index * step + (step / 2 if centered else 0)
        labels.append(Label(_round(x), HEIGHT - 8, str(xs[index]), anchor))
    return labels


def _legend(series: list[str]) -> list[tuple[str, str]]:
    return [(name, _color(series, name)) for name in series]


def _round(value: float) -> float:
    """SVG coordinates to a tenth of a unit: a pixel's share, and a shorter file."""
    return round(value, 1)


def _series_order(rows: list[tuple[object, str, float]]) -> list[str]:
    totals: dict[str, float] = defaultdict(float)
    for _, name, value in rows:
        totals[name] += value or 0.0
    return sorted(totals, key=lambda name: -totals[name])


def _color(series: list[str], name: str) -> str:
    return PALETTE[series.index(name) % len(PALETTE)]


def _fmt(value: float, money: bool, short: bool = False) -> str:
    if short and abs(value) >= 1000:
        text = f"{value / 1000:,.1f}k" if abs(value) < 1e6 else f"{value / 1e6:,.1f}M" if abs(value) < 1e9 else f"{value / 1e9:,.1f}B"
    elif money:
        text = f"{value:,.2f}"
    else:
        text = f"{value:,.0f}" if abs(value) >= 10 else f"{value:.2f}"
    return f"${text}" if money else text


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _page(as_of: date, kpis: tuple, figures: list[Figure]) -> str:
    month_to_date, forecast, days_in_month = kpis
    return TEMPLATES.get_template("spend_report.html").render(
        as_of=as_of,
        month_to_date=_fmt(month_to_date or 0.0, money=True),
        forecast=_fmt(forecast or 0.0, money=True),
        days_in_month=days_in_month,
        figures=figures,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
    )
