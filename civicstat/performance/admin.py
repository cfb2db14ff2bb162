"""Staff edit priority areas, goals and measures here, with drafts and publishing.

Permissions are Django's own (groups carry "change measure" and friends); on top of them, a user
who is not a superuser sees and edits only the measures of the departments in their
`StaffProfile`, and may only assign those departments.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html

from civicstat.cases.models import Department
from civicstat.cases.services import data_version_touch
from civicstat.lib.periods import period_of
from civicstat.performance.admin_forms import FILTER_FIELDS, MeasureForm
from civicstat.performance.models import (
    Goal,
    Measure,
    MeasureTarget,
    MeasureValue,
    PriorityArea,
    StaffProfile,
    Status,
    Survey,
    SurveyItem,
)
from civicstat.performance.preview import preview_response
from civicstat.performance.services import (
    measure_refresh,
    measure_values_set,
    read_values_csv,
)
from civicstat.performance.templatetags.performance import measure_value


def staff_departments(user: Any) -> QuerySet[Department] | None:
    """The departments a user may edit measures of; None means all (superusers)."""
    if user.is_superuser:
        return None
    return Department.objects.filter(staff__user=user)


class TargetInline(admin.TabularInline[MeasureTarget, Measure]):
    model = MeasureTarget
    extra = 0


class ValuesUploadForm(forms.Form):
    file = forms.FileField(
        help_text="A CSV with the columns period (2024-03, or FY2024) and value."
    )


@admin.register(Measure)
class MeasureAdmin(admin.ModelAdmin[Measure]):
    form = MeasureForm
    # The goal is left out to leave room for the figures (filter by priority area instead).
    list_display = ("title", "latest_value", "latest_period", "latest_status",
                    "computed", "department", "published")  # fmt: skip
    list_filter = ("published", "goal__area", "department", "calculation")
    search_fields = ("title", "short_name", "slug")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [TargetInline]
    actions = ["publish", "unpublish", "refresh"]
    fieldsets = [
        (None, {"fields": ("goal", "title", "short_name", "slug", "description", "department",
                           "position", "published")}),
        ("Unit and period", {"fields": ("unit", "decimals", "direction", "period",
                                        "fiscal_year_start_month", "start_date")}),
        ("Calculation", {"fields": ("calculation", "target_days", "attribute",
                                    "values_upload")}),
        ("Which cases it counts", {"fields": FILTER_FIELDS[:7]}),
        ("Rate only: what it divides by", {"fields": (*FILTER_FIELDS[7:], "fixed_denominator")}),
        ("Target and status", {"fields": ("target", "status_rule", "manual_status",
                                          "on_track_band", "near_band")}),
        ("Narratives (Markdown)", {"fields": ("methods", "analysis")}),
    ]  # fmt: skip

    readonly_fields = ("values_upload",)
    change_form_template = "performance/admin_measure_change_form.html"

    # ---- The list: what the public sees now, before anyone opens a measure ----------------------

    @admin.display(description="Latest value")
    def latest_value(self, obj: Measure) -> str:
        if obj.withheld:
            return "Being recomputed"
        value = getattr(obj, "latest_value_", None)
        return measure_value(value, obj) if value is not None else "—"

    @admin.display(description="Period", ordering="latest_start_")
    def latest_period(self, obj: Measure) -> str:
        start = getattr(obj, "latest_start_", None)
        if start is None:
            return "—"
        label = period_of(start, obj.period, obj.fiscal_start).label
        partial = getattr(obj, "partial_start_", None)
        if partial is not None and partial > start:
            label += f" ({period_of(partial, obj.period, obj.fiscal_start).label} partial)"
        return label

    @admin.display(description="Status")
    def latest_status(self, obj: Measure) -> str:
        status = getattr(obj, "latest_status_", None)
        if status is None:
            return "No data"
        return Status(status).label if status in Status.values else status

    @admin.display(description="Computed", ordering="computed_at_")
    def computed(self, obj: Measure) -> Any:
        return getattr(obj, "computed_at_", None) or "Never"

    @admin.display(description="Manual values")
    def values_upload(self, obj: Measure) -> str:
        if obj.pk is None or obj.calculation != "manual":
            return "Computed from the data (manual measures take uploaded values)."
        url = reverse("admin:performance_measure_upload", args=[obj.pk])
        return format_html('<a href="{}">Upload values from a CSV</a>', url)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Measure]:
        qs = super().get_queryset(request).select_related("goal", "department")
        # The latest complete value (as the public cards show it), the newest partial period and
        # when the values were computed: a subquery each, not a query per row of the list.
        values = MeasureValue.objects.filter(measure=OuterRef("pk")).order_by("-period_start")
        latest = values.filter(partial=False, value__isnull=False)
        qs = qs.annotate(
            latest_value_=Subquery(latest.values("value")[:1]),
            latest_start_=Subquery(latest.values("period_start")[:1]),
            latest_status_=Subquery(latest.values("status")[:1]),
            partial_start_=Subquery(values.filter(partial=True).values("period_start")[:1]),
            computed_at_=Subquery(values.values("computed_at")[:1]),
        )
        allowed = staff_departments(request.user)
        return qs if allowed is None else qs.filter(department__in=allowed)

    def _may_edit(self, request: HttpRequest, obj: Measure | None) -> bool:
        allowed = staff_departments(request.user)
        if obj is None or allowed is None:
            return True
        return obj.department_id is not None and allowed.filter(id=obj.department_id).exists()

    def has_change_permission(self, request: HttpRequest, obj: Measure | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Measure | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "department":
            allowed = staff_departments(request.user)
            if allowed is not None:
                kwargs["queryset"] = allowed
                kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        measure_refresh(measure=form.instance)  # targets may have changed with the inline

    @admin.action(description="Publish the selected measures")
    def publish(self, request: HttpRequest, queryset: QuerySet[Measure]) -> None:
        data_version_touch()  # an update() sends no post_save: public pages must still move
        self.message_user(request, f"Published {queryset.update(published=True)} measures.")

    @admin.action(description="Move the selected measures back to draft")
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Measure]) -> None:
        data_version_touch()  # a draft must leave every cached page at once
        self.message_user(request, f"{queryset.update(published=False)} measures are drafts now.")

    @admin.action(description="Recompute the selected measures now")
    def refresh(self, request: HttpRequest, queryset: QuerySet[Measure]) -> None:
        for measure in queryset:
            measure_refresh(measure=measure)
        self.message_user(request, f"Recomputed {queryset.count()} measures.")

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:  # fmt: skip
        """ "Preview values" on the form computes the values of the definition as entered and
        shows them, saving nothing; an invalid definition goes back to the form with its errors."""
        if request.method == "POST" and "_preview" in request.POST:
            response = preview_response(self, request, object_id)
            if response is not None:
                return response
        response = super().changeform_view(request, object_id, form_url, extra_context)
        assert isinstance(response, HttpResponse)
        return response

    def get_urls(self) -> list[Any]:
        upload = self.admin_site.admin_view(self.upload_values)
        return [path("<int:pk>/upload/", upload, name="performance_measure_upload"),
                *super().get_urls()]  # fmt: skip

    def upload_values(self, request: HttpRequest, pk: int) -> HttpResponse:
        """A manual measure's values from a CSV: every row checked before any is stored."""
        measure = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, measure):
            return HttpResponse("You may not change this measure.", status=403)
        form = ValuesUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                text = form.cleaned_data["file"].read().decode("utf-8")
                rows = read_values_csv(measure=measure, text=text)
                count = measure_values_set(measure=measure, rows=rows)
            except (UnicodeDecodeError, ValueError) as error:
                form.add_error("file", f"{error}. No value was saved.")
            else:
                self.message_user(request, f"Stored {count} values.", messages.SUCCESS)
                url = reverse("admin:performance_measure_change", args=[measure.pk])
                return HttpResponseRedirect(url)
        context = {**self.admin_site.each_context(request), "form": form, "measure": measure,
                   "opts": self.model._meta, "title": f"Upload values for {measure}"}  # fmt: skip
        status = 400 if form.errors else 200
        return render(request, "performance/admin_upload.html", context, status=status)


