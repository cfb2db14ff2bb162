"""Staff see counts, the outbox and failures; addresses show only where staff must act on them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from civicstat.alerts.models import Delivery, OutboxItem, Subscriber, Subscription
from civicstat.alerts.services import subscriber_enable


class BouncedFilter(admin.SimpleListFilter):
    title = "mail bounced"
    parameter_name = "bounced"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Bounced: alerts stopped"), ("no", "Receiving alerts")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(disabled_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(disabled_at__isnull=True)
        return queryset


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin[Subscriber]):
    list_display = ("__str__", "subscription_count", "created_at", "disabled_at", "bounce_reason")
    list_filter = (BouncedFilter,)
    readonly_fields = ("created_at", "bounce_reason")
    search_fields = ("email",)
    actions = ["enable"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A bounce stops an address's alerts silently for the resident: staff are told here."""
        bounced = Subscriber.objects.filter(disabled_at__isnull=False).count()
        # On GET only: a notice queued while an action POSTs would show, stale, after it.
        if (
            bounced
            and request.method == "GET"
            and request.GET.get(BouncedFilter.parameter_name) != "yes"
        ):
            said = (
                "address has bounced for good and gets"
                if bounced == 1
                else "addresses have bounced for good and get"
            )
            self.message_user(
                request,
                format_html(
                    '{} {} no alerts. <a href="?{}=yes">Show them</a>',
                    bounced,
                    said,
                    BouncedFilter.parameter_name,
                ),
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description="Re-enable (the address accepts mail again)")
    def enable(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        for subscriber in queryset.filter(disabled_at__isnull=False):
            subscriber_enable(subscriber=subscriber)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        return super().get_queryset(request).annotate(n=Count("subscriptions"))

    @admin.display(description="alerts", ordering="n")
    def subscription_count(self, obj: Subscriber) -> int:
        return int(obj.n)  # type: ignore[attr-defined]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    list_display = ("__str__", "kind", "frequency", "confirmed_at", "created_at")
    list_filter = ("kind", "frequency", ("confirmed_at", admin.EmptyFieldListFilter))
    raw_id_fields = ("subscriber", "case", "area")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    list_display = ("__str__", "kind", "state", "attempts", "next_attempt_at", "last_error")
    list_filter = ("state", "kind")
    raw_id_fields = ("subscriber", "subscription")
    actions = ["requeue"]

    @admin.action(description="Send again (interrupted or failed deliveries)")
    def requeue(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        queryset.exclude(state=Delivery.State.SENT).update(state=Delivery.State.PENDING)


@admin.register(OutboxItem)
class OutboxItemAdmin(admin.ModelAdmin[OutboxItem]):
    list_display = ("__str__", "kind", "created_at", "delivery")
    list_filter = ("kind",)
    raw_id_fields = ("subscription", "case", "event", "delivery")
