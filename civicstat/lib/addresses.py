"""An address index in memory: finds "414 E 12th", "Troost Ave", "troost", "64106" or "Westport"
among a city's address points and named places, tolerating typos and the usual abbreviations.

Pure Python with no models: `civicstat.places.geocoder` fills it from the database. A city's
address list is small (Kansas City has about 200,000 points; the demo 20,000), so an index in
each web process answers in well under a millisecond per query, where a database `LIKE '%…%'`
would scan the table. Street names are kept as normalised tokens ("e 12th st"): a query is
normalised the same way, so "East 12th Street", "E. 12th St" and "e 12 st" all meet.

Matching, per query token: the same token; the beginning of one (only the last token, as a
person types); or a token one edit away (a letter missing, extra, wrong or two swapped), for
tokens of five letters or more, found through a table of one-letter deletions (SymSpell's idea)
rather than by comparing with every token.
"""

from __future__ import annotations

import re
import statistics
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

# The USPS street suffixes and directions a resident writes out in full, to their short forms.
SHORT = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "boulevard": "blvd",
    "road": "rd", "drive": "dr", "terrace": "ter", "terr": "ter", "parkway": "pkwy",
    "pky": "pkwy", "place": "pl", "court": "ct", "lane": "ln", "circle": "cir",
    "highway": "hwy", "trafficway": "trfy", "expressway": "expy", "square": "sq",
    "plaza": "plz", "mount": "mt", "fort": "ft", "center": "ctr", "heights": "hts",
    "east": "e", "west": "w", "north": "n", "south": "s", "northeast": "ne",
    "northwest": "nw", "southeast": "se", "southwest": "sw",
    "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
    "sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
}  # fmt: skip
# Words that only qualify a street name: a query may leave them out or get them wrong
# ("Troost St" for Troost Ave) and still find it, ranked below the exact one.
WEAK = frozenset(
    {"st", "ave", "blvd", "rd", "dr", "ter", "pkwy", "pl", "ct", "ln", "cir", "hwy", "trfy",
     "expy", "sq", "plz", "way", "e", "w", "n", "s", "ne", "nw", "se", "sw"}
)  # fmt: skip
SUFFIXES = WEAK - {"e", "w", "n", "s", "ne", "nw", "se", "sw"}
# Where a unit begins in an address written as one line ("3827 PASEO APT 1S").
UNIT_WORDS = frozenset({"apt", "unit", "ste", "suite", "bldg", "fl", "rm", "lot", "trlr", "#"})
_ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$")
_HOUSE = re.compile(r"^\d+[a-z]?$")
_ZIP = re.compile(r"^\d{5}$")
FUZZY_MIN = 5  # shorter tokens have too many neighbours one edit away ("main" ~ "maine", "mann")


def tokens(text: str) -> list[str]:
    """Lower case words and numbers, abbreviations shortened: "E. 12th Street" → e, 12th, st."""
    words = re.sub(r"[^0-9a-z]+", " ", text.lower()).split()
    return [SHORT.get(w, w) for w in words]


def ordinal(number: str) -> str:
    """12 → 12th, 1 → 1st, 22 → 22nd, 13 → 13th: how a numbered street is written."""
    n = int(number)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def pretty(text: str) -> str:
    """A street as a person writes it: "E 12TH ST" → "E 12th St", "TROOST AVE" → "Troost Ave"."""
    words = []
    for word in text.split():
        if _ORDINAL.match(word.lower()) or word.isdigit():
            words.append(word.lower())
        elif len(word) <= 2 and word.upper() in {"NE", "NW", "SE", "SW", "E", "W", "N", "S"}:
            words.append(word.upper())
        else:
            words.append(word[:1].upper() + word[1:].lower())
    return " ".join(words)


