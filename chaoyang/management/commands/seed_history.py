"""python manage.py seed_history --cases N --months M [--seed S] [--end DATE] [--replace]

Generates months of case history for dashboards and load (chaoyang/history/): every case
walks the transition table and its events are written by the event writers. Needs the demo
(seed_demo) for the territory and departments; makes its own staff. Refuses to run twice
unless --replace, which removes the generated history (and only when no live case exists).
"""

from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from chaoyang.history.generate import Refused, generate


class Command(BaseCommand):
    help = _("生成数月的案件历史(按流转规则逐步生成事件),并重建综合评价汇总")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, default=10_000, help=_("案件数"))
        parser.add_argument("--months", type=int, default=12, help=_("覆盖的月数"))
        parser.add_argument("--seed", type=int, default=2026, help=_("随机种子"))
        parser.add_argument("--end", default="", help=_("历史截止日期 YYYY-MM-DD(默认现在)"))
        parser.add_argument("--replace", action="store_true", help=_("删除已生成的历史后重新生成"))

    def handle(self, *args: Any, **options: Any) -> None:
        end: datetime | None = None
        if options["end"]:
            day = parse_date(options["end"])
            if day is None:
                raise CommandError(_("日期格式应为 YYYY-MM-DD"))
            end = datetime.combine(day, time(23, 59), tzinfo=timezone.get_current_timezone())
        verbose = options["verbosity"] > 1
        try:
            report = generate(
                cases=options["cases"],
                months=options["months"],
                seed=options["seed"],
                end=end,
                replace=options["replace"],
                progress=lambda m: self.stdout.write(f"  {m}") if verbose else None,
            )
        except Refused as exc:
            raise CommandError(
                _("未生成历史:%(why)s。已生成的历史可用 --replace 重新生成。") % {"why": exc}
            ) from exc
        rate = report.cases / report.seconds if report.seconds else 0.0
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "已生成 %(cases)d 件案件(%(open)d 件未结)、%(events)d 条事件,"
                    "用时 %(s).1f 秒(每秒 %(rate).0f 件)"
                )
                % {
                    "cases": report.cases,
                    "open": report.open,
                    "events": report.events,
                    "s": report.seconds,
                    "rate": rate,
                }
            )
        )
        if verbose:
            self.stdout.write(f"  {report.timings}")
