"""Categories that survive a renaming: the checks, readers and writes of request type and service
group aliases (`ServiceAlias`, `ServiceGroupAlias`).

A mapping profile's `[service_groups]` / `[request_types]` tables and the admin say that an old
name and a new one are one category. Ingest files a case under the merged category (keeping the
source's own name in the case's attributes), `category_aliases_apply` moves cases imported before
the alias existed, and the query builder reads a filter on either name as the merged category, so
measures, the map, the department pages and the alerts count one category.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction

from civicstat.cases.models import Case, Layer, Service, ServiceAlias, ServiceGroupAlias
from civicstat.cases.signals import ChangeScope

# The attributes a merged case keeps its source's own names in.
SOURCE_GROUP_ATTRIBUTE = "source_service_group"
SOURCE_CODE_ATTRIBUTE = "source_service_code"


class AliasError(ValueError):
    """Aliases that cannot be used together; the message says which and why."""


def alias_problems(pairs: Iterable[tuple[str, str]], *, what: str) -> list[str]:
    """What is wrong with a set of (old name, merged name) aliases: a name merged into itself,
    into two others, or into a name that is itself merged away (write the last name instead)."""
    problems: list[str] = []
    targets: dict[str, str] = {}
    for old, new in pairs:
        if not old.strip() or not new.strip():
            problems.append(f"a {what} alias needs an old name and a merged name, not {old!r}")
        elif old == new:
            problems.append(f"the {what} {old!r} cannot be merged into itself")
        elif old in targets and targets[old] != new:
            problems.append(
                f"the {what} {old!r} cannot be merged into two others "
                f"({targets[old]!r} and {new!r}); choose one"
            )
        else:
            targets[old] = new
    for old, new in targets.items():
        if new in targets:
            problems.append(
                f"the {what} {old!r} is merged into {new!r}, which is itself merged into "
                f"{targets[new]!r}; merge {old!r} into the last name"
            )
    return problems


def group_aliases() -> dict[str, str]:
    """Old service group name → merged name."""
    return dict(ServiceGroupAlias.objects.values_list("name", "group"))


def service_aliases() -> dict[tuple[int, str], str]:
    """(layer id, old request type code) → merged code."""
    return {
        (layer, old): code
        for layer, old, code in ServiceAlias.objects.values_list("layer_id", "old_code", "code")
    }


def alias_pairs() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Every (old, merged) pair of request type codes and of service group names, read once for
    a reader that checks many filters (the alerts matcher)."""
    codes = list(ServiceAlias.objects.values_list("old_code", "code").distinct())
    return codes, list(ServiceGroupAlias.objects.values_list("name", "group"))


def names_merged(names: Iterable[str], aliases: Iterable[tuple[str, str]]) -> list[str]:
    """`_merged` for names given as any iterable (a subscription's stored list)."""
    return _merged(list(names), aliases)


def _merged(names: Sequence[str], aliases: Iterable[tuple[str, str]]) -> list[str]:
    """Every name of the categories `names` mean: each one's merged name and all its old names,
    so a filter matches whether or not its cases have been moved yet."""
    pairs = list(aliases)
    if not pairs:
        return list(names)
    forward = dict(pairs)
    wanted = {forward.get(n, n) for n in names}
    found = dict.fromkeys(names)
    found.update(dict.fromkeys(sorted(wanted)))
    found.update(dict.fromkeys(sorted(old for old, new in pairs if new in wanted)))
    return list(found)


def groups_merged(groups: Sequence[str]) -> list[str]:
    """The service group names a filter on `groups` matches (`_merged`)."""
    if not groups:
        return []
    return _merged(groups, ServiceGroupAlias.objects.values_list("name", "group"))


def codes_merged(codes: Sequence[str]) -> list[str]:
    """The request type codes a filter on `codes` matches (`_merged`, over every layer)."""
    if not codes:
        return []
    return _merged(codes, ServiceAlias.objects.values_list("old_code", "code"))


def category_aliases_store(
    *, layers: Sequence[Layer], groups: dict[str, str], request_types: dict[str, str]
) -> int:
    """Record a mapping profile's aliases (`request_types` for each of `layers`). Refused
    (`AliasError`) when the stored aliases and these together would merge a name into itself,
    into two others or into a merged-away name: an alias is changed in the admin, where its
    cases can be seen, not by a file that says otherwise. Returns how many were added."""
    stored = group_aliases()
    problems = alias_problems([*stored.items(), *groups.items()], what="service group")
    by_layer = service_aliases()
    for layer in layers:
        codes = [(old, new) for (lid, old), new in by_layer.items() if lid == layer.pk]
        problems += alias_problems([*codes, *request_types.items()], what="request type")
    if problems:
        raise AliasError(
            "; ".join(dict.fromkeys(problems))
            + " (stored aliases are listed in the admin under Service group aliases and Request "
            "type aliases)"
        )
    changed = 0
    with transaction.atomic():
        for old, new in groups.items():
            if stored.get(old) != new:
                ServiceGroupAlias.objects.get_or_create(name=old, defaults={"group": new})
                changed += 1
        for layer in layers:
            for old, new in request_types.items():
                if by_layer.get((layer.pk, old)) != new:
                    ServiceAlias.objects.get_or_create(
                        layer=layer, old_code=old, defaults={"code": new}
                    )
                    changed += 1
    return changed


