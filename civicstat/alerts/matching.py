"""Which radius subscriptions contain which new cases: an h3 index held in memory.

Each confirmed radius subscription is filed under the h3 cell of its centre, at a resolution chosen
for its radius so that a circle spans a few cells (`resolution_for`). For a new case, the centres
that could be within reach lie in a disk of cells around the case's own cell at that resolution;
a sorted array of the distinct centre cells answers "which subscriptions have their centre in
these cells" with `searchsorted`; cells lying wholly out of reach are dropped by their centre
point, a flat-earth distance drops most remaining candidates, and the exact haversine distance
keeps the true matches. All of it is vectorised with NumPy, a few hundred cases at a time so that
the candidates stay in the processor's cache.

Nothing here touches the database: the matcher (`matcher.load_index`, `matcher.LiveIndex`) loads
the subscriptions into it and keeps it current; the benchmark uses the same index.
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

# Layer filters are int64 bit masks, one bit per layer id. Ids from SHARED_BIT up (a city with many
# layers, or a database whose ids have climbed) share that last bit; subscriptions that want such
# a layer are checked exactly after the mask test (`RadiusIndex.layer_filters`).
SHARED_BIT = 62


def layer_bit(layer_id: int) -> int:
    """The bit of `layer_id` in a layer mask."""
    return 1 << min(layer_id, SHARED_BIT)


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
    """The subscriptions of one radius, sorted by centre cell, with their columns laid out in that
    order: the candidates of one case are then a few contiguous runs of these arrays, which keeps
    the gathers in the processor's cache. Each distinct centre cell is listed once, with its
    centre point and where its run starts, so whole cells out of reach are dropped unread."""

    resolution: int
    radius: float
    cells: Ints  # distinct centre cells, sorted
    starts: Ints  # run of cells[i] in the columns below: starts[i]:starts[i + 1]
    cell_lats: Floats  # centre point of each cell
    cell_lons: Floats
    cell_reach: float  # farthest a point of a cell lies from its centre, with a margin
    ids: Ints
    lats: Floats
    lons: Floats
    cos_lats: Floats
    layer_masks: Ints
    include_closed: npt.NDArray[np.bool_]

    @classmethod
    def build(cls, index: RadiusIndex, radius: float, resolution: int, centres: Ints) -> _Group:
        # A subscription without a usable centre (no cell) can match nothing.
        rows = np.flatnonzero((index.radii == radius) & (centres != 0) & ~np.isnan(index.lats))
        rows = rows[np.argsort(centres[rows], kind="stable")]
        sorted_cells = centres[rows]
        cells, starts = np.unique(sorted_cells, return_index=True)
        points = np.array([h3int.cell_to_latlng(int(c)) for c in cells.tolist()], dtype=np.float64)
        points = points.reshape(-1, 2)
        lats = index.lats[rows]
        return cls(
            resolution=resolution,
            radius=radius,
            cells=cells,
            starts=np.append(starts, len(rows)).astype(np.int64),
            cell_lats=points[:, 0],
            cell_lons=points[:, 1],
            cell_reach=1.1 * _circumradius(int(cells[0])) if len(cells) else 0.0,
            ids=index.ids[rows],
            lats=lats,
            lons=index.lons[rows],
            cos_lats=np.cos(np.radians(lats)),
            layer_masks=index.layer_masks[rows],
            include_closed=index.include_closed[rows],
        )


def _circumradius(cell: int) -> float:
    """The distance from a cell's centre to its farthest corner, measured here (h3 cells differ
    in size across the globe, by far less than the 10 % margin within one city)."""
    lat, lon = h3int.cell_to_latlng(cell)
    return max(haversine_m(lat, lon, *corner) for corner in h3int.cell_to_boundary(cell))


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
        layer_filters: dict[int, set[int]] | None = None,
    ) -> None:
        """`layer_masks`: `layer_bit(layer id)` per wanted layer, 0 for every layer.
        `service_filters`: subscription id → (service codes, service groups) for the few that
        filter by request type. `layer_filters`: subscription id → wanted layer ids, for those
        that want a layer on the shared bit. `cells`: each centre's cell at
        `resolution_for(radius)`."""
        self.version = version
        self.layer_filters = layer_filters or {}
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
        groups = (_Group.build(self, r, by_radius[r], centres) for r in _distinct(self.radii))
        self.groups = [g for g in groups if len(g.cells)]

    def __len__(self) -> int:
        return len(self.ids)

    def match(self, new: Sequence[NewCase]) -> tuple[Ints, Ints, Floats]:
        """Subscription ids, case ids and distances in metres, one entry per subscription a case
        concerns."""
        found: list[tuple[Ints, Ints, Floats]] = []
        if new and len(self.ids):
            batch = _Cases(new)
            for group in self.groups:
                cells = [int(h3int.latlng_to_cell(c.lat, c.lon, group.resolution)) for c in new]
                k = disk_k(cells[0], group.radius)  # one city: one cell spacing per group
                disks: dict[int, Ints] = {}
                for cell in cells:
                    if cell not in disks:
                        disks[cell] = h3np.grid_disk(cell, k).astype(np.int64)
                # A few hundred cases at a time: the candidates of a chunk (about a thousand per
                # case) fit in the processor's cache, where a whole batch's tens of millions
                # would be written to memory and read back at every step.
                for first in range(0, len(new), _CHUNK):
                    chunk = range(first, min(first + _CHUNK, len(new)))
                    found.append(
                        _match_chunk(group, batch, chunk, [disks[cells[i]] for i in chunk])
                    )
        if not found:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
        parts = zip(*found, strict=True)
        subs, cases, distances = (np.concatenate(p) for p in parts)
        if self.layer_filters:
            keep = np.ones(len(subs), dtype=bool)
            layer_of = {c.case_id: c.layer_id for c in new}
            for p in np.flatnonzero(np.isin(subs, list(self.layer_filters))).tolist():
                keep[p] = layer_of[int(cases[p])] in self.layer_filters[int(subs[p])]
            subs, cases, distances = subs[keep], cases[keep], distances[keep]
        if self.service_filters:
            keep = np.ones(len(subs), dtype=bool)
            by_id = {c.case_id: c for c in new}
            for p in np.flatnonzero(np.isin(subs, list(self.service_filters))).tolist():
                wanted = self.service_filters[int(subs[p])]
                keep[p] = _service_wanted(wanted, by_id[int(cases[p])])
            subs, cases, distances = subs[keep], cases[keep], distances[keep]
        return subs, cases, distances


_CHUNK = 256


class _Cases:
    """A batch of new cases as arrays."""

    def __init__(self, new: Sequence[NewCase]) -> None:
        self.new = new
        self.ids = np.array([c.case_id for c in new], dtype=np.int64)
        self.lats = np.array([c.lat for c in new], dtype=np.float64)
        self.lons = np.array([c.lon for c in new], dtype=np.float64)
        self.cos_lats = np.cos(np.radians(self.lats))
        self.layer_bits = np.array([layer_bit(c.layer_id) for c in new], dtype=np.int64)
        self.closed = np.array([c.closed for c in new], dtype=bool)


def _match_chunk(
    group: _Group, batch: _Cases, chunk: range, disks: list[Ints]
) -> tuple[Ints, Ints, Floats]:
    """The subscriptions of `group` whose circle holds each case of `chunk`."""
    query = np.concatenate(disks)
    query_case = np.repeat(np.arange(chunk.start, chunk.stop), [len(d) for d in disks])
    found = np.minimum(np.searchsorted(group.cells, query), len(group.cells) - 1)
    hit = group.cells[found] == query
    found, cases = found[hit], query_case[hit]
    # Cells whose every point is farther than the radius from the case hold no match: the
    # hexagonal disk searched reaches well past the circle, so this drops about half the cells.
    dy = (group.cell_lats[found] - batch.lats[cases]) * _METRES_PER_DEGREE
    dx = (group.cell_lons[found] - batch.lons[cases]) * (_METRES_PER_DEGREE * batch.cos_lats[cases])
    reach = 1.01 * (group.radius + group.cell_reach)
    near_cell = dx * dx + dy * dy <= reach * reach
    found, cases = found[near_cell], cases[near_cell]
    left = group.starts[found]
    counts = group.starts[found + 1] - left
    total = int(counts.sum())
    # Expand each [left, left + count) run into positions, without a Python loop.
    pos = np.repeat(left - np.cumsum(counts) + counts, counts) + np.arange(total)
    cases = np.repeat(cases, counts)
    # Most candidates lie outside their circle. A flat-earth distance (off by far less than 1 %
    # over a few kilometres) drops them cheaply; the survivors get the exact haversine.
    dy = (group.lats[pos] - batch.lats[cases]) * _METRES_PER_DEGREE
    dx = (group.lons[pos] - batch.lons[cases]) * (_METRES_PER_DEGREE * batch.cos_lats[cases])
    reach = 1.01 * group.radius
    near = dx * dx + dy * dy <= reach * reach
    pos, cases = pos[near], cases[near]
    # Haversine with the cosines of both latitudes computed once per subscription and per case.
    half_dlat = np.radians(batch.lats[cases] - group.lats[pos]) / 2
    half_dlon = np.radians(batch.lons[cases] - group.lons[pos]) / 2
    a = (
        np.sin(half_dlat) ** 2
        + group.cos_lats[pos] * batch.cos_lats[cases] * np.sin(half_dlon) ** 2
    )
    keep = a <= math.sin(group.radius / EARTH_RADIUS_M / 2) ** 2
    masks = group.layer_masks[pos]
    keep &= (masks == 0) | ((masks & batch.layer_bits[cases]) != 0)
    keep &= ~batch.closed[cases] | group.include_closed[pos]
    pos, cases, a = pos[keep], cases[keep], a[keep]
    distance: Floats = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
    return group.ids[pos], batch.ids[cases], distance


_METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180


def _distinct(values: Floats) -> list[float]:
    return sorted(set(values.tolist()))


def _service_wanted(wanted: tuple[set[str], set[str]], case: NewCase) -> bool:
    codes, groups = wanted
    return (not codes or case.service_code in codes) and (
        not groups or case.service_group in groups
    )
