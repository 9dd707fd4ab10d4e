"""The rollups of the event log, the sweep's watermark and the versioned weights.

CaseSummary and CaseStage hold nothing of their own: both are rebuilt from a case's events by
evaluation.summary.summarize, so they can be dropped and rebuilt at any time
(`manage.py rebuild_evaluation`). docs/evaluation.md defines every column's meaning.
"""

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Category
from dispatch.models import Department, Stage
from grids.models import Region

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a development dependency: types only


def _region(verbose_name: "StrOrPromise") -> "models.ForeignKey[Region | None, Region | None]":
    # No single-column index: the composite indexes below start with these columns.
    return models.ForeignKey(
        Region,
        verbose_name=verbose_name,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )


def _user(verbose_name: "StrOrPromise") -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )


class CaseSummary(models.Model):
    """One row per case: what its events say, in columns the indicators count."""

    case = models.OneToOneField(
        Case,
        verbose_name=_("案件"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="evaluation_summary",
    )
    street = _region(_("街道"))
    community = _region(_("社区"))
    grid = _region(_("网格"))
    category = models.ForeignKey(
        Category, verbose_name=_("类别"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("来源渠道"), max_length=16)
    urgency = models.CharField(_("紧急程度"), max_length=16)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上报人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reporter_role = models.CharField(_("上报角色"), max_length=32, blank=True)
    handling_level = models.CharField(_("处置层级"), max_length=16)
    status = models.CharField(_("状态"), max_length=16)

    reported_at = models.DateTimeField(_("上报时间"), null=True, blank=True)
    verified_at = models.DateTimeField(_("核实时间"), null=True, blank=True)
    verified_by = _user(_("核实人"))
    opened_at = models.DateTimeField(_("立案时间"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("立案人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    dispatched_at = models.DateTimeField(_("首次派遣时间"), null=True, blank=True)
    dispatch_count = models.PositiveSmallIntegerField(_("派遣次数"), default=0)
    accepted_at = models.DateTimeField(_("首次签收时间"), null=True, blank=True)
    done_at = models.DateTimeField(_("处置反馈时间"), null=True, blank=True)
    checked_at = models.DateTimeField(_("核查通过时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    closed_by = _user(_("结案人"))
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    merged_at = models.DateTimeField(_("合并时间"), null=True, blank=True)

    # The last round of each stage: its deadline (extensions included) and whether it ended
    # by then (NULL while it runs).
    verify_deadline = models.DateTimeField(_("核实时限"), null=True, blank=True)
    verify_met = models.BooleanField(_("按时核实"), null=True, blank=True)
    open_deadline = models.DateTimeField(_("立案时限"), null=True, blank=True)
    open_met = models.BooleanField(_("按时立案"), null=True, blank=True)
    dispatch_deadline = models.DateTimeField(_("派遣时限"), null=True, blank=True)
    dispatch_met = models.BooleanField(_("按时派遣"), null=True, blank=True)
    accept_deadline = models.DateTimeField(_("签收时限"), null=True, blank=True)
    accept_met = models.BooleanField(_("按时签收"), null=True, blank=True)
    handle_deadline = models.DateTimeField(_("处置时限"), null=True, blank=True)
    handle_met = models.BooleanField(_("按时处置"), null=True, blank=True)
    check_deadline = models.DateTimeField(_("核查时限"), null=True, blank=True)
    check_met = models.BooleanField(_("按时核查"), null=True, blank=True)
    close_deadline = models.DateTimeField(_("结案时限"), null=True, blank=True)
    close_met = models.BooleanField(_("按时结案"), null=True, blank=True)

    # When the case fell (or will fall) due to be closed: its closing, or the first deadline
    # of its handling (dispatch to close) that was or will be missed, whichever comes first.
    close_due_at = models.DateTimeField(_("应结案时间"), null=True, blank=True)
    closed_on_time = models.BooleanField(_("按期结案"), default=False)

    return_count = models.PositiveSmallIntegerField(_("回退次数"), default=0)
    rework_count = models.PositiveSmallIntegerField(_("返工次数"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    park_count = models.PositiveSmallIntegerField(_("挂账次数"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("重新立案次数"), default=0)
    escalation_count = models.PositiveSmallIntegerField(_("上报区级次数"), default=0)
    satisfaction = models.CharField(_("满意度"), max_length=16, blank=True)
    called_back_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    last_event_id = models.BigIntegerField(_("最后事件"), default=0)

    class Meta:
        verbose_name = _("案件评价汇总")
        verbose_name_plural = _("案件评价汇总")
        indexes = [
            models.Index(fields=["street", "opened_at"], name="summary_street_opened"),
            models.Index(fields=["street", "close_due_at"], name="summary_street_due"),
            models.Index(fields=["street", "called_back_at"], name="summary_street_callback"),
            models.Index(fields=["community", "opened_at"], name="summary_community_opened"),
            models.Index(fields=["community", "close_due_at"], name="summary_community_due"),
            models.Index(fields=["grid", "opened_at"], name="summary_grid_opened"),
            models.Index(fields=["grid", "close_due_at"], name="summary_grid_due"),
            models.Index(fields=["reporter", "reported_at"], name="summary_reporter"),
            models.Index(fields=["opened_by", "opened_at"], name="summary_opener"),
        ]

    def __str__(self) -> str:
        return str(self.case_id)


class CaseStage(models.Model):
    """One round of one clock stage of a case: from the event that started it to the event
    that ended it (NULL while it runs), with the deadline it had at the end."""

    case = models.ForeignKey(
        Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="+"
    )
    seq = models.PositiveSmallIntegerField(_("序号"))
    stage = models.CharField(_("环节"), max_length=16, choices=Stage.choices)
    street = _region(_("街道"))
    # The department holding the case during the round (from the dispatch on).
    department = models.ForeignKey(
        Department,
        verbose_name=_("部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    started_at = models.DateTimeField(_("开始时间"))
    start_action = models.CharField(_("开始动作"), max_length=32)
    started_by = _user(_("开始人"))
    deadline = models.DateTimeField(_("时限"), null=True, blank=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    end_action = models.CharField(_("结束动作"), max_length=32, blank=True)
    ended_by = _user(_("结束人"))
    ended_role = models.CharField(_("结束角色"), max_length=32, blank=True)
    # min(ended_at, deadline): a round falls due when it ends or when its deadline passes.
    due_at = models.DateTimeField(_("到期时间"), null=True, blank=True)
    on_time = models.BooleanField(_("按时"), default=False)
    extensions = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    parks = models.PositiveSmallIntegerField(_("挂账次数"), default=0)
    # What later undid the round's work: "return" (the department dispatched to returned
    # it; on the accept round a dispatch started) or "check_fail" (the work reported done
    # failed its check; on the handle round).
    undone_by = models.CharField(_("被撤销动作"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("案件环节记录")
        verbose_name_plural = _("案件环节记录")
        constraints = [
            models.UniqueConstraint(fields=["case", "seq"], name="case_stage_unique_seq"),
        ]
        indexes = [
            models.Index(fields=["stage", "due_at"], name="stage_due"),
            models.Index(fields=["street", "stage", "due_at"], name="stage_street_due"),
            models.Index(fields=["department", "stage", "due_at"], name="stage_department_due"),
            models.Index(fields=["ended_by", "stage", "due_at"], name="stage_ender_due"),
            models.Index(
                fields=["started_by", "started_at"],
                name="stage_dispatches",
                condition=Q(start_action="dispatch"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.seq} {self.stage}"


class SweepMark(models.Model):
    """The one row saying how far the sweep has read the event log (ids ≤ last_event_id
    are reflected in the rollups). Locked by every sweep and rebuild."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(_("已处理到的事件"), default=0)
    swept_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("评价水位线")
        verbose_name_plural = _("评价水位线")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="sweep_mark_one_row")]

    def __str__(self) -> str:
        return str(self.last_event_id)


def _pct(verbose_name: "StrOrPromise", default: int) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=5, decimal_places=2, default=Decimal(default)
    )


# Version 1's name and note; migration 0002 writes the same (a migration keeps its own copy).
DEFAULT_LABEL = "默认权重(厂商参考值,非官方)"
DEFAULT_NOTE = "docs/evaluation.md lists these defaults and where they come from."


class WeightSet(models.Model):
    """A version of the weights (in percent) and grade bands. Rows are never changed: the
    admin saves an edit as the next version, so every score names the version that made it.
    The seeded version 1 is a vendor's defaults, not an official figure."""

    version = models.PositiveIntegerField(_("版本"), unique=True)
    label = models.CharField(_("名称"), max_length=100)
    is_default = models.BooleanField(_("默认值(非官方)"), default=False)
    note = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    region_closure = _pct(_("区域:结案率"), 50)
    region_on_time = _pct(_("区域:按期结案率"), 50)
    department_volume = _pct(_("部门:处置量"), 10)
    department_volume_full = models.PositiveIntegerField(_("部门:处置量满分件数"), default=100)
    department_closure = _pct(_("部门:结案率"), 30)
    department_on_time = _pct(_("部门:按时处置率"), 30)
    department_rework = _pct(_("部门:1−返工率"), 30)
    worker_valid = _pct(_("网格员:有效上报率"), 40)
    worker_miss = _pct(_("网格员:1−漏报率"), 20)
    worker_verify = _pct(_("网格员:按时核实率"), 20)
    worker_check = _pct(_("网格员:按时核查率"), 20)
    operator_on_time = _pct(_("受理员:按时受理率"), 100)
    lead_on_time_open = _pct(_("值班长:按时立案率"), 40)
    lead_accurate_open = _pct(_("值班长:准确立案率"), 30)
    lead_on_time_close = _pct(_("值班长:按时结案率"), 30)
    dispatcher_on_time = _pct(_("派遣员:按时派遣率"), 50)
    dispatcher_accurate = _pct(_("派遣员:准确派遣率"), 50)
    hotline_response = _pct(_("12345:响应率"), 10)
    hotline_resolution = _pct(_("12345:解决率"), 50)
    hotline_satisfaction = _pct(_("12345:满意率"), 40)
    hotline_basically = models.DecimalField(
        _("12345:基本满意折算系数"), max_digits=3, decimal_places=2, default=Decimal("0.90")
    )
    grade_a = _pct(_("A 级下限"), 90)
    grade_b = _pct(_("B 级下限"), 75)
    grade_c = _pct(_("C 级下限"), 60)
    grade_d = _pct(_("D 级下限"), 40)

    class Meta:
        verbose_name = _("评价权重")
        verbose_name_plural = _("评价权重")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version} {self.label}"
