from __future__ import annotations

from django.db import models

from civicstat.cases.models import Case, Service


class Datatype(models.TextChoices):
    STRING = "string", "String"
    NUMBER = "number", "Number"
    DATETIME = "datetime", "Date and time"
    TEXT = "text", "Text"
    SINGLE = "singlevaluelist", "One of a list"
    MULTI = "multivaluelist", "Several of a list"


class ServiceKind(models.TextChoices):
    """What a POST to the service answers (the spec's service "type")."""

    REALTIME = "realtime", "Realtime: the answer carries the new request's id"
    BATCH = "batch", "Batch: the answer carries a token; the id is looked up by token"
    BLACKBOX = "blackbox", "Blackbox: the answer carries neither id nor token"


class ServiceType(models.Model):
    """How the Open311 server answers posts to one service; a service without one is realtime."""

    service = models.OneToOneField(
        Service, primary_key=True, on_delete=models.CASCADE, related_name="open311_type"
    )
    type = models.CharField(max_length=10, choices=ServiceKind.choices,
                            default=ServiceKind.REALTIME)  # fmt: skip

    class Meta:
        verbose_name = "Open311 service type"

    def __str__(self) -> str:
        return f"{self.service.code}: {self.type}"


class ServiceAttribute(models.Model):
    """A question a client asks when posting a request of this service (Open311 "attribute")."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="attributes")
    code = models.CharField(max_length=100)
    variable = models.BooleanField(
        default=True, help_text="Off for a note shown to the reporter that takes no answer."
    )
    datatype = models.CharField(max_length=20, choices=Datatype.choices, default=Datatype.STRING)
    required = models.BooleanField(default=False)
    datatype_description = models.CharField(max_length=255, blank=True)
    order = models.PositiveSmallIntegerField(default=1, help_text="1 is asked first.")
    description = models.TextField(help_text="The question, as the reporter reads it.")
    values = models.JSONField(
        default=list,
        blank=True,
        help_text='For lists: [{"key": "123", "name": "Truck"}, …].',
    )

    class Meta:
        ordering = ["service", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["service", "code"], name="attribute_unique_per_service")
        ]

    def __str__(self) -> str:
        return f"{self.service.code}: {self.code}"

    def value_keys(self) -> set[str]:
        return {str(v.get("key")) for v in self.values if isinstance(v, dict)}


class ApiKey(models.Model):
    """A key that lets one client post requests. Only a hash is kept: the key is shown once."""

    name = models.CharField(max_length=150, help_text="Who holds it: the app or partner.")
    prefix = models.CharField(max_length=8, editable=False, help_text="Its first characters.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class RequestToken(models.Model):
    """The token a POST answers with, so a client can look up its request id later."""

    token = models.CharField(max_length=64, unique=True)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="open311_tokens"
    )
    api_key = models.ForeignKey(ApiKey, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.token
