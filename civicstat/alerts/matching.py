"""Which radius subscriptions contain which new cases: an h3 index held in memory.

Each confirmed radius subscription is filed under the h3 cell of its centre, at a resolution chosen
for its radius so that a circle spans a few cells (`resolution_for`). For a new case, the centres
that could be within reach lie in a disk of cells around the case's own cell at that resolution;
a sorted array answers "which subscriptions have their centre in these cells" with `searchsorted`
for every case at once, and the exact haversine distance, vectorised, keeps the true matches.

Nothing here touches the database except `RadiusIndex.load`: the same index serves the matcher
task and the benchmark, and is rebuilt only when `IndexVersion` says the subscriptions changed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import h3.api.basic_int as h3int
import h3.api.numpy_int as h3np
import numpy as np
import numpy.typing as npt

from civicstat.lib.geo import EARTH_RADIUS_M, haversine_m

FINEST, COARSEST = 10, 4
_SQRT3 = math.sqrt(3)
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def resolution_for(radius_m: float) -> int:
    """The finest resolution whose cells are at least a quarter of the radius apart: a circle
    then spans about eight cells across, so the disk searched around a case is not much larger."""
    for res in range(FINEST, COARSEST - 1, -1):
        if _SQRT3 * h3int.average_hexagon_edge_length(res, "m") >= radius_m / 4:
            return res
    return COARSEST


def center_cell(lat: float, lon: float, radius_m: float) -> int:
    return int(h3int.latlng_to_cell(lat, lon, resolution_for(radius_m)))


def disk_k(cell: int, radius_m: float) -> int:
    """How many rings around `cell` hold every centre within `radius_m` of any point in `cell`.

    A point within R of a centre c lies in a cell whose centre is at most R + 2 circumradii from
    c's cell centre; cells k rings out are at least k·s·√3/2 away (s: centre spacing). The spacing
    is measured here, at this place, so h3's distortion across the globe does not matter; the 5 %
    margin covers its variation across a few kilometres.
    """
    lat, lon = h3int.cell_to_latlng(cell)
    neighbour = next(c for c in h3int.grid_ring(cell, 1))
    spacing = haversine_m(lat, lon, *h3int.cell_to_latlng(neighbour))
    circumradius = spacing / _SQRT3
    reach = radius_m + 2 * circumradius
    return max(1, math.ceil(1.05 * reach / (spacing * _SQRT3 / 2)))


@dataclass
class _Group:
    """The subscriptions filed at one resolution, sorted by centre cell."""

    resolution: int
    max_radius: float
    cells: Ints  # sorted centre cells
    rows: Ints  # row of each in the index arrays


@dataclass
class NewCase:
    case_id: int
    lat: float
    lon: float
    layer_id: int
    service_code: str
    service_group: str
    closed: bool  # the news is that it closed (only for subscriptions that asked)


class RadiusIndex:
    """Confirmed radius subscriptions, as arrays. `match` answers for a whole batch of cases."""

    def __init__(
        self,
        *,
        ids: Sequence[int],
        lats: Sequence[float],
        lons: Sequence[float],
        radii: Sequence[float],
        layer_masks: Sequence[int],
        include_closed: Sequence[bool],
        service_filters: dict[int, tuple[set[str], set[str]]],
        cells: Sequence[int] | None = None,
        version: int = 0,
    ) -> None:
        """`layer_masks`: bit (1 << layer id) per wanted layer, 0 for every layer.
        `service_filters`: subscription id → (service codes, service groups) for the few that
        filter by request type. `cells`: each centre's cell at `resolution_for(radius)`."""
        self.version = version
        self.ids = np.asarray(ids, dtype=np.int64)
        self.lats = np.asarray(lats, dtype=np.float64)
        self.lons = np.asarray(lons, dtype=np.float64)
        self.radii = np.asarray(radii, dtype=np.float64)
        self.layer_masks = np.asarray(layer_masks, dtype=np.int64)
        self.include_closed = np.asarray(include_closed, dtype=bool)
        self.service_filters = service_filters
        resolutions = np.array([resolution_for(r) for r in _distinct(self.radii)], dtype=np.int64)
        by_radius = dict(zip(_distinct(self.radii), resolutions.tolist(), strict=True))
        res_of_row = np.array([by_radius[r] for r in self.radii.tolist()], dtype=np.int64)
        if cells is None:  # callers with `Subscription.center_cell` at hand pass it instead
            cells = [  # noqa: C416
                h3int.latlng_to_cell(lat, lon, res)
                for lat, lon, res in zip(
                    self.lats.tolist(), self.lons.tolist(), res_of_row.tolist(), strict=True
                )
            ]
        centres: Ints = np.array(cells, dtype=np.uint64).astype(np.int64)
        self.groups: list[_Group] = []
        # One group per distinct radius (the form offers a few), so each searches a disk sized
        # for its own circles, not for the largest at its resolution.
        for radius in _distinct(self.radii):
            res = by_radius[radius]
            rows = np.flatnonzero(self.radii == radius)
            order = np.argsort(centres[rows], kind="stable")
            self.groups.append(
                _Group(
                    resolution=res,
                    max_radius=float(self.radii[rows].max()),
                    cells=centres[rows][order],
                    rows=rows[order],
                )
            )

    def __len__(self) -> int:
        return len(self.ids)

    def match(self, new: Sequence[NewCase]) -> tuple[Ints, Ints, Floats]:
        """Subscription ids, case ids and distances in metres, one entry per subscription a case
        concerns."""
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
        if not new or not len(self.ids):
            return empty
        pair_case: list[Ints] = []
        pair_row: list[Ints] = []
        for group in self.groups:
            disks: dict[int, Ints] = {}
            parts: list[Ints] = []
            k = 0
            for c in new:
                cell = int(h3int.latlng_to_cell(c.lat, c.lon, group.resolution))
                disk = disks.get(cell)
                if disk is None:
                    k = k or disk_k(cell, group.max_radius)  # one city: one spacing per group
                    disk = disks[cell] = h3np.grid_disk(cell, k).astype(np.int64)
                parts.append(disk)
            q = np.concatenate(parts)
            query_case = np.repeat(np.arange(len(new), dtype=np.int64), [len(p) for p in parts])
            left = np.searchsorted(group.cells, q, side="left")
            counts = np.searchsorted(group.cells, q, side="right") - left
            hit = counts > 0
            left, counts = left[hit], counts[hit]
            cases_hit = query_case[hit]
            total = int(counts.sum())
            if not total:
                continue
            # Expand each [left, left + count) range into positions, without a Python loop.
            starts = np.repeat(left - np.cumsum(counts) + counts, counts)
            positions = starts + np.arange(total, dtype=np.int64)
            pair_row.append(group.rows[positions])
            pair_case.append(np.repeat(cases_hit, counts))
        if not pair_row:
            return empty
        rows = np.concatenate(pair_row)
        case_idx = np.concatenate(pair_case)
        case_lats = np.array([c.lat for c in new], dtype=np.float64)
        case_lons = np.array([c.lon for c in new], dtype=np.float64)
        # Most candidates lie outside their circle. A flat-earth distance (off by far less than
        # 1 % over a few kilometres) drops them cheaply; the survivors get the exact haversine.
        metres_per_degree = math.pi * EARTH_RADIUS_M / 180
        x_scale = np.cos(np.radians(case_lats))[case_idx]
        dy = (self.lats[rows] - case_lats[case_idx]) * metres_per_degree
        dx = (self.lons[rows] - case_lons[case_idx]) * metres_per_degree * x_scale
        reach = self.radii[rows] * 1.01
        near = dx * dx + dy * dy <= reach * reach
        rows, case_idx = rows[near], case_idx[near]
        distance = _haversine(
            self.lats[rows], self.lons[rows], case_lats[case_idx], case_lons[case_idx]
        )
        keep = distance <= self.radii[rows]
        layers = np.array([1 << c.layer_id for c in new], dtype=np.int64)[case_idx]
        masks = self.layer_masks[rows]
        keep &= (masks == 0) | ((masks & layers) != 0)
        closed = np.array([c.closed for c in new], dtype=bool)[case_idx]
        keep &= ~closed | self.include_closed[rows]
        if self.service_filters:
            filtered = np.flatnonzero(keep & np.isin(self.ids[rows], list(self.service_filters)))
            for p in filtered.tolist():
                wanted = self.service_filters[int(self.ids[rows[p]])]
                keep[p] = _service_wanted(wanted, new[int(case_idx[p])])
        case_ids = np.array([c.case_id for c in new], dtype=np.int64)
        return self.ids[rows[keep]], case_ids[case_idx[keep]], distance[keep]


def _distinct(values: Floats) -> list[float]:
    return sorted(set(values.tolist()))


def _service_wanted(wanted: tuple[set[str], set[str]], case: NewCase) -> bool:
    codes, groups = wanted
    return (not codes or case.service_code in codes) and (
        not groups or case.service_group in groups
    )


def _haversine(lat1: Floats, lon1: Floats, lat2: Floats, lon2: Floats) -> Floats:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: Floats = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
    return result
