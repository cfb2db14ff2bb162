from __future__ import annotations

from django.contrib import admin

from civicstat.ingest.models import ImportRun, RejectedRow, SyncRun, SyncSource


class RejectedRowInline(admin.TabularInline[RejectedRow, ImportRun]):
    model = RejectedRow
    extra = 0
    fields = ("line", "external_id", "reason")
    readonly_fields = ("line", "external_id", "reason")
    can_delete = False
    max_num = 0
    show_change_link = True


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin[ImportRun]):
    list_display = ["file_name", "profile", "state", "started_at", "rows_read", "created",
                    "updated", "unchanged", "rejected"]  # fmt: skip
    list_filter = ["state", "profile"]
    readonly_fields = [f.name for f in ImportRun._meta.fields]
    inlines = [RejectedRowInline]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(RejectedRow)
class RejectedRowAdmin(admin.ModelAdmin[RejectedRow]):
    list_display = ["run", "line", "external_id", "reason"]
    list_filter = ["run"]
    search_fields = ["external_id", "reason"]
    readonly_fields = ["run", "line", "external_id", "reason", "raw"]


@admin.register(SyncSource)
class SyncSourceAdmin(admin.ModelAdmin[SyncSource]):
    list_display = ["name", "kind", "url", "layer", "every_minutes", "enabled", "last_run_at"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["last_run_at"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin[SyncRun]):
    list_display = ["source", "state", "started_at", "duration", "pages", "fetched", "created",
                    "updated", "events", "retries"]  # fmt: skip
    list_filter = ["state", "source"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
