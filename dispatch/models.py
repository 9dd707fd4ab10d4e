"""Who acts on cases: departments and their staff. The workflow arrives with the closed loop."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from grids.models import Region


class Department(models.Model):
    """A responsible department (专业部门 / 处置单位), at district or street level."""

    class Level(models.TextChoices):
        DISTRICT = "district", _("区级")
        STREET = "street", _("街道级")

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=16, choices=Level.choices)
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
