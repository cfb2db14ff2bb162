"""The colours of every department chart, in one place.

Opened and resolved are the pair a reader compares most, so they come from Okabe and Ito's
colour-blind-safe set: vermillion and blue stay apart for the ~8 % of men with red-green colour
blindness, where the site's old brown and green looked alike (a deuteranope saw two olive
browns). Each colour has at least 3:1 contrast against the white page (WCAG 1.4.11, graphical
objects). `civicstat/maps/tests/test_palette.py` simulates protanopia and deuteranopia on these
values and checks both rules, so a change here that breaks them fails a test.
"""

from __future__ import annotations

BACKGROUND = "#ffffff"

OPENED = "#d55e00"  # Okabe–Ito vermillion
RESOLVED = "#0072b2"  # Okabe–Ito blue

RANKED = "#0072b2"
NOT_RANKED = "#6e7781"  # grey: a median too few cases to rank

# Open cases by age, young to old: light to dark blue (an order, read by lightness).
AGES = ("#5b8fd0", "#2d5a9e", "#08306b")

# Every colour drawn as a mark on the page background.
MARKS = {"opened": OPENED, "resolved": RESOLVED, "ranked": RANKED, "not ranked": NOT_RANKED,
         **{f"age {n}": c for n, c in enumerate(AGES)}}  # fmt: skip
