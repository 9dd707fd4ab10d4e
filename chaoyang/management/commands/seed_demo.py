"""python manage.py seed_demo [--population [N]] — load the demo (idempotent).

Without --population only the territory, departments and accounts are loaded (fast).
--population generates synthetic people, housing and organisations: 50,000 people when
given without a number, N with one (the benchmark uses 1,000,000). They are generated only
into empty base databases, so running the command again changes nothing; pass
--replace-population to empty them and generate anew.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chaoyang.demo import DEMO_STREETS, seed_demo
from population.demo import seed_population

DEFAULT_POPULATION = 50_000


class Command(BaseCommand):
    help = "Load the demo territory, departments and accounts. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--population",
            type=int,
            nargs="?",
            const=DEFAULT_POPULATION,
            default=None,
            metavar="N",
            help=f"also generate about N synthetic people (default {DEFAULT_POPULATION:,}), "
            "with their housing and organisations, if the base databases are empty",
        )
        parser.add_argument(
            "--population-seed", type=int, default=2026, help="random seed (default 2026)"
        )
        parser.add_argument(
            "--replace-population",
            action="store_true",
            help="empty the base databases (people, housing, organisations, reveal audit) "
            "and generate anew",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = seed_demo()
        self.stdout.write(
            self.style.SUCCESS(f"Demo loaded: {len(users)} accounts. See `manage.py demo_users`.")
        )
        n = options["population"]
        if n is None:
            return
        report = seed_population(
            n,
            options["population_seed"],
            dense_streets=tuple(DEMO_STREETS),
            replace=options["replace_population"],
            progress=lambda m: self.stdout.write(f"  {m}") if options["verbosity"] > 1 else None,
        )
        self.stdout.write(self.style.SUCCESS(f"Population: {report.summary()}"))
