"""What a case is: categories, cases, photos and the append-only event log (its kinds and
writers are in cases/events.py). What may happen to a case is dispatch/'s."""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import HashIndex
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.models import Placed, placement_fk


class Category(models.Model):
    """A two-level tree: 大类 (parent NULL) and 小类. Cases use 小类."""

    class Kind(models.TextChoices):
        EVENT = "event", _("事件")
        COMPONENT = "component", _("部件")
        SERVICE = "service", _("社会服务")

    code = models.CharField(_("编码"), max_length=8, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("大类"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    examples = models.CharField(_("示例"), max_length=200, blank=True)
    # Duplicate suggestions: open cases of the same category this near and this recent.
    duplicate_radius_m = models.PositiveIntegerField(_("查重半径(米)"), default=100)
    duplicate_window_hours = models.PositiveIntegerField(_("查重时间窗(小时)"), default=72)
    active = models.BooleanField(_("启用"), default=True)
    sort = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("案件类别")
        verbose_name_plural = _("案件类别")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_leaf(self) -> bool:
        return self.parent_id is not None


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    CRITICAL = "critical", _("特急")


class Source(models.TextChoices):
    GRID_WORKER = "grid_worker", _("网格员上报")
    HOTLINE = "hotline", _("热线")
    WEB = "web", _("网站")
    OPEN311 = "open311", _("Open311")
    PATROL = "patrol", _("巡查")
    TRANSFER = "transfer", _("上级转办")


class Status(models.TextChoices):
    REPORTED = "reported", _("待受理")
    VERIFYING = "verifying", _("待核实")
    VERIFIED = "verified", _("已核实")
    UNCONFIRMED = "unconfirmed", _("核实未发现")
    OPEN = "open", _("已立案")
    ESCALATED = "escalated", _("已上报区级")
    DISPATCHED = "dispatched", _("已派遣")
    ACCEPTED = "accepted", _("处置中")
    RETURNED = "returned", _("已回退")
    DONE = "done", _("已反馈待核查")
    CHECKED = "checked", _("核查通过")
    PARKED = "parked", _("已挂账")
    CLOSED = "closed", _("已结案")
    VOID = "void", _("已作废")
    MERGED = "merged", _("已合并")


FINAL_STATUSES = (Status.CLOSED, Status.VOID, Status.MERGED)


class Light(models.TextChoices):
    GREEN = "green", _("绿灯")
    YELLOW = "yellow", _("黄灯")
    RED = "red", _("红灯")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY = "basically", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class Case(Placed):
    number = models.CharField(_("案件编号"), max_length=32, unique=True)
    # No single-column indexes where a composite one starts with the column (category,
    # grid; events' case): every report writes each index, and these answered nothing the
    # composite ones don't.
    category = models.ForeignKey(
        Category,
        verbose_name=_("类别"),
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    urgency = models.CharField(
        _("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    description = models.TextField(_("问题描述"), max_length=4000)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    # location, community and street come from Placed; grid is redeclared without an index
    # of its own, which the (grid, status) index below already provides.
    grid = placement_fk(_("网格"), db_index=False)
    outside_jurisdiction = models.BooleanField(_("非本辖区"), default=False)
    source = models.CharField(_("来源渠道"), max_length=16, choices=Source.choices)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上报人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reported_cases",
    )
    # A citizen's contact: encrypted at rest (core.crypto), shown masked.
    citizen_name = models.CharField(_("市民姓名"), max_length=50, blank=True)
    citizen_phone_enc = models.BinaryField(_("市民电话(密文)"), null=True, blank=True)
    citizen_phone_index = models.CharField(max_length=32, blank=True)
    citizen_phone_masked = models.CharField(_("市民电话"), max_length=20, blank=True)

    status = models.CharField(_("状态"), max_length=16, choices=Status.choices)
    # District or street handles it now: escalation moves it to the district centre.
    handling_level = models.CharField(
        _("处置层级"),
        max_length=16,
        default="street",
        choices=[("street", _("街道")), ("district", _("区级"))],
    )
    stage_started_at = models.DateTimeField(_("本环节开始"), null=True, blank=True)
    deadline = models.DateTimeField(_("本环节时限"), null=True, blank=True)
    warning_at = models.DateTimeField(_("预警时间"), null=True, blank=True)
    light = models.CharField(_("灯色"), max_length=8, choices=Light.choices, default=Light.GREEN)
    # Parking stops the clock: the working time left is kept and restored on unpark.
    paused_remaining_s = models.PositiveIntegerField(null=True, blank=True)
    supervised = models.BooleanField(_("督办"), default=False)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("合并至"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_cases",
    )
    # The time limits the case was opened under, frozen: later edits to the policy don't
    # move an open case's clock.
    sla_policy = models.JSONField(_("时限策略"), default=dict, blank=True)
    verification_required = models.BooleanField(_("需核实"), default=False)
    rework_count = models.PositiveSmallIntegerField(_("返工次数"), default=0)
    return_count = models.PositiveSmallIntegerField(_("回退次数"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    satisfaction = models.CharField(
        _("满意度"), max_length=16, choices=Satisfaction.choices, blank=True
    )
    # Unique through Meta.constraints: a unique field would also get a LIKE-pattern index
    # that nothing asks.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    # A digest of the request that first used the key: the same key with another request
    # is refused (422) instead of silently answering with this case.
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, default="")
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("上报时间"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    opened_at = models.DateTimeField(_("立案时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-created_at"]
        indexes = [
            # The SLA sweep's two questions, each over a partial index that rows leave as
            # soon as they are answered (the light changes), so both stay small.
            models.Index(
                fields=["deadline"],
                name="case_due_red",
                condition=~Q(status__in=["closed", "void", "merged"]) & ~Q(light="red"),
            ),
            models.Index(
                fields=["warning_at"],
                name="case_due_yellow",
                condition=~Q(status__in=["closed", "void", "merged"]) & Q(light="green"),
            ),
            models.Index(
                fields=["street", "status"],
                name="case_open_street",
                condition=~Q(status__in=["closed", "void", "merged"]),
            ),
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["grid", "status"]),
            models.Index(fields=["category", "created_at"]),
            models.Index(fields=["updated_at"]),
            # A blind index is looked up by equality only.
            HashIndex(fields=["citizen_phone_index"], name="case_citizen_phone"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="case_idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class CaseNumberCounter(models.Model):
    """Daily sequence for case numbers, advanced with one atomic UPSERT."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class CaseEvent(models.Model):
    """Append-only: a database trigger refuses UPDATE and DELETE (migration 0002)."""

    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="events", db_index=False
    )  # indexed by (case, at) below
    action = models.CharField(_("动作"), max_length=32)
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_role = models.CharField(_("操作角色"), max_length=32, blank=True)
    unit = models.CharField(_("单位"), max_length=100, blank=True)
    # A default, not auto_now_add: generated history writes the times its events happened.
    at = models.DateTimeField(_("时间"), default=timezone.now)
    note = models.TextField(_("意见"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)

    class Meta:
        verbose_name = _("案件日志")
        verbose_name_plural = _("案件日志")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


def photo_path(instance: "Attachment", filename: str) -> str:
    return f"cases/{instance.case_id}/{instance.sha256[:16]}.jpg"


def thumb_path(instance: "Attachment", filename: str) -> str:
    return f"cases/{instance.case_id}/{instance.sha256[:16]}.thumb.jpg"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        BEFORE = "before", _("处置前")
        AFTER = "after", _("处置后")
        CHECK = "check", _("核查")
        OTHER = "other", _("其他")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    event = models.ForeignKey(
        CaseEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="attachments"
    )
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    image = models.ImageField(_("照片"), upload_to=photo_path)
    thumbnail = models.ImageField(_("缩略图"), upload_to=thumb_path)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("照片")
        verbose_name_plural = _("照片")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"
