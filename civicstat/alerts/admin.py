"""Staff see counts, the outbox and failures; addresses show only where staff must act on them."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from civicstat.alerts.models import Delivery, OutboxItem, Subscriber, Subscription


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin[Subscriber]):
    list_display = ("__str__", "subscription_count", "created_at", "disabled_at", "bounce_reason")
    list_filter = (("disabled_at", admin.EmptyFieldListFilter),)
    readonly_fields = ("created_at", "bounce_reason")
    search_fields = ("email",)

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
