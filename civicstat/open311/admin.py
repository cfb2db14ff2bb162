from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from civicstat.cases.services import data_version_bump
from civicstat.cases.signals import ChangeScope
from civicstat.open311.models import ApiKey, ServiceAttribute, ServiceType
from civicstat.open311.services import api_key_issue, api_key_revoke


class _ChangesPublicDocuments[M: Model](admin.ModelAdmin[M]):
    """services.json and service definitions carry a data-version ETag: an edit must change it,
    or clients holding the old document keep getting 304 Not Modified. No case changed, so the
    change scope is empty: nothing is recomputed."""

    def save_model(self, request: HttpRequest, obj: M, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        data_version_bump(ChangeScope())

    def delete_model(self, request: HttpRequest, obj: M) -> None:
        super().delete_model(request, obj)
        data_version_bump(ChangeScope())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[M]) -> None:
        super().delete_queryset(request, queryset)
        data_version_bump(ChangeScope())


@admin.register(ServiceAttribute)
class ServiceAttributeAdmin(_ChangesPublicDocuments[ServiceAttribute]):
    list_display = ["service", "code", "datatype", "required", "order"]
    list_filter = ["datatype", "required"]
    search_fields = ["code", "service__code", "service__name"]
    autocomplete_fields = ["service"]


@admin.register(ServiceType)
class ServiceTypeAdmin(_ChangesPublicDocuments[ServiceType]):
    """Staff choose what a POST to a service answers: its id at once, a token, or neither."""

    list_display = ["service", "type"]
    list_editable = ["type"]
    list_filter = ["type"]
    search_fields = ["service__code", "service__name"]
    autocomplete_fields = ["service"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", *readonly_fields]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ModelForm[ApiKey],
                   change: bool) -> None:  # fmt: skip
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = api_key_issue(name=obj.name)
        obj.pk = key.pk
        obj.refresh_from_db()
        # Held by this request alone, for response_add: a message would put it in the messages
        # cookie (signed, not encrypted) or the session, stored beyond this one answer.
        request._issued_api_key = raw  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: ApiKey,
                     post_url_continue: str | None = None) -> HttpResponse:  # fmt: skip
        """The answer to the form's POST shows the new key, the only time it is ever shown (only
        its hash is stored); no browser or proxy may keep the page."""
        raw = getattr(request, "_issued_api_key", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": f"The new API key for {obj.name}",
            "opts": self.opts,
            "key": obj,
            "raw": raw,
        }
        response = TemplateResponse(request, "admin/open311/apikey/issued.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            api_key_revoke(key=key)
        messages.success(request, f"Revoked {queryset.count()} key(s).")
