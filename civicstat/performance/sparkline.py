"""A metric card's sparkline as a small inline SVG, drawn on the server.

A line of two dozen points needs no chart library: drawn with Vega-Lite it made the card's page
(and every embedded card) load the 300 kB chart bundle and wait for it before anything showed.
Here it is a few hundred bytes of markup that any browser draws at once, script or not, under the
strict CSP (presentation attributes, no style attribute). Missing values break the line.
"""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from civicstat.performance.summaries import MeasureSummary

WIDTH, HEIGHT, PAD = 160, 36, 3
COLOUR = "#2d5a9e"  # the cards' own blue (performance.css), 6.9:1 on white
POINTS = 24


def sparkline_svg(summary: MeasureSummary) -> SafeString:
    """The last POINTS values as a polyline per unbroken run; empty when there are none."""
    values: list[float | None] = [r["value"] for r in summary.rows()[-POINTS:]]
    known = [v for v in values if v is not None]
    if not known:
        return SafeString("")
    low, high = min(known), max(known)
    span = (high - low) or 1.0  # a flat line sits in the middle
    step = (WIDTH - 2 * PAD) / max(1, len(values) - 1)

    def y(v: float) -> float:
        if high == low:
            return HEIGHT / 2
        return PAD + (HEIGHT - 2 * PAD) * (1 - (v - low) / span)

    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append(f"{PAD + i * step:.1f},{y(v):.1f}")
    shapes = []
    for run in runs:
        if len(run) > 1:
            shapes.append(format_html('<polyline points="{}"/>', " ".join(run)))
        elif run:  # a lone value between gaps: a dot, so it is not lost
            x, cy = run[0].split(",")
            shapes.append(format_html('<circle cx="{}" cy="{}" r="1.8" fill="{}"/>', x, cy, COLOUR))
    label = f"Trend of {summary.measure.short_name} over recent periods"
    return format_html(
        '<svg class="sparkline-svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{label}" focusable="false"><title>{label}</title>'
        '<g fill="none" stroke="{c}" stroke-width="2" stroke-linejoin="round" '
        'stroke-linecap="round">{shapes}</g></svg>',
        w=WIDTH, h=HEIGHT, label=label, c=COLOUR, shapes=SafeString("".join(shapes)),
    )  # fmt: skip
