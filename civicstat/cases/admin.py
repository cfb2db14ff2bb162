from __future__ import annotations

from django.contrib import admin

from civicstat.cases.models import (
    Area,
    Case,
    CaseEvent,
    Department,
    DepartmentAlias,
    Layer,
    Service,
    StatusMapping,
)


class StatusMappingInline(admin.TabularInline[StatusMapping, Layer]):
    model = StatusMapping
    extra = 1


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin[Layer]):
    list_display = ["name", "slug", "noun", "position", "sensitive"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StatusMappingInline]


class DepartmentAliasInline(admin.TabularInline[DepartmentAlias, Department]):
    model = DepartmentAlias
    extra = 1


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin[Department]):
    list_display = ["name", "slug"]
    search_fields = ["name", "aliases__name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [DepartmentAliasInline]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin[Service]):
    list_display = ["name", "code", "group", "layer", "department", "target_days", "private"]
    list_filter = ["layer", "private", "department"]
    list_editable = ["target_days", "private"]
    search_fields = ["name", "code", "group"]
    list_select_related = ["layer", "department"]


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin[Area]):
    list_display = ["name", "kind", "code"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    readonly_fields = ["geometry"]


class CaseEventInline(admin.TabularInline[CaseEvent, Case]):
    model = CaseEvent
    extra = 0
    fields = ["at", "kind", "status_from", "status_to", "note"]
    ordering = ["at", "id"]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    list_display = ["external_id", "layer", "service", "department", "status", "requested_at"]
    list_filter = ["layer", "status_group", "department"]
    search_fields = ["=external_id", "address"]
    list_select_related = ["layer", "service", "department"]
    raw_id_fields = ["service", "department"]
    date_hierarchy = "requested_at"
    # Counting millions of rows on every page is slow; the rollups give exact figures elsewhere.
    show_full_result_count = False
    readonly_fields = [
        "requested_day",
        "closed_day",
        "close_bucket",
        "h3_cell",
        "public_lat",
        "public_lon",
        "ingested_at",
    ]
    inlines = [CaseEventInline]
