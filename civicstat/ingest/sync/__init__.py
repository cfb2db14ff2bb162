"""Sync clients: keep CivicStat current from a city's Open311 endpoint or SeeClickFix account."""

from __future__ import annotations
