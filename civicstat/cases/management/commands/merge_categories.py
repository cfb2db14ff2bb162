from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from civicstat.cases.aliases import AliasError, category_aliases_apply, category_aliases_store
from civicstat.cases.models import Layer


class Command(BaseCommand):
    help = (
        "File every imported case under its merged category: store a mapping profile's "
        "[service_groups] and [request_types] aliases (with --profile or --mapping), then move "
        "the cases of old request types and groups onto the merged ones, in one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--profile", help="a built-in mapping profile: kansas-city, boston")
        parser.add_argument("--mapping", help="a mapping file (TOML) of the city's own")

    def handle(self, *args: Any, **options: Any) -> None:
        from civicstat.ingest.mapping import ProfileError, load_profile

        with transaction.atomic():
            if options["profile"] or options["mapping"]:
                try:
                    profile = load_profile(name=options["profile"], path=options["mapping"])
                except ProfileError as exc:
                    raise CommandError(str(exc)) from None
                # A layer not imported yet takes the aliases at its first import.
                layers = list(Layer.objects.filter(slug__in=list(profile.layers)))
                try:
                    added = category_aliases_store(
                        layers=layers,
                        groups=profile.service_groups,
                        request_types=profile.request_types,
                    )
                except AliasError as exc:
                    raise CommandError(str(exc)) from None
                self.stdout.write(f"{added} alias(es) added or changed from {profile.name}.")
            moved = category_aliases_apply()
        for line in moved.moved:
            self.stdout.write(f"  {line}")
        self.stdout.write(
            f"{moved.services_regrouped} request type(s) regrouped, {moved.services_merged} "
            f"merged, {moved.cases_moved:,} case(s) moved."
        )
