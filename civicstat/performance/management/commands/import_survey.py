from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicstat.performance.surveys import COLUMNS, SurveyError, survey_import


def _link(text: str, option: str = "--area") -> tuple[str, str]:
    category, sep, area = text.rpartition("=")
    if not sep or not category.strip() or not area.strip():
        raise ValueError(f"{option} {text!r}: write it as NAME=AREA-SLUG")
    return " ".join(category.split()), area.strip()


class Command(BaseCommand):
    help = (
        "Import a resident survey's trend tables (long format: "
        f"{', '.join(COLUMNS)}) as yearly measures filed under priority areas. "
        "All rows or none: every rejected row is listed with its reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the survey's CSV file")
        parser.add_argument(
            "--name", required=True, help="the survey's name, as the public reads it"
        )
        parser.add_argument("--slug", required=True, help="the survey's stable address")
        parser.add_argument("--conducted-by", required=True, help="who ran it (ETC Institute…)")
        parser.add_argument("--report", required=True, help="the report the figures come from")
        parser.add_argument("--report-url", default="", help="where the report can be read")
        parser.add_argument("--notes", default="", help="Markdown added to each item's Methods")
        parser.add_argument(
            "--area", action="append", default=[], metavar="CATEGORY=AREA",
            help="file a category's items under this priority area (repeat per category)",
        )  # fmt: skip
        parser.add_argument(
            "--item-area", action="append", default=[], metavar="ITEM=AREA",
            help="file one item under another area than its category's (repeat per item)",
        )  # fmt: skip
        parser.add_argument("--default-area", default="", help="the area of categories not named")
        parser.add_argument(
            "--fiscal-year-start-month", type=int, default=None,
            help="1–12; default: the city's FISCAL_YEAR_START_MONTH",
        )  # fmt: skip
        parser.add_argument("--draft", action="store_true", help="import unpublished")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["path"]
        try:
            areas = dict(_link(text) for text in options["area"])
            item_areas = dict(_link(text, "--item-area") for text in options["item_area"])
            text = Path(path).read_text(encoding="utf-8-sig")
            result = survey_import(
                text=text, slug=options["slug"], name=options["name"],
                conducted_by=options["conducted_by"], report=options["report"],
                report_url=options["report_url"], notes=options["notes"], areas=areas,
                item_areas=item_areas,
                default_area=options["default_area"],
                fiscal_year_start_month=options["fiscal_year_start_month"],
                published=not options["draft"],
            )  # fmt: skip
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not UTF-8 text; save the file as UTF-8 CSV") from None
        except SurveyError as error:
            for rejected in error.rejected:
                self.stderr.write(f"{path}: {rejected}")
            raise CommandError(f"{path}: {error}") from None
        except ValueError as error:
            raise CommandError(str(error)) from None
        removed = (
            f"; {result.removed} items no longer in the file removed" if result.removed else ""
        )
        self.stdout.write(
            f"Imported {result.survey.name}: {result.items} items in {result.categories} "
            f"categories, {result.values} values, FY{result.first_year}–FY{result.last_year}"
            f"{removed}."
        )
