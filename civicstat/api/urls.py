"""Open data out. The query API lives under /api/v1/; the SODA-compatible paths (/resource/,
/api/views/, /api/catalog/v1, /data.json) keep Socrata's own addresses, so they sit at the root."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from civicstat.api.catalogue import views as catalogue
from civicstat.api.soda import views as soda
from civicstat.api.v1.api import api as api_v1

# A Socrata dataset id: four letters or digits, a dash, four more.
_ID = r"(?P<dataset_id>[a-z0-9]{4}-[a-z0-9]{4})"

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/", api_v1.urls),
    re_path(rf"^resource/{_ID}\.(?P<data_format>json|csv|geojson)$", soda.resource,
            name="soda-resource"),
    re_path(rf"^api/views/{_ID}\.json$", soda.view, name="soda-view"),
    path("api/catalog/v1", catalogue.catalog_v1, name="soda-catalog"),
    path("data.json", catalogue.dcat, name="data-dcat"),
    path("data", catalogue.index, name="data-catalogue"),
    # A layer's SODA id (xxxx-xxxx), or the slug of another entry (performance-measures, areas…).
    re_path(r"^data/(?P<dataset_id>[a-z0-9][a-z0-9-]{0,99})$", catalogue.dataset_page,
            name="data-dataset"),
]  # fmt: skip
