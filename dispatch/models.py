"""Who acts on cases and by when: departments, routing policy, assignments, the calendar,
notifications."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Category, Urgency
from grids.models import Region


class Department(models.Model):
    """A responsible department (专业部门 / 处置单位), at district or street level."""

    class Level(models.TextChoices):
        DISTRICT = "district", _("区级")
        STREET = "street", _("街道级")

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=16, choices=Level.choices)
    # What it does (城管, 环卫, 市政 …): routing names a kind, the location picks the unit.
    kind = models.CharField(_("职能"), max_length=16, blank=True, db_index=True)
    region = models.ForeignKey(
        Region,
        verbose_name=_("所属辖区"),
        on_delete=models.PROTECT,
        related_name="departments",
        help_text=_("区级部门属于区,街道级部门属于所在街道"),
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="department_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class DepartmentMembership(models.Model):
    class Role(models.TextChoices):
        HANDLER = "handler", _("部门处置人员")
        HEAD = "head", _("部门负责人")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="department_memberships",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("部门"), on_delete=models.CASCADE, related_name="members"
    )
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices, default=Role.HANDLER)

    class Meta:
        verbose_name = _("部门人员")
        verbose_name_plural = _("部门人员")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "department"], name="department_membership_unique"
            ),
            models.CheckConstraint(
                condition=Q(role__in=["handler", "head"]), name="department_membership_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.department}"


class TimeUnit(models.TextChoices):
    WORK_HOURS = "work_hours", _("工作时")
    WORK_DAYS = "work_days", _("工作日")
    NATURAL_HOURS = "natural_hours", _("自然小时")


class Stage(models.TextChoices):
    """Clock stages: each status belongs to one (see dispatch.workflow.STAGE_OF)."""

    VERIFY = "verify", _("核实")
    OPEN = "open", _("立案")
    DISPATCH = "dispatch", _("派遣")
    ACCEPT = "accept", _("签收")
    HANDLE = "handle", _("处置")
    CHECK = "check", _("核查")
    CLOSE = "close", _("结案")


class CategoryPolicy(models.Model):
    """Per subcategory and urgency: who handles it by default and each stage's time limit.

    `limits` maps a Stage to [amount, TimeUnit], e.g. {"handle": [4, "work_hours"]}.
    A case copies the policy when it is opened and keeps it (Case.sla_policy).
    """

    class Principle(models.TextChoices):
        OWNER = "owner", _("属主优先(部件)")
        LOCALITY = "locality", _("属地优先(事件)")

    category = models.ForeignKey(
        Category,
        verbose_name=_("小类"),
        on_delete=models.CASCADE,
        related_name="policies",
        limit_choices_to={"parent__isnull": False},
    )
    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices)
    principle = models.CharField(_("派遣原则"), max_length=16, choices=Principle.choices)
    department_kind = models.CharField(
        _("默认责任部门职能"),
        max_length=16,
        help_text=_("属地优先时取所在街道该职能的部门,属主优先时取区级该职能的部门"),
    )
    limits = models.JSONField(_("各环节时限"), default=dict)

    class Meta:
        verbose_name = _("类别时限与派遣规则")
        verbose_name_plural = _("类别时限与派遣规则")
        constraints = [
            models.UniqueConstraint(fields=["category", "urgency"], name="policy_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.category} · {self.get_urgency_display()}"


class Assignment(models.Model):
    """A case dispatched to a department. One active assignment per case at a time."""

    class Request(models.TextChoices):
        NONE = "", _("无")
        EXTENSION = "extension", _("延期申请")
        PARK = "park", _("挂账申请")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="assignments")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="assignments")
    active = models.BooleanField(default=True)
    dispatched_at = models.DateTimeField(auto_now_add=True)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    pending_request = models.CharField(
        max_length=16, choices=Request.choices, default=Request.NONE, blank=True
    )
    requested_deadline = models.DateTimeField(null=True, blank=True)
    request_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("派遣任务")
        verbose_name_plural = _("派遣任务")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(active=True), name="assignment_one_active"
            ),
        ]
        indexes = [
            models.Index(
                fields=["department", "case"],
                name="assignment_active_dept",
                condition=Q(active=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.department_id}"


class CalendarOverride(models.Model):
    """A date whose working status differs from chinese-calendar (or past its range)."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("工作日历调整")
        verbose_name_plural = _("工作日历调整")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'workday' if self.is_workday else 'holiday'}"


class Notification(models.Model):
    """In-app notification; email and SMS go through pluggable senders (dispatch.notify)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, null=True, related_name="+")
    kind = models.CharField(max_length=32)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["user", "-created_at"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.message
