from typing import Any

from django.core.management.base import BaseCommand

from evaluation.services import rollup


class Command(BaseCommand):
    help = "Recompute every case summary and stage record from the event log."

    def handle(self, *args: Any, **options: Any) -> None:
        result = rollup.rebuild()
        self.stdout.write(f"rebuilt {result.cases} cases up to event {result.watermark}")
