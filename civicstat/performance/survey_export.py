"""A resident survey as one CSV, in the long format `import_survey` reads (a row per item and
year), so the open data catalogue can offer the whole survey as a download and a city can move
it between systems unchanged. Withheld measures' values are left out, as on the pages."""

from __future__ import annotations

import csv

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from civicstat.performance.models import Survey
from civicstat.performance.survey_pages import survey_summaries
from civicstat.web import cached_by_data_version

COLUMNS = ("category", "item", "kind", "period", "period_start", "period_end", "value", "measure")


@require_GET
@cached_by_data_version
def survey_csv(request: HttpRequest, slug: str) -> HttpResponse:
    survey = get_object_or_404(Survey, slug=slug)
    found = survey_summaries([survey])
    if not found:
        raise Http404("No published items in that survey.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}.csv"'
    writer = csv.writer(response)
    writer.writerow(COLUMNS)
    for item in found[0].items:
        if item.s.withheld:
            continue
        for v in item.s.values:
            if v.value is None:  # a year the item was not asked: no row, not a 0
                continue
            writer.writerow([
                item.item.category, item.item.name, item.item.kind, item.s.period_label(v),
                v.period_start.isoformat(), v.period_end.isoformat(), f"{v.value:g}",
                item.s.measure.slug,
            ])  # fmt: skip
    return response
