"""Template helpers for the alert forms that other apps' pages include."""

from __future__ import annotations

from django import template
from django.http import QueryDict
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from civicstat.alerts.forms import RADIUS_CHOICES, query_initial
from civicstat.alerts.models import Frequency

register = template.Library()


@register.simple_tag
def watch_filter_inputs(query: QueryDict) -> SafeString:
    """Hidden fields carrying the map's kind and request-type filters into a watch: the alert
    then tells about what the map shows. Unknown values are refused by the form, as typed ones."""
    initial = query_initial(query)
    pairs = [
        (field, value)
        for field in ("layers", "services", "service_groups")
        for value in initial.get(field, [])
    ]
    return format_html_join("", '<input type="hidden" name="{}" value="{}">', pairs)


@register.simple_tag
def watch_choices() -> dict[str, list[tuple[object, str]]]:
    """The radius and frequency choices, as the alerts page offers them."""
    return {"radius": list(RADIUS_CHOICES), "frequency": list(Frequency.choices)}
