"""The admin's "Preview values": a measure's values computed from the definition as entered in the
form, shown to staff before anyone saves or publishes it. Nothing is written: the values are built
in memory by the same code a refresh stores (`services.measure_values_draft`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from civicstat.cases.query import FilterError
from civicstat.performance.models import Calculation, Measure, MeasureValue
from civicstat.performance.services import measure_values_draft
from civicstat.performance.summaries import MeasureSummary

if TYPE_CHECKING:
    from civicstat.performance.admin import MeasureAdmin

# Form fields that are buttons or bookkeeping, not part of the definition to carry to "Save".
_NOT_CARRIED = {"csrfmiddlewaretoken", "_preview", "_save", "_continue", "_addanother"}


def preview_response(
    admin: MeasureAdmin, request: HttpRequest, object_id: str | None
) -> HttpResponse | None:
    """The preview page, or None when the form has errors (the admin shows them as on a save)."""
    obj = admin.get_object(request, object_id) if object_id else None
    if object_id and obj is None:
        raise PermissionDenied  # not one of the user's measures (or gone)
    allowed = (
        admin.has_change_permission(request, obj)
        if obj is not None
        else admin.has_add_permission(request)
    )
    if not allowed:
        raise PermissionDenied
    form_class = admin.get_form(request, obj, change=obj is not None)
    form = form_class(request.POST, request.FILES, instance=obj or Measure())
    if not form.is_valid():
        return None
    candidate: Measure = form.save(commit=False)  # in memory only: nothing is saved
    problem = ""
    values: list[MeasureValue] = []
    if candidate.calculation == Calculation.MANUAL:
        problem = "A manual measure's values are entered or uploaded, not computed."
    else:
        try:
            values = measure_values_draft(measure=candidate)
        except FilterError as error:
            problem = f"The values cannot be computed: {error}."
    summary = MeasureSummary(candidate, values)
    carried: list[tuple[str, str]] = [
        (name, value)
        for name, items in request.POST.lists()
        if name not in _NOT_CARRIED
        for value in items
    ]
    context: dict[str, Any] = {
        **admin.admin_site.each_context(request),
        "opts": Measure._meta, "title": f"Preview: {candidate.title or 'new measure'}",
        "measure": candidate, "s": summary, "rows": list(reversed(summary.rows())),
        "problem": problem, "carried": carried, "original": obj,
    }  # fmt: skip
    return render(request, "performance/admin_preview.html", context)
