"""Categories that survive a renaming: an old request type or service group named as a new one.

Kansas City renamed its 311 categories in June 2015 ("Animal" became "Animals / Pets"); without an
alias every figure that filters on one spelling goes silent on the other side of the change. An
alias is merged at ingest (the case is filed under the merged category, the source's own name kept
in its attributes), and `category_aliases_apply` moves cases imported before the alias existed.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from civicstat.cases.models.core import Layer


class ServiceGroupAlias(models.Model):
    """An old name of a service group ("Water Leak") that means the group `group` ("Water")."""

    name = models.CharField(max_length=150, unique=True, help_text='The old name: "Animal".')
    group = models.CharField(max_length=150, help_text='The merged group: "Animals / Pets".')

    class Meta:
        ordering = ["group", "name"]
        verbose_name = "service group alias"
        verbose_name_plural = "service group aliases"
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=F("group")), name="service_group_alias_not_itself"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.group}"


class ServiceAlias(models.Model):
    """An old request type code of a layer that means the request type `code` of that layer."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="service_aliases")
    old_code = models.CharField(max_length=100, help_text="The old request type's code.")
    code = models.CharField(max_length=100, help_text="The code of the merged request type.")

    class Meta:
        ordering = ["layer", "code", "old_code"]
        verbose_name = "request type alias"
        verbose_name_plural = "request type aliases"
        constraints = [
            models.UniqueConstraint(fields=["layer", "old_code"], name="service_alias_unique"),
            models.CheckConstraint(
                condition=~Q(old_code=F("code")), name="service_alias_not_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.old_code} → {self.code}"
