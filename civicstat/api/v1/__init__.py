"""The query API at /api/v1/ (django-ninja): cases with the map's filters, facets, aggregates from
the rollups, the reference lists, measures, and streamed bulk exports."""
