from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from civicstat.ingest.models import ImportRun, RecordWarning, RejectedRow, SyncRun, SyncSource


class _ReadOnlyInline(admin.TabularInline[Any, Any]):
    extra = 0
    can_delete = False
    max_num = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RejectedRowInline(_ReadOnlyInline):
    model = RejectedRow
    fk_name = "run"
    verbose_name_plural = "rejected rows (each with its reason)"
    fields = readonly_fields = ("line", "external_id", "reason")


class RecordWarningInline(_ReadOnlyInline):
    model = RecordWarning
    fk_name = "run"
    verbose_name_plural = "warnings (values left out of stored rows, and notes on the run)"
    fields = readonly_fields = ("line", "external_id", "field", "value", "reason")


class SyncRejectInline(RejectedRowInline):
    fk_name = "sync_run"
    verbose_name_plural = "rejected records (each with its reason; line is the record's number)"


class SyncWarningInline(RecordWarningInline):
    fk_name = "sync_run"
    verbose_name_plural = "warnings (values left out of stored records, and notes on the run)"


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin[ImportRun]):
    list_display = ["file_name", "profile", "state", "started_at", "rows_read", "created",
                    "updated", "unchanged", "rejected", "warnings"]  # fmt: skip
    list_filter = ["state", "profile"]
    readonly_fields = [f.name for f in ImportRun._meta.fields]
    inlines = [RejectedRowInline, RecordWarningInline]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(RejectedRow)
class RejectedRowAdmin(admin.ModelAdmin[RejectedRow]):
    list_display = ["run", "sync_run", "line", "external_id", "reason"]
    list_filter = ["run", "sync_run__source"]
    search_fields = ["external_id", "reason"]
    readonly_fields = ["run", "sync_run", "line", "external_id", "reason", "raw"]


@admin.register(RecordWarning)
class RecordWarningAdmin(admin.ModelAdmin[RecordWarning]):
    list_display = ["run", "sync_run", "line", "external_id", "field", "value", "reason"]
    list_filter = ["run", "sync_run__source"]
    search_fields = ["external_id", "field", "reason"]
    readonly_fields = ["run", "sync_run", "line", "external_id", "field", "value", "reason"]


@admin.register(SyncSource)
class SyncSourceAdmin(admin.ModelAdmin[SyncSource]):
    list_display = ["name", "kind", "url", "layer", "every_minutes", "enabled", "last_run_at"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["last_run_at"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin[SyncRun]):
    list_display = ["source", "state", "started_at", "duration", "pages", "fetched", "created",
                    "updated", "unchanged", "rejected", "warnings", "events",
                    "retries"]  # fmt: skip
    list_filter = ["state", "source"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]
    inlines = [SyncRejectInline, SyncWarningInline]

    def has_add_permission(self, request: object) -> bool:
        return False
