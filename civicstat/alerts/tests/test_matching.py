"""The h3 radius index finds exactly the pairs a brute-force distance check finds."""

from __future__ import annotations

import random

import pytest

from civicstat.alerts import matcher
from civicstat.alerts.matching import NewCase, RadiusIndex
from civicstat.alerts.models import Subscription, SubscriptionKind
from civicstat.alerts.services import (
    subscription_confirm,
    subscription_create,
    subscription_update,
)
from civicstat.lib.geo import haversine_m


@pytest.mark.parametrize(
    "lat", [39.1, 61.2, -33.9, 0.5]
)  # Kansas City, Anchorage, Cape Town, equator
def test_the_index_agrees_with_brute_force(lat):
    """Every subscription within its radius of a case is found, and nothing else, wherever h3's
    cells are stretched."""
    rng = random.Random(int(lat * 10))
    lon = -94.5 if lat > 0 else 18.4
    subs = [
        (rng.uniform(lat - 0.1, lat + 0.1), rng.uniform(lon - 0.1, lon + 0.1),
         rng.choice([100, 250, 500, 1000, 2000, 5000]))
        for _ in range(3000)
    ]  # fmt: skip
    index = RadiusIndex(
        ids=list(range(len(subs))), lats=[s[0] for s in subs], lons=[s[1] for s in subs],
        radii=[s[2] for s in subs], layer_masks=[0] * len(subs),
        include_closed=[False] * len(subs), service_filters={},
    )  # fmt: skip
    new = [
        NewCase(case_id=i, lat=rng.uniform(lat - 0.1, lat + 0.1),
                lon=rng.uniform(lon - 0.1, lon + 0.1), layer_id=1, service_code="",
                service_group="", closed=False)
        for i in range(200)
    ]  # fmt: skip
    sub_ids, case_ids, _ = index.match(new)
    found = set(zip(sub_ids.tolist(), case_ids.tolist(), strict=True))
    expected = {
        (s, c.case_id)
        for c in new
        for s, (slat, slon, r) in enumerate(subs)
        if haversine_m(slat, slon, c.lat, c.lon) <= r
    }
    assert expected and found == expected


def test_layer_closed_and_service_filters_narrow_the_matches():
    """A subscription for code violations only, or without closed news, or for one request type,
    hears of nothing else."""
    here = (39.1, -94.5)
    index = RadiusIndex(
        ids=[1, 2, 3], lats=[here[0]] * 3, lons=[here[1]] * 3, radii=[500] * 3,
        layer_masks=[1 << 2, 0, 0], include_closed=[False, False, True],
        service_filters={3: ({"POTHOLE"}, set())},
    )  # fmt: skip
    case = {"lat": here[0], "lon": here[1], "service_group": ""}
    new = [
        NewCase(case_id=10, layer_id=1, service_code="TRASH", closed=False, **case),
        NewCase(case_id=11, layer_id=2, service_code="POTHOLE", closed=True, **case),
    ]
    sub_ids, case_ids, _ = index.match(new)
    assert set(zip(sub_ids.tolist(), case_ids.tolist(), strict=True)) == {(2, 10), (3, 11)}


@pytest.fixture
def fresh_worker_index(monkeypatch):
    """A worker that has not loaded its index yet."""
    monkeypatch.setattr(matcher, "_index", None)


def _radius_sub(email: str, lat: float, lon: float, radius_m: int) -> Subscription:
    sub = subscription_create(email=email, kind=SubscriptionKind.RADIUS, lat=lat, lon=lon,
                              radius_m=radius_m)  # fmt: skip
    subscription_confirm(subscription=sub)
    return sub


def _matched(index: matcher.LiveIndex, lat: float, lon: float) -> set[int]:
    case = NewCase(case_id=1, lat=lat, lon=lon, layer_id=1, service_code="", service_group="",
                   closed=False)  # fmt: skip
    return set(index.match([case])[0].tolist())


