"""python manage.py seed_demo — load the demo territory, departments and accounts (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand

from chaoyang.demo import seed_demo


class Command(BaseCommand):
    help = "Load the demo territory, departments and accounts. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        users = seed_demo()
        self.stdout.write(
            self.style.SUCCESS(f"Demo loaded: {len(users)} accounts. See `manage.py demo_users`.")
        )
