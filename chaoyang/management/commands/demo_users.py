"""python manage.py demo_users [--json] — print the demo logins so people and scripts can log in."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from chaoyang.demo import demo_users


class Command(BaseCommand):
    help = "Print the demo accounts: username, password, role and jurisdiction."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON for scripts")

    def handle(self, *args: Any, **options: Any) -> None:
        users = demo_users()
        if not users:
            raise CommandError(_("没有演示账号,请先运行 seed_demo"))
        if options["json"]:
            self.stdout.write(
                json.dumps([u.as_dict() for u in users], ensure_ascii=False, indent=2)
            )
            return
        width = max(len(u.username) for u in users)
        for u in users:
            where = u.department or u.jurisdiction_name
            self.stdout.write(
                f"  {u.username:<{width}}  {u.password}  {u.role_display}  {where} "
                f"({u.jurisdiction_code})"
            )