@admin.register(MeasureValue)
class MeasureValueAdmin(admin.ModelAdmin[MeasureValue]):
    list_display = ("measure", "period_start", "value", "target", "status", "source", "computed_at")
    list_filter = ("source", "status")

    def get_queryset(self, request: HttpRequest) -> QuerySet[MeasureValue]:
        qs = super().get_queryset(request).select_related("measure")
        allowed = staff_departments(request.user)
        return qs if allowed is None else qs.filter(measure__department__in=allowed)


class GoalInline(admin.StackedInline[Goal, PriorityArea]):
    model = Goal
    extra = 0
    prepopulated_fields = {"slug": ("title",)}


@admin.register(PriorityArea)
class PriorityAreaAdmin(admin.ModelAdmin[PriorityArea]):
    list_display = ("name", "position")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [GoalInline]


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin[Goal]):
    list_display = ("title", "area", "position")
    list_filter = ("area",)
    prepopulated_fields = {"slug": ("title",)}


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin[StaffProfile]):
    list_display = ("user",)
    filter_horizontal = ("departments",)


# ---- Resident surveys ---------------------------------------------------------------------------


class SurveyItemInline(admin.TabularInline[SurveyItem, Survey]):
    """The items as imported: `import_survey` owns them (a re-import replaces them), so they are
    read here; each item's measure (its values, publishing) is edited on the measure's page."""

    model = SurveyItem
    fields = readonly_fields = ("category", "name", "kind", "measure")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Survey | None = None) -> bool:
        return False


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin[Survey]):
    list_display = ("name", "conducted_by", "report", "imported_at")
    readonly_fields = ("slug", "imported_at")
    inlines = [SurveyItemInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a survey comes from its file: manage.py import_survey