def street_clean(street: str) -> str:
    """The street alone, from a street written with what follows it in a case's one-line
    address: "Troost Ave 64110" → "Troost Ave", "Troost Ave A" → "Troost Ave",
    "Paseo Apt 1s" → "Paseo", "A Troost Ave 1" → "Troost Ave"."""
    words = street.replace("#", " # ").split()
    for at, word in enumerate(words):
        if at and word.lower().strip(".") in UNIT_WORDS:
            words = words[:at]
            break
    normal = [SHORT.get(w.lower().strip("."), w.lower().strip(".")) for w in words]
    last = max((at for at, w in enumerate(normal) if w in SUFFIXES and at > 0), default=None)
    if last is not None:
        words = words[: last + 1]  # nothing after the suffix is part of the name
        # "… Ave N" keeps a trailing direction? No city of ours writes one; a ZIP or unit does.
    elif words and re.fullmatch(r"\d{5}", words[-1]):
        words = words[:-1]
    while len(words) > 1 and (
        words[0] == "1/2" or len(words[0]) == 1 and words[0].lower() not in {"e", "w", "n", "s"}
    ):
        words = words[1:]  # "4245 A Troost": the letter belongs to the house number
    return " ".join(words)


def _deletions(token: str) -> set[str]:
    return {token[:i] + token[i + 1 :] for i in range(len(token))}


