"""Vega-Lite specs for the department pages. Each chart is drawn beside a table of the same data."""

from __future__ import annotations

from typing import Any

from civicstat.maps.departments import AGE_BUCKETS, Figures

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
OPENED, RESOLVED = "#8a4b00", "#1a6331"  # the site's open and closed colours (AA contrast)


def _base(title: str, rows: int) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": "container",
        "height": max(120, 28 * rows),
        "config": {"font": "system-ui, sans-serif", "axis": {"labelLimit": 220}},
    }


def _mark(spec: dict[str, Any]) -> dict[str, Any]:
    """An empty chart (a period with no cases) draws a mark container with nothing in it to
    describe, which axe-core reports as an image with no text: its marks are hidden from
    assistive technology then (the chart's own label and its table say what there is)."""
    if not spec["data"]["values"]:
        spec["mark"] = {**spec["mark"], "aria": False}
    return spec


def opened_resolved(figures: list[Figures], label: str) -> dict[str, Any]:
    values = [
        {label: f.name, "measure": m, "cases": getattr(f, m)}
        for f in figures
        for m in ("opened", "resolved")
    ]
    return _mark({
        **_base("Opened and resolved", len(figures)),
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": label, "type": "nominal", "sort": None, "title": None},
            "yOffset": {"field": "measure"},
            "x": {"field": "cases", "type": "quantitative", "title": "Cases"},
            "color": {
                "field": "measure", "title": None,
                "scale": {"domain": ["opened", "resolved"], "range": [OPENED, RESOLVED]},
            },
        },
    })  # fmt: skip


def median_days(figures: list[Figures], label: str) -> dict[str, Any]:
    values = [
        {
            label: f.name,
            "days": round(f.median_days, 1),
            "ranked": "ranked" if f.rank else "not ranked",
        }
        for f in figures
        if f.median_days is not None
    ]
    return _mark({
        **_base("Median days to close", len(values)),
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": label, "type": "nominal", "sort": "x", "title": None},
            "x": {"field": "days", "type": "quantitative", "title": "Median days to close"},
            "color": {
                "field": "ranked", "title": None,
                "scale": {"domain": ["ranked", "not ranked"], "range": ["#0b5cad", "#6e7781"]},
            },
        },
    })  # fmt: skip


def backlog(figures: list[Figures], label: str) -> dict[str, Any]:
    names = dict(AGE_BUCKETS)
    values = [
        {label: f.name, "age": names[k], "cases": n}
        for f in figures
        for k, n in f.backlog.items()
        if f.backlog_total
    ]
    return _mark({
        **_base("Open cases by age", len({v[label] for v in values})),
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": label, "type": "nominal", "sort": "-x", "title": None},
            "x": {"field": "cases", "type": "quantitative", "stack": "zero", "title": "Open cases"},
            "color": {
                "field": "age", "title": "Age", "sort": [n for _, n in AGE_BUCKETS],
                "scale": {"domain": [n for _, n in AGE_BUCKETS],
                          "range": ["#9ecae1", "#3182bd", "#08306b"]},
            },
        },
    })  # fmt: skip


def trend(points: list[dict[str, object]]) -> dict[str, Any]:
    values = [
        {"period": p["period"], "measure": m, "cases": p[m]}
        for p in points
        for m in ("opened", "resolved")
    ]
    return _mark({
        **_base("Opened and resolved over time", 8),
        "data": {"values": values},
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {"field": "period", "type": "temporal", "title": None},
            "y": {"field": "cases", "type": "quantitative", "title": "Cases"},
            "color": {
                "field": "measure", "title": None,
                "scale": {"domain": ["opened", "resolved"], "range": [OPENED, RESOLVED]},
            },
        },
    })  # fmt: skip
