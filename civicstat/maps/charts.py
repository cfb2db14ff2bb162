"""Vega-Lite specs for the department pages. Each chart is drawn beside a table of the same data.

A department may have a hundred request types: drawn all at once its bars made a page 24,000 px
tall whose labels were cut off. Each chart shows the TOP request types of its own measure
(in the order of `ranked`), and the page links to all of them (`?show=all`); the comparison
table always lists every one. Names are wrapped onto short lines (`_wrapped`) rather than cut,
and every chart fits its container, labels and legend included (autosize `fit`, `contains:
padding`), so nothing runs off the side of a phone. Colours come from `palette`, their one place.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from civicstat.maps import palette
from civicstat.maps.departments import AGE_BUCKETS, Figures

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
TOP = 10  # bars per chart unless all are asked for
LINE_CHARS = 18  # a wrapped label's longest line: ~130 px, leaving a phone's chart room for bars
MAX_LINES = 3
LINE_PX = 13


def ranked(figures: list[Figures], key: Callable[[Figures], float]) -> list[Figures]:
    """The figures with some `key`, largest first (a chart draws the first TOP of them)."""
    return sorted((f for f in figures if key(f)), key=key, reverse=True)


def _wrapped(name: str) -> str:
    """The name on up to MAX_LINES short lines, split at spaces and slashes; the axis draws each
    line (`labelExpr` below), so a long name takes height, not width. The full name stays in the
    tooltip and the table."""
    lines = textwrap.wrap(name.replace("/", "/ "), LINE_CHARS, break_long_words=True)
    if len(lines) > MAX_LINES:
        rest = textwrap.shorten(" ".join(lines[MAX_LINES - 1 :]), LINE_CHARS, placeholder="…")
        lines = [*lines[: MAX_LINES - 1], rest]
    return "\n".join(line.replace("/ ", "/") for line in lines) or "—"


def _row_px(names: list[str]) -> int:
    lines = max((n.count("\n") + 1 for n in names), default=1)
    return max(24, lines * LINE_PX + 10)


def _base(title: str, height: int | dict[str, int]) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        # For tooltips and assistive technology; not drawn: the section's heading says it.
        "description": title,
        "width": "container",
        "height": height,
        # The whole chart, its labels and legend too, fits the container's width (no sideways
        # overflow); its height grows with its rows, each as tall as its label (`step`).
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": {
            "font": "system-ui, sans-serif",
            "scale": {"bandPaddingInner": 0.25},  # a gap between one type's bars and the next
            "axis": {"labelFontSize": 12, "titleFontSize": 12},
            # Wrapped names: one axis line per "\n" (labelLimit 0: no cut-off with "…").
            "axisY": {"labelLimit": 0, "labelExpr": "split(datum.label, '\\n')",
                      "labelLineHeight": LINE_PX},
            "legend": {"orient": "top", "labelFontSize": 12, "titleFontSize": 12},
        },
    }  # fmt: skip


def _mark(spec: dict[str, Any]) -> dict[str, Any]:
    """An empty chart (a period with no cases) draws a mark container with nothing in it to
    describe, which axe-core reports as an image with no text: its marks are hidden from
    assistive technology then (the chart's own label and its table say what there is)."""
    if not spec["data"]["values"]:
        spec["mark"] = {**spec["mark"], "aria": False}
    return spec


def _bars(title: str, rows: list[Figures], pad: int = 0) -> tuple[dict[str, Any], list[str]]:
    """The chart's base and its wrapped names: each row as tall as its longest name, plus `pad`
    (two bars side by side need more)."""
    names = [_wrapped(f.name) for f in rows]
    return _base(title, {"step": _row_px(names) + pad}), names


# Counts of cases: whole numbers on the axis (no "0.5 cases").
COUNT_AXIS = {"tickMinStep": 1, "format": "d"}


def opened_resolved(figures: list[Figures], label: str) -> dict[str, Any]:
    base, names = _bars("Opened and resolved", figures, pad=12)
    base["height"]["for"] = "position"  # the step is a type's row, both its bars
    values = [
        {"label": n, label: f.name, "measure": m, "cases": getattr(f, m)}
        for f, n in zip(figures, names, strict=True)
        for m in ("opened", "resolved")
    ]
    return _mark({
        **base,
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "label", "type": "nominal", "sort": None, "title": None},
            "yOffset": {"field": "measure"},
            "x": {"field": "cases", "type": "quantitative", "title": "Cases", "axis": COUNT_AXIS},
            "color": {
                "field": "measure", "title": None,
                "scale": {"domain": ["opened", "resolved"],
                          "range": [palette.OPENED, palette.RESOLVED]},
            },
            "tooltip": [{"field": label}, {"field": "measure"},
                        {"field": "cases", "format": ","}],
        },
    })  # fmt: skip


def median_days(figures: list[Figures], label: str) -> dict[str, Any]:
    rows = [f for f in figures if f.median_days is not None]
    base, names = _bars("Median days to close", rows)
    values = [
        {
            "label": n, label: f.name,
            "days": round(f.median_days, 1),  # type: ignore[arg-type]  # (filtered above)
            "ranked": "ranked" if f.rank else "not ranked",
        }
        for f, n in zip(rows, names, strict=True)
    ]  # fmt: skip
    return _mark({
        **base,
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "label", "type": "nominal", "sort": "x", "title": None},
            "x": {"field": "days", "type": "quantitative", "title": "Median days to close"},
            "color": {
                "field": "ranked", "title": None,
                "scale": {"domain": ["ranked", "not ranked"],
                          "range": [palette.RANKED, palette.NOT_RANKED]},
            },
            "tooltip": [{"field": label}, {"field": "days", "title": "Median days"},
                        {"field": "ranked"}],
        },
    })  # fmt: skip


def backlog(figures: list[Figures], label: str) -> dict[str, Any]:
    ages = dict(AGE_BUCKETS)
    rows = [f for f in figures if f.backlog_total]
    base, names = _bars("Open cases by age", rows)
    values = [
        {"label": n, label: f.name, "age": ages[k], "cases": count}
        for f, n in zip(rows, names, strict=True)
        for k, count in f.backlog.items()
    ]
    return _mark({
        **base,
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "label", "type": "nominal", "sort": "-x", "title": None},
            "x": {"field": "cases", "type": "quantitative", "stack": "zero", "title": "Open cases",
                  "axis": COUNT_AXIS},
            "color": {
                "field": "age", "title": "Age", "sort": [n for _, n in AGE_BUCKETS],
                "legend": {"columns": 2},  # three ages side by side overflow a phone
                "scale": {"domain": [n for _, n in AGE_BUCKETS], "range": list(palette.AGES)},
            },
            "tooltip": [{"field": label}, {"field": "age"}, {"field": "cases", "format": ","}],
        },
    })  # fmt: skip


def trend(points: list[dict[str, object]]) -> dict[str, Any]:
    values = [
        {"period": p["period"], "measure": m, "cases": p[m]}
        for p in points
        for m in ("opened", "resolved")
    ]
    return _mark({
        **_base("Opened and resolved over time", 224),
        "data": {"values": values},
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {"field": "period", "type": "temporal", "title": None},
            "y": {"field": "cases", "type": "quantitative", "title": "Cases"},
            "color": {
                "field": "measure", "title": None,
                "scale": {"domain": ["opened", "resolved"],
                          "range": [palette.OPENED, palette.RESOLVED]},
            },
        },
    })  # fmt: skip
