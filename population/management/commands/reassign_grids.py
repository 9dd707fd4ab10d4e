"""python manage.py reassign_grids — put buildings, organisations, housing and people back
in the grids that cover them, after grid boundaries changed (an import, a rebuild)."""

from typing import Any

from django.core.management.base import BaseCommand

from population.services import population_reassign_grids


class Command(BaseCommand):
    help = (
        "Re-assign every located building and organisation to the grid covering it, then "
        "housing units to their building's grid and people to their current residence's."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        changed = population_reassign_grids()
        summary = ", ".join(f"{k} {v}" for k, v in changed.items())
        self.stdout.write(self.style.SUCCESS(f"Re-assigned (rows changed): {summary}"))