@dataclass
class AliasMove:
    """What `category_aliases_apply` moved."""

    services_regrouped: int = 0
    services_merged: int = 0
    cases_moved: int = 0
    moved: list[str] = field(default_factory=list)  # "old → new (n cases)", for the report


def category_aliases_apply() -> AliasMove:
    """File every stored case under its merged category, in one transaction: a request type
    whose group is an old name takes the merged group; the cases of a request type whose code is
    an old one move to the merged request type (created if the layer has none yet), keeping the
    old code in their attributes, and the emptied request type is deleted. The rollups and map
    cells of the moved cases are brought in line and the data version moves."""
    from civicstat.cases.rollups import RollupDelta
    from civicstat.cases.services import data_version_bump
    from civicstat.maps.cells import CellDelta

    result = AliasMove()
    groups = group_aliases()
    codes = service_aliases()
    with transaction.atomic():
        scope_layers: set[int] = set()
        scope_services: set[int] = set()
        scope_departments: set[int] = set()
        for service in Service.objects.filter(group__in=list(groups)).select_for_update():
            old_group = service.group
            service.group = groups[old_group]
            service.save(update_fields=["group"])
            _source_names_keep(service, SOURCE_GROUP_ATTRIBUTE, old_group)
            result.services_regrouped += 1
            result.moved.append(f"group {old_group!r} → {service.group!r} ({service.code})")
            scope_layers.add(service.layer_id)
            scope_services.add(service.pk)
        delta, cells = RollupDelta(), CellDelta()
        with connection.cursor() as cursor:
            for (layer_id, old_code), code in sorted(codes.items()):
                old = Service.objects.filter(layer_id=layer_id, code=old_code).first()
                if old is None:
                    continue
                target = _merged_service(old=old, code=code, groups=groups)
                moved = _cases_move(cursor, old=old, target=target, delta=delta, cells=cells)
                result.cases_moved += moved
                result.services_merged += 1
                result.moved.append(f"request type {old_code!r} → {code!r} ({moved} cases)")
                scope_layers.add(layer_id)
                scope_services.update((old.pk, target.pk))
                scope_departments.update((old.department_id or 0, target.department_id or 0))
                if not old.attributes.exists():  # Open311 attributes staff wrote stay
                    old.delete()
            delta.apply()
            cells.apply(cursor)
        if result.services_regrouped or result.services_merged:
            data_version_bump(
                ChangeScope(
                    layers=frozenset(scope_layers),
                    services=frozenset(scope_services),
                    departments=frozenset(scope_departments),
                )
            )
    return result


def _merged_service(*, old: Service, code: str, groups: dict[str, str]) -> Service:
    target, _ = Service.objects.get_or_create(
        layer_id=old.layer_id,
        code=code,
        defaults={
            "name": code if old.name == old.code else old.name,
            "group": groups.get(old.group, old.group),
            "department_id": old.department_id,
            "private": old.private,
        },
    )
    return target


def _cases_move(
    cursor: object, *, old: Service, target: Service, delta: object, cells: object
) -> int:
    """Move `old`'s cases onto `target`, counting them out of and into the rollups and cells."""
    from civicstat.cases.rollups import RollupDelta
    from civicstat.cases.services import _areas_of
    from civicstat.maps.cells import CellDelta

    assert isinstance(delta, RollupDelta) and isinstance(cells, CellDelta)  # noqa: S101 - typed
    rows = list(
        Case.objects.filter(service=old).values_list(
            "id", "layer_id", "department_id", "status_group", "requested_day", "closed_day",
            "close_bucket",
        )
    )  # fmt: skip
    if not rows:
        return 0
    ids = [r[0] for r in rows]
    areas = _areas_of(cursor, ids)
    cells.count_stored(cursor, ids, sign=-1)
    for case_id, layer_id, dept, group, rday, cday, bucket in rows:
        for sign, service_id in ((-1, old.pk), (1, target.pk)):
            delta.add_case(sign=sign, layer_id=layer_id, service_id=service_id,
                           department_id=dept, area_ids=areas.get(case_id, set()),
                           status_group=group, requested_day=rday, closed_day=cday,
                           close_bucket=bucket)  # fmt: skip
    _source_names_keep(old, SOURCE_CODE_ATTRIBUTE, old.code, service_id=target.pk)
    cells.count_stored(cursor, ids, sign=1)
    return len(rows)


def _source_names_keep(
    service: Service, attribute: str, name: str, *, service_id: int | None = None
) -> None:
    """Write the source's own name into the attributes of `service`'s cases (unless one is kept
    there already), and move them to `service_id` when given."""
    batch: list[Case] = []
    for case in Case.objects.filter(service=service).only("id", "attributes").iterator(2000):
        attributes = dict(case.attributes or {})
        attributes.setdefault(attribute, name)
        case.attributes = attributes
        if service_id is not None:
            case.service_id = service_id
        batch.append(case)
    fields = ["attributes"] if service_id is None else ["service", "attributes"]
    Case.objects.bulk_update(batch, fields, batch_size=1000)
