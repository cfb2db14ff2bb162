from __future__ import annotations

from django.urls import path

from civicstat.maps import department_views, views

urlpatterns = [
    path("map", views.map_page, name="map"),
    path("map/list", views.case_list, name="map-list"),
    path("map/view.json", views.map_view, name="map-view"),
    path("map/places.json", views.places, name="map-places"),
    path("map/areas.json", views.areas_geojson, name="map-areas"),
    path("map/basemap/<str:version>/<path:name>", views.basemap_file, name="map-basemap"),
    path("embed/new", views.embed_new, name="embed-new"),
    path("embed/map", views.embed_map, name="embed-map"),
    path("departments", department_views.departments, name="departments"),
    path("departments/<slug:slug>", department_views.department_detail, name="department"),
]
