"""Formatting measure values by unit, and Markdown narratives rendered safely."""

from __future__ import annotations

import markdown as md
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

from civicstat.performance.models import Measure

register = template.Library()


@register.filter
def measure_value(value: float | None, measure: Measure) -> str:
    """ "75.3%", "$10.4M", "2.1 days", "1,204"; "No data" for a missing value."""
    if not isinstance(value, int | float):  # None, or "" from a template's missing variable
        return "No data"
    places = measure.decimals
    if measure.unit == "percent":
        return f"{value:,.{places}f}%"
    if measure.unit == "dollars":
        for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
            if abs(value) >= size:
                return f"${value / size:,.{max(places, 1)}f}{suffix}"
        return f"${value:,.{places}f}"
    if measure.unit == "days":
        return f"{value:,.{places}f} days"
    return f"{value:,.{places}f}"


@register.filter
def signed_change(value: float | None, measure: Measure) -> str:
    """ "+3", "−1.2 days"; a percentage moves by points ("+0.9 pts"), which "+0.9%" would misstate
    as a relative change."""
    if value is None:
        return ""
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    if measure.unit == "percent":
        return f"{sign}{abs(value):,.{measure.decimals}f} pts"
    return sign + measure_value(abs(value), measure)


@register.filter
def score_percent(score: float | None) -> str:
    return "—" if score is None else f"{score * 100:.0f}"


@register.filter
def markdown_safe(text: str) -> SafeString:
    """Markdown to HTML with everything but plain formatting, lists, links and tables removed."""
    html = md.markdown(text or "", extensions=["tables", "sane_lists"])
    return mark_safe(nh3.clean(html, link_rel="noopener noreferrer nofollow"))  # noqa: S308
