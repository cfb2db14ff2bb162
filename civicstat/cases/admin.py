from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from civicstat.cases.aliases import alias_problems, category_aliases_apply
from civicstat.cases.models import (
    Area,
    Case,
    CaseEvent,
    Department,
    DepartmentAlias,
    Layer,
    Service,
    ServiceAlias,
    ServiceGroupAlias,
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


class _AliasForm(forms.ModelForm):  # type: ignore[type-arg]  # bound by each subclass's Meta
    """Refuses an alias that merges a name into itself, into two others, or into a name that is
    itself merged away, with the same messages as a mapping profile."""

    what = "category"

    def _stored(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def _pair(self) -> tuple[str, str] | None:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        pair = self._pair()
        if pair is not None:
            problems = alias_problems([*self._stored(), pair], what=self.what)
            if problems:
                raise forms.ValidationError(problems)
        return cleaned


class ServiceGroupAliasForm(_AliasForm):
    what = "service group"

    class Meta:
        model = ServiceGroupAlias
        fields = ["name", "group"]

    def _stored(self) -> list[tuple[str, str]]:
        rows = ServiceGroupAlias.objects.exclude(pk=self.instance.pk)
        return list(rows.values_list("name", "group"))

    def _pair(self) -> tuple[str, str] | None:
        name, group = self.cleaned_data.get("name"), self.cleaned_data.get("group")
        return (" ".join(name.split()), " ".join(group.split())) if name and group else None


class ServiceAliasForm(_AliasForm):
    what = "request type"

    class Meta:
        model = ServiceAlias
        fields = ["layer", "old_code", "code"]

    def _stored(self) -> list[tuple[str, str]]:
        layer = self.cleaned_data.get("layer")
        rows = ServiceAlias.objects.filter(layer=layer).exclude(pk=self.instance.pk)
        return list(rows.values_list("old_code", "code"))

    def _pair(self) -> tuple[str, str] | None:
        old, code = self.cleaned_data.get("old_code"), self.cleaned_data.get("code")
        if not (old and code and self.cleaned_data.get("layer")):
            return None
        return old.strip(), code.strip()


@admin.action(description="Move imported cases onto the merged categories")
def merge_categories(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
) -> None:
    # Every stored alias, not only the selected: a half-applied set would leave one category
    # split between two names.
    moved = category_aliases_apply()
    modeladmin.message_user(
        request,
        f"{moved.services_regrouped} request type(s) regrouped, {moved.services_merged} merged, "
        f"{moved.cases_moved:,} case(s) moved onto their merged categories.",
        messages.SUCCESS,
    )


@admin.register(ServiceGroupAlias)
class ServiceGroupAliasAdmin(admin.ModelAdmin[ServiceGroupAlias]):
    form = ServiceGroupAliasForm
    list_display = ["name", "group"]
    search_fields = ["name", "group"]
    actions = [merge_categories]


@admin.register(ServiceAlias)
class ServiceAliasAdmin(admin.ModelAdmin[ServiceAlias]):
    form = ServiceAliasForm
    list_display = ["old_code", "code", "layer"]
    list_filter = ["layer"]
    search_fields = ["old_code", "code"]
    actions = [merge_categories]
