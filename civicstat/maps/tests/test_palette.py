"""The chart palette stays readable for colour-blind readers and against the page.

Protanopia and deuteranopia are simulated with Machado, Oliveira and Fernandes (2009), severity
1.0 (complete dichromacy), applied to linear RGB. Colours are then compared in CIELAB with
CIEDE2000: a ΔE00 of about 2 is a just-noticeable difference; above 20 two bar colours read as
different at a glance, which is the bar we hold opened against resolved to. Contrast against the
background is WCAG's ratio of relative luminances (graphical objects need 3:1).
"""

from __future__ import annotations

import math

import pytest

from civicstat.maps import palette

type RGB = tuple[float, float, float]
type Matrix = tuple[RGB, RGB, RGB]

# Machado et al. 2009, severity 1.0 (their supplementary table).
PROTANOPIA: Matrix = (
    (0.152286, 1.052583, -0.204868),
    (0.114503, 0.786281, 0.099216),
    (-0.003882, -0.048116, 1.051998),
)
DEUTERANOPIA: Matrix = (
    (0.367322, 0.860646, -0.227968),
    (0.280085, 0.672501, 0.047413),
    (-0.011820, 0.042940, 0.968881),
)
NORMAL: Matrix = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
MIN_DELTA_E = 20
MIN_CONTRAST = 3.0


def _linear(hex_colour: str) -> RGB:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(hex_colour[i : i + 2], 16)) for i in (1, 3, 5))
    return r, g, b


def _simulate(rgb: RGB, m: Matrix) -> RGB:
    r, g, b = (min(1.0, max(0.0, row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2])) for row in m)
    return r, g, b


def _lab(rgb: RGB) -> RGB:
    r, g, b = rgb
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def ciede2000(lab1: RGB, lab2: RGB) -> float:
    """ΔE00 (Sharma, Wu and Dalal 2005's formulation)."""
    l1, a1, b1 = lab1
    l2, a2, b2 = lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar**7 / (c_bar**7 + 25**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = l2 - l1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    elif abs(h2p - h1p) <= 180:
        dh = h2p - h1p
    else:
        dh = h2p - h1p - 360 if h2p > h1p else h2p - h1p + 360
    dh_big = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_bar, c_bar_p = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_bar - 30)) + 0.24 * math.cos(math.radians(2 * h_bar))
         + 0.32 * math.cos(math.radians(3 * h_bar + 6))
         - 0.20 * math.cos(math.radians(4 * h_bar - 63)))  # fmt: skip
    sl = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    sc, sh = 1 + 0.045 * c_bar_p, 1 + 0.015 * c_bar_p * t
    d_theta = 30 * math.exp(-(((h_bar - 275) / 25) ** 2))
    rt = -2 * math.sqrt(c_bar_p**7 / (c_bar_p**7 + 25**7)) * math.sin(math.radians(2 * d_theta))
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dh_big / sh) ** 2
                     + rt * (dc / sc) * (dh_big / sh))  # fmt: skip


def contrast(a: RGB, b: RGB) -> float:
    def luminance(c: RGB) -> float:
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [  # Sharma et al.'s test data, pairs 1, 7, 17 and 25: the formula is the published one.
        ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
        ((50, 0, 0), (50, -1, 2), 2.3669),
        ((50, 2.5, 0), (73, 25, -18), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ],
)
def test_ciede2000_matches_published_pairs(lab1: RGB, lab2: RGB, expected: float) -> None:
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def test_old_brown_and_green_fail_for_a_deuteranope() -> None:
    """The check catches the pair a colour-blind reader could not tell apart."""
    old = [_lab(_simulate(_linear(c), DEUTERANOPIA)) for c in ("#8a4b00", "#1a6331")]
    assert ciede2000(*old) < MIN_DELTA_E


@pytest.mark.parametrize("vision", [NORMAL, PROTANOPIA, DEUTERANOPIA],
                         ids=["normal", "protanopia", "deuteranopia"])  # fmt: skip
def test_opened_and_resolved_stay_distinguishable(vision: Matrix) -> None:
    opened, resolved = (
        _lab(_simulate(_linear(c), vision)) for c in (palette.OPENED, palette.RESOLVED)
    )
    assert ciede2000(opened, resolved) > MIN_DELTA_E


@pytest.mark.parametrize("vision", [NORMAL, PROTANOPIA, DEUTERANOPIA],
                         ids=["normal", "protanopia", "deuteranopia"])  # fmt: skip
@pytest.mark.parametrize("name", sorted(palette.MARKS))
def test_every_mark_colour_contrasts_with_the_page(name: str, vision: Matrix) -> None:
    background = _simulate(_linear(palette.BACKGROUND), vision)
    colour = _simulate(_linear(palette.MARKS[name]), vision)
    assert contrast(colour, background) >= MIN_CONTRAST, name


def test_the_maps_open_and_closed_pins_use_the_charts_pair() -> None:
    """The map's pins and legend swatches are drawn by CSS, which cannot import the palette: the
    same colours must be written there, or the map goes back to a pair some readers can't tell
    apart."""
    from pathlib import Path

    css = (Path(__file__).parents[2] / "static" / "civicstat" / "maps.css").read_text()
    assert f".swatch.open, .pin.open {{ background: {palette.OPENED}; }}" in css
    assert f".swatch.closed, .pin.closed {{ background: {palette.RESOLVED}; }}" in css