@pytest.mark.django_db
def test_a_new_or_changed_subscription_is_matched_without_reloading_every_one(
    fresh_worker_index,
):
    """The worker loads its index once; a later confirmation or a new radius reaches it through
    the small index of changes, and the changed subscription's old circle stops matching."""
    here = (39.1, -94.5)
    near = (39.1 + 400 / 111_195, -94.5)  # 400 m north
    first = _radius_sub("a@example.com", *here, 250)
    index = matcher.radius_index()
    main = index.main
    assert _matched(index, *near) == set()

    second = _radius_sub("b@example.com", *here, 500)
    index = matcher.radius_index()
    assert index.main is main  # nothing reloaded
    assert _matched(index, *near) == {second.id}

    subscription_update(subscription=first, frequency="instant", radius_m=1000,
                        include_closed=False)  # fmt: skip
    subscription_update(subscription=second, frequency="instant", radius_m=250,
                        include_closed=False)  # fmt: skip
    index = matcher.radius_index()
    assert index.main is main
    assert _matched(index, *near) == {first.id}


@pytest.mark.django_db
def test_a_loaded_index_keeps_each_subscriptions_layer_and_request_type_filters():
    """Read back from the database, a watch on one layer or one request type hears of nothing
    else."""
    from civicstat.cases.models import Layer

    crime = Layer.objects.create(slug="crime", name="Crime incidents", noun="incident")
    requests = Layer.objects.create(slug="311", name="311 requests", noun="request")
    here = (39.1, -94.5)
    only_crime = subscription_create(
        email="c@example.com",
        kind=SubscriptionKind.RADIUS,
        lat=here[0],
        lon=here[1],
        radius_m=500,
        layers=["crime"],
    )
    only_potholes = subscription_create(
        email="p@example.com",
        kind=SubscriptionKind.RADIUS,
        lat=here[0],
        lon=here[1],
        radius_m=500,
        services=["POT"],
    )
    for sub in (only_crime, only_potholes):
        subscription_confirm(subscription=sub)
    index = matcher.load_index()

    def heard(layer_id: int, service: str) -> set[int]:
        case = NewCase(
            case_id=1,
            lat=here[0],
            lon=here[1],
            layer_id=layer_id,
            service_code=service,
            service_group="",
            closed=False,
        )
        return set(index.match([case])[0].tolist())

    assert heard(crime.id, "") == {only_crime.id}
    assert heard(requests.id, "POT") == {only_potholes.id}
    assert heard(requests.id, "TRASH") == set()


@pytest.mark.django_db
def test_a_re_enabled_address_is_matched_again_without_a_reload(fresh_worker_index):
    """An address disabled by a bounce is left out of the index; once staff re-enable it, the
    worker's index takes its watches back in."""
    from civicstat.alerts.services import subscriber_disable, subscriber_enable

    here = (39.1, -94.5)
    sub = _radius_sub("bounced@example.com", *here, 500)
    subscriber_disable(subscriber=sub.subscriber, reason="550 no such mailbox")
    index = matcher.radius_index()
    assert _matched(index, *here) == set()

    subscriber_enable(subscriber=sub.subscriber)
    index = matcher.radius_index()
    assert _matched(index, *here) == {sub.id}


@pytest.mark.django_db
def test_layers_with_ids_past_the_mask_width_are_told_apart():
    """Layer ids keep climbing (PostgreSQL never reuses one): a watch on layer 70 hears of layer
    70's cases, not of layer 80's, though both share the mask's last bit; a watch on a small id
    is unaffected."""
    from civicstat.cases.models import Layer

    small = Layer.objects.create(id=5, slug="small", name="Small", noun="case")
    seventy = Layer.objects.create(id=70, slug="seventy", name="Seventy", noun="case")
    eighty = Layer.objects.create(id=80, slug="eighty", name="Eighty", noun="case")
    here = (39.1, -94.5)
    watches = {}
    for layer in (small, seventy, eighty):
        sub = subscription_create(
            email=f"{layer.slug}@example.com", kind=SubscriptionKind.RADIUS,
            lat=here[0], lon=here[1], radius_m=500, layers=[layer.slug],
        )  # fmt: skip
        subscription_confirm(subscription=sub)
        watches[layer.id] = sub.id
    index = matcher.load_index()
    new = [
        NewCase(case_id=layer.id, lat=here[0], lon=here[1], layer_id=layer.id, service_code="",
                service_group="", closed=False)
        for layer in (small, seventy, eighty)
    ]  # fmt: skip
    sub_ids, case_ids, _ = index.match(new)
    assert set(zip(sub_ids.tolist(), case_ids.tolist(), strict=True)) == {
        (watches[5], 5),
        (watches[70], 70),
        (watches[80], 80),
    }
