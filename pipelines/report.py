"""The spend report: one self-contained HTML file with SVG charts, readable offline.

Charts are drawn server-side as inline SVG (no JavaScript, fonts or files to fetch), so the file
opens anywhere, prints, and can be mailed. Data comes from the serving copy's marts through the
SQL files in `sql/report/`; "this month" is the month of the latest day with billed cost.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path

import duckdb

from pipelines import __version__
from pipelines.warehouse import read_sql
from pipelines.publish import read_serving_copy

PALETTE = ("#3b6fb6", "#d9822b", "#3a9a5b", "#b5475a", "#7a5fb0", "#8c6d46", "#c95fa8", "#6f7f8f", "#b5a33a", "#3aa5a5")
WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 260, 64, 28, 12


class ReportError(RuntimeError):
    """The serving copy has no marts to report on yet."""


@dataclass(frozen=True)
class Figure:
    title: str
    caption: str
    svg: str


def write_report(serving_path: str | Path, output: str | Path) -> Path:
    """Render the report from the serving copy into `output` (one HTML file)."""
    output = Path(output)
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
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(_page(as_of, kpis, figures))
    return output


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
    ]


# --- chart primitives: each returns one <svg class="chart"> whose data marks have class "mark" ---


def stacked_bars(rows: list[tuple[object, str, float]], *, money: bool) -> str:
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
    marks = []
    for x, name, base, value in stacks:
        h = value / top * plot_h
        y = PAD_TOP + plot_h - (base + value) / top * plot_h
        marks.append(
            f'<rect class="mark" x="{PAD_LEFT + xs.index(x) * step + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{max(h, 0):.1f}" fill="{_color(series, name)}"><title>{escape(f"{x} {name}: {_fmt(value, money)}")}</title></rect>'
        )
    return _svg(marks + _axes(top, money, [(xs[0], 0), (xs[-1], len(xs) - 1)] if xs else [], step), series)


def lines(rows: list[tuple[object, str, float]], *, money: bool) -> str:
    """One polyline per series over the sorted x values, with a legend."""
    xs = sorted({x for x, _, _ in rows})
    series = _series_order(rows)
    top = max((v or 0.0 for _, _, v in rows), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(len(xs) - 1, 1)
    marks = []
    for name in series:
        points = [
            f"{PAD_LEFT + xs.index(x) * step:.1f},{PAD_TOP + plot_h - (v or 0.0) / top * plot_h:.1f}"
            for x, s, v in sorted(rows, key=lambda r: r[0]) if s == name
        ]
        marks.append(
            f'<polyline class="mark" fill="none" stroke-width="2.5" stroke="{_color(series, name)}" '
            f'points="{" ".join(points)}"><title>{escape(name)}</title></polyline>'
        )
    return _svg(marks + _axes(top, money, [(xs[0], 0), (xs[-1], len(xs) - 1)] if xs else [], step, centered=False), series)


def horizontal_bars(rows: list[tuple[str, float]], *, money: bool) -> str:
    """One labelled horizontal bar per row, largest first, values written at the bar's end."""
    top = max((v or 0.0 for _, v in rows), default=0.0) or 1.0
    label_w, bar_h = 230, 22
    height = max(len(rows), 1) * (bar_h + 6) + 8
    marks = []
    for i, (label, value) in enumerate(rows):
        y = 4 + i * (bar_h + 6)
        w = (value or 0.0) / top * (WIDTH - label_w - 90)
        marks.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(_clip(str(label), 34))}</text>'
            f'<rect class="mark" x="{label_w}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" fill="{PALETTE[0]}">'
            f"<title>{escape(f'{label}: {_fmt(value or 0.0, money)}')}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{escape(_fmt(value or 0.0, money))}</text>'
        )
    return f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img">{"".join(marks)}</svg>'


def _axes(top: float, money: bool, x_labels: list[tuple[object, int]], step: float, centered: bool = True) -> list[str]:
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    parts = [f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 8}" y2="{PAD_TOP + plot_h}"/>']
    for fraction in (0, 0.5, 1):
        y = PAD_TOP + plot_h - fraction * plot_h
        parts.append(f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_fmt(top * fraction, money, short=True))}</text>')
    for position, (label, index) in enumerate(x_labels):
        x = PAD_LEFT + index * step + (step / 2 if centered else 0)
        anchor = "start" if position == 0 else "end"  # first and last label stay inside the chart
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{escape(str(label))}</text>')
    return parts


def _svg(parts: list[str], series: list[str]) -> str:
    legend = "".join(
        f'<span class="key"><i style="background:{_color(series, name)}"></i>{escape(name)}</span>' for name in series
    )
    return f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">{"".join(parts)}</svg><div class="legend">{legend}</div>'


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
    cards = (
        f'<div class="kpi"><b>${month_to_date or 0:,.2f}</b>month to date ({as_of:%B %Y}, through {as_of})</div>'
        f'<div class="kpi"><b>${forecast or 0:,.2f}</b>month-end forecast from the run rate ({days_in_month} days)</div>'
    )
    body = "".join(
        f'<figure><h2>{escape(f.title)}</h2>{f.svg}<figcaption>{escape(f.caption)}</figcaption></figure>' for f in figures
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Anthropic spend report: {as_of:%B %Y}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }}
h1 {{ font-size: 22px; margin: 0 0 4px; }} h2 {{ font-size: 15px; margin: 0 0 8px; }}
.kpis {{ display: flex; gap: 16px; margin: 16px 0; }}
.kpi {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px 16px; color: #555; }}
.kpi b {{ display: block; font-size: 22px; color: #222; }}
main {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; }}
figure {{ margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px 16px; }}
figcaption, footer {{ color: #666; font-size: 12px; margin-top: 6px; }}
svg.chart {{ width: 100%; height: auto; font-size: 11px; fill: #444; }}
.axis {{ stroke: #999; }}
.legend {{ display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 12px; }}
.key i {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }}
</style></head>
<body><h1>Anthropic spend report</h1>
<div>Billed cost from the Admin API cost report, allocated exactly; estimates are labelled.</div>
<div class="kpis">{cards}</div>
<main>{body}</main>
<footer>Generated {generated} by anthropic-usage-pipeline {__version__}.</footer>
</body></html>
"""