@dataclass
class Street:
    key: str  # the normalised tokens joined by spaces: "e 12th st"
    label: str  # as shown: "E 12th St"
    words: tuple[str, ...]
    numbers: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # house → point

    @property
    def centre(self) -> tuple[float, float]:
        """The middle point of the street's addresses: on the street, unlike a mean of a bend."""
        points = sorted(self.numbers.values(), key=lambda p: (p[1], p[2]))
        _, lat, lon = points[len(points) // 2]
        return lat, lon

    def bbox(self) -> tuple[float, float, float, float]:
        lats = [p[1] for p in self.numbers.values()]
        lons = [p[2] for p in self.numbers.values()]
        return min(lons), min(lats), max(lons), max(lats)


@dataclass(frozen=True)
class NamedPlace:
    """A neighborhood, council district or other area, found by its name."""

    id: int
    name: str
    kind: str
    bbox: tuple[float, float, float, float]


@dataclass(frozen=True)
class Hit:
    kind: str  # "address", "street", "postcode", or a named place's kind ("neighborhood")
    name: str
    lat: float
    lon: float
    score: float
    point_id: int | None = None  # the address point's id, for an address
    bbox: tuple[float, float, float, float] | None = None
    exact: bool = True  # False: the nearest number on the street, not the one asked for


class AddressIndex:
    """Address points and named places, searchable by `search()`."""

    def __init__(self) -> None:
        self.streets: dict[str, Street] = {}
        self.postcodes: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.places: list[NamedPlace] = []
        self._by_word: dict[str, set[str]] = defaultdict(set)  # token → street keys
        self._place_words: dict[str, set[int]] = defaultdict(set)  # token → place positions
        self._near: dict[str, set[str]] = defaultdict(set)  # token or a deletion → tokens
        self._sorted: list[str] = []

    # -- Building ----------------------------------------------------------------------------

    def add_point(
        self, *, point_id: int, number: str, street: str, postcode: str, lat: float, lon: float
    ) -> None:
        street = street_clean(street)
        words = tuple(tokens(street))
        if not words:
            return
        key = " ".join(words)
        found = self.streets.get(key)
        if found is None:
            found = self.streets[key] = Street(key, pretty(street), words)
        found.numbers.setdefault(number.lower(), (point_id, lat, lon))
        if _ZIP.match(postcode[:5]):
            self.postcodes[postcode[:5]].append((lat, lon))

    def add_place(self, place: NamedPlace) -> None:
        self.places.append(place)
        for word in tokens(place.name):
            self._place_words[word].add(len(self.places) - 1)

    def finish(self) -> AddressIndex:
        """Build the word tables once every point and place is in."""
        for key, street in self.streets.items():
            for word in street.words:
                self._by_word[word].add(key)
        vocabulary = set(self._by_word) | set(self._place_words)
        for word in vocabulary:
            self._near[word].add(word)
            if len(word) >= FUZZY_MIN and not word.isdigit():
                for variant in _deletions(word):
                    self._near[variant].add(word)
        self._sorted = sorted(vocabulary)
        return self

    # -- Searching ---------------------------------------------------------------------------

    def _matches(self, word: str, *, last: bool) -> dict[str, float]:
        """Index tokens that `word` may mean, each with how good a match it is."""
        found = {word: 3.0} if word in self._near else {}
        if last and len(word) >= 2:
            at = bisect_left(self._sorted, word)
            while at < len(self._sorted) and self._sorted[at].startswith(word):
                found.setdefault(self._sorted[at], 2.0)
                at += 1
        if len(word) >= FUZZY_MIN and not word.isdigit():
            for variant in {word} | _deletions(word):
                for candidate in self._near.get(variant, ()):
                    if len(candidate) >= FUZZY_MIN:
                        found.setdefault(candidate, 1.0)
        return found

    def _streets(self, words: list[str]) -> list[tuple[float, Street]]:
        strong = [w for w in words if w not in WEAK]
        if not strong:
            return []
        candidates: dict[str, float] | None = None
        for position, word in enumerate(strong):
            last = position == len(strong) - 1 and word == words[-1]
            scored: dict[str, float] = {}
            for token, quality in self._matches(word, last=last).items():
                for key in self._by_word.get(token, ()):
                    scored[key] = max(scored.get(key, 0.0), quality)
            if candidates is None:
                candidates = scored
            else:
                candidates = {k: v + scored[k] for k, v in candidates.items() if k in scored}
            if not candidates:
                return []
        assert candidates is not None
        ranked = []
        for key, score in candidates.items():
            street = self.streets[key]
            for word in words:
                if word in WEAK:  # a qualifier that fits adds; a wrong or missing one costs
                    score += 0.5 if word in street.words else -0.5
            extra = len([w for w in street.words if w not in WEAK]) - len(strong)
            ranked.append((score - 0.25 * max(extra, 0), street))
        ranked.sort(key=lambda pair: (-pair[0], -len(pair[1].numbers), pair[1].key))
        return ranked

    def _places(self, words: list[str]) -> list[Hit]:
        candidates: dict[int, float] | None = None
        for position, word in enumerate(words):
            scored: dict[int, float] = {}
            for token, quality in self._matches(word, last=position == len(words) - 1).items():
                for at in self._place_words.get(token, ()):
                    scored[at] = max(scored.get(at, 0.0), quality)
            candidates = scored if candidates is None else {
                k: v + scored[k] for k, v in candidates.items() if k in scored
            }  # fmt: skip
            if not candidates:
                return []
        hits = []
        for at, score in (candidates or {}).items():
            place = self.places[at]
            score -= 0.25 * max(len(tokens(place.name)) - len(words), 0)  # "Old Westport"
            west, south, east, north = place.bbox
            hits.append(Hit(place.kind, place.name, (south + north) / 2, (west + east) / 2,
                            score + 0.5, bbox=place.bbox))  # fmt: skip
        return hits

    def search(self, text: str, *, limit: int = 8) -> list[Hit]:
        """The best matches for `text`, best first."""
        words = tokens(text)
        if not words:
            return []
        hits: list[Hit] = []
        if len(words) == 1 and _ZIP.match(words[0]) and words[0] in self.postcodes:
            points = self.postcodes[words[0]]
            lat = statistics.median(p[0] for p in points)
            lon = statistics.median(p[1] for p in points)
            lats, lons = [p[0] for p in points], [p[1] for p in points]
            bbox = (min(lons), min(lats), max(lons), max(lats))
            hits.append(Hit("postcode", words[0], lat, lon, 10.0, bbox=bbox))
        house = words[0] if len(words) > 1 and _HOUSE.match(words[0]) else None
        rest = words[1:] if house else words
        if rest and _ZIP.match(rest[-1]) and len(rest) > 1:
            rest = rest[:-1]  # "414 E 12th St 64106": the ZIP code adds nothing to a street
        # "414 E 12" or "E 12": a bare number after the house number is a numbered street.
        rest = [ordinal(w) if w.isdigit() and len(w) < 4 else w for w in rest]
        for score, street in self._streets(rest):
            if house is None:
                lat, lon = street.centre
                hits.append(Hit("street", street.label, lat, lon, score, bbox=street.bbox()))
                continue
            if house in street.numbers:
                point_id, lat, lon = street.numbers[house]
                hits.append(Hit("address", f"{house.upper()} {street.label}", lat, lon,
                                score + 5, point_id=point_id))  # fmt: skip
            elif nearest := _nearest(house, street):
                number, (point_id, lat, lon) = nearest
                hits.append(Hit("address", f"{number.upper()} {street.label}", lat, lon,
                                score + 2, point_id=point_id, exact=False))  # fmt: skip
            elif between := _interpolated(house, street):
                lat, lon = between
                hits.append(Hit("address", f"{house.upper()} {street.label} (approximate)",
                                lat, lon, score + 1, exact=False))  # fmt: skip
            else:  # no number near it: the street itself, so the resident still gets there
                lat, lon = street.centre
                hits.append(Hit("street", street.label, lat, lon, score, bbox=street.bbox()))
        if house is None:
            hits.extend(self._places(words))
        hits.sort(key=lambda h: -h.score)
        return hits[:limit]


def _nearest(house: str, street: Street) -> tuple[str, tuple[int, float, float]] | None:
    """The address on the street whose number is closest to `house` (same side first), within
    a block: "414" on a street that has 410 and 420 finds 410."""
    wanted = int(re.sub(r"\D", "", house) or 0)
    best: tuple[int, str] | None = None
    for number in street.numbers:
        digits = re.sub(r"\D", "", number)
        if not digits:
            continue
        gap = abs(int(digits) - wanted) + (0 if int(digits) % 2 == wanted % 2 else 1000)
        if best is None or gap < best[0]:
            best = (gap, number)
    if best is None or best[0] > 100:
        return None
    return best[1], street.numbers[best[1]]


def _interpolated(house: str, street: Street) -> tuple[float, float] | None:
    """Where `house` would be on a straight run of numbers: between (or, within 4,000 numbers,
    beyond) the two known numbers closest to it, as US streets number along their length (a
    grid city's numbered streets run straight, which is what makes the guess a fair one)."""
    wanted = int(re.sub(r"\D", "", house) or 0)
    known = sorted(
        {int(d): (p[1], p[2]) for n, p in street.numbers.items() if (d := re.sub(r"\D", "", n))}
        .items()
    )  # fmt: skip
    if len(known) < 2:
        return None
    known.sort(key=lambda item: abs(item[0] - wanted))
    n1, (lat1, lon1) = known[0]
    # The second point far enough along the street to give its direction.
    other = next(((n, p) for n, p in known[1:] if abs(n - n1) >= 50), None)
    if other is None or abs(n1 - wanted) > 4000:
        return None
    n2, (lat2, lon2) = other
    share = (wanted - n1) / (n2 - n1)
    return lat1 + share * (lat2 - lat1), lon1 + share * (lon2 - lon1)


def index_build(
    points: Iterable[tuple[int, str, str, str, float, float]], places: Iterable[NamedPlace]
) -> AddressIndex:
    """An index of (id, number, street, postcode, lat, lon) points and named places."""
    index = AddressIndex()
    for point_id, number, street, postcode, lat, lon in points:
        index.add_point(point_id=point_id, number=number, street=street, postcode=postcode,
                        lat=lat, lon=lon)  # fmt: skip
    for place in places:
        index.add_place(place)
    return index.finish()
