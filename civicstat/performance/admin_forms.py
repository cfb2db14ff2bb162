"""The measure form of the admin: filters picked from lists, not typed as JSON.

A measure's filters are stored as the cases API's parameters ({"layer": "311-requests",
"service_group": "Water,Water Leak"}); staff pick layers, service groups, request types,
departments, areas and a status from the city's own lists instead, for the measure's cases and
(for a rate) the cases it divides by. Anything the lists cannot say (a local status code, a text
search) stays in a small "other filters" JSON box, so no stored definition loses a filter by being
opened and saved.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from civicstat.cases.models import Area, Department, Layer, Service
from civicstat.performance.models import Measure
from civicstat.performance.services import measure_validate

# (key in the stored filters, label); each side of a measure gets one list per key.
PICKED = (
    ("layer", "Layers"),
    ("service_group", "Service groups"),
    ("service", "Request types"),
    ("department", "Departments"),
    ("area", "Areas"),
)
SIDES = (("filter", "filters", "The measure's cases"), ("denominator", "denominator_filters",
         "Rate only: the cases to divide by"))  # fmt: skip
FILTER_FIELDS = tuple(
    f"{prefix}_{key}" for prefix, _, _ in SIDES for key in (*(k for k, _ in PICKED), "status",
                                                             "other")
)  # fmt: skip
STATUS_CHOICES = [("", "Open and closed"), ("open", "Open only"), ("closed", "Closed only")]


def _items(value: Any) -> list[str]:
    """A stored filter value as its items: "a,b" and ["a", "b"] both give ["a", "b"]."""
    values = value if isinstance(value, list) else [value]
    return [part.strip() for v in values for part in str(v).split(",") if part.strip()]


def filter_choices() -> dict[str, list[tuple[str, str]]]:
    """The lists staff pick from, by stored filter key. Private request types are left out, as
    the public query builder refuses them."""
    public = Service.objects.filter(private=False)
    groups = sorted({g for g in public.values_list("group", flat=True) if g})
    services: dict[str, str] = {}
    for code, name, layer in public.order_by("name").values_list("code", "name", "layer__name"):
        services.setdefault(code, f"{name} ({layer}, {code})")
    return {
        "layer": [(s, n) for s, n in Layer.objects.values_list("slug", "name")],
        "service_group": [(g, g) for g in groups],
        "service": sorted(services.items(), key=lambda item: item[1].lower()),
        "department": [(s, n) for s, n in Department.objects.values_list("slug", "name")],
        "area": [
            (f"{kind}:{slug}", f"{name} ({kind.replace('-', ' ')})")
            for kind, slug, name in Area.objects.values_list("kind", "slug", "name")
        ],
    }


def _area_keys(items: Iterable[str]) -> list[str]:
    """Stored areas as the lists' kind:slug values (an area may be stored by its id)."""
    out = []
    for item in items:
        if item.isdigit():
            found = Area.objects.filter(id=int(item)).values_list("kind", "slug").first()
            out.append(f"{found[0]}:{found[1]}" if found else item)
        else:
            out.append(item)
    return out


class MeasureForm(forms.ModelForm[Measure]):
    class Meta:
        model = Measure
        # Every editable field but the filters, which are edited through the lists below and
        # written back in clean() (the admin's fieldsets choose what shows).
        fields = [
            f.name for f in Measure._meta.concrete_fields
            if f.editable and not f.primary_key and f.name not in ("filters", "denominator_filters")
        ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = filter_choices()
        for prefix, field, label in SIDES:
            stored = dict(getattr(self.instance, field) or {})
            for key, name in PICKED:
                items = _items(stored.pop(key, []))
                initial = _area_keys(items) if key == "area" else items
                known = {value for value, _ in choices[key]}
                # A stored value no longer on the list (a renamed group) stays visible and chosen,
                # so saving the form does not drop it silently; validation then names it.
                extra = [(v, f"{v} (not found)") for v in initial if v not in known]
                self.fields[f"{prefix}_{key}"] = forms.MultipleChoiceField(
                    label=f"{name}", required=False, choices=choices[key] + extra,
                    initial=initial, widget=forms.SelectMultiple(attrs={"size": 6}),
                    help_text=f"{label}: any of those chosen (none chosen: all).",
                )  # fmt: skip
            status = _items(stored.pop("status", ""))
            self.fields[f"{prefix}_status"] = forms.ChoiceField(
                label="Status", required=False, choices=STATUS_CHOICES,
                initial=status[0] if status and status[0] != "all" else "",
            )  # fmt: skip
            self.fields[f"{prefix}_other"] = forms.CharField(
                label="Other filters (JSON)", required=False,
                initial=json.dumps(stored) if stored else "",
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text='Rarely needed: cases API parameters the lists do not cover, such as '
                '{"local_status": "RESOL"}.',
            )  # fmt: skip

    def picked_filters(self, prefix: str) -> dict[str, Any]:
        """One side's filters as stored: the chosen items comma-joined, then the other filters."""
        data = self.cleaned_data
        out: dict[str, Any] = {}
        for key, _ in PICKED:
            if chosen := data.get(f"{prefix}_{key}"):
                out[key] = ",".join(chosen)
        if status := data.get(f"{prefix}_status"):
            out["status"] = status
        other = (data.get(f"{prefix}_other") or "").strip()
        if other:
            try:
                extra = json.loads(other)
            except json.JSONDecodeError as error:
                raise ValidationError(
                    {f"{prefix}_other": f"This is not JSON: {error.msg}."}
                ) from None
            if not isinstance(extra, dict):
                raise ValidationError(
                    {f"{prefix}_other": 'Write a JSON object, such as {"local_status": "RESOL"}.'}
                )
            clash = sorted(set(extra) & set(out))
            if clash:
                raise ValidationError(
                    {f"{prefix}_other": f"Pick {', '.join(clash)} from the lists."}
                )
            out.update(extra)
        return out

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for prefix, field, _ in SIDES:
            try:
                setattr(self.instance, field, self.picked_filters(prefix))
            except ValidationError as error:
                for name, problems in error.message_dict.items():
                    self.add_error(name, problems)
        values = {k: v for k, v in data.items() if k in _FIELD_NAMES}
        candidate = Measure(**values, filters=self.instance.filters,
                            denominator_filters=self.instance.denominator_filters)  # fmt: skip
        try:
            measure_validate(measure=candidate)
        except ValidationError as error:
            sides = {field: label for _, field, label in SIDES}
            for field, problems in error.message_dict.items():
                if field in sides:  # edited through the lists: say which side is wrong
                    self.add_error(None, [f"{sides[field]}: {p}" for p in problems])
                else:
                    self.add_error(field if field in self.fields else None, problems)
        return data


# The pickers are declared on the class (the admin's fieldsets name them, and a ModelForm accepts
# only model or declared fields); their choices and initial values are filled in per form.
for _name in FILTER_FIELDS:
    _field: forms.Field = forms.CharField(required=False)
    MeasureForm.base_fields[_name] = MeasureForm.declared_fields[_name] = _field

_FIELD_NAMES = {f.name for f in Measure._meta.concrete_fields} - {"filters", "denominator_filters"}
