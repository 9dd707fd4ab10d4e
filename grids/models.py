"""The territory: district → street/township → community/village → unit grid.

All four levels live in one table: they share code, name, boundary and parent, and one
table lets memberships, imports and map layers treat every level alike. Boundaries are
stored in WGS 84 (SRID 4326); GCJ-02 and CGCS2000 are converted at the edges.
"""

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.roles import Role

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a development dependency: types only


class Level(models.IntegerChoices):
    DISTRICT = 1, _("区")
    STREET = 2, _("街道/乡")
    COMMUNITY = 3, _("社区/村")
    GRID = 4, _("单元网格")


# DB11/T 2157: 6-digit district + 3 street + 3 community + 3 grid sequence.
CODE_LENGTH = {Level.DISTRICT: 6, Level.STREET: 9, Level.COMMUNITY: 12, Level.GRID: 15}
PARENT_LEVEL = {
    Level.STREET: Level.DISTRICT,
    Level.COMMUNITY: Level.STREET,
    Level.GRID: Level.COMMUNITY,
}


class Region(models.Model):
    level = models.PositiveSmallIntegerField(_("层级"), choices=Level.choices)
    code = models.CharField(_("编码"), max_length=15, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(
        _("类型"), max_length=20, blank=True, help_text=_("例如 街道 / 地区 / 社区 / 村")
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        on_delete=models.PROTECT,
        related_name="children",
        null=True,
        blank=True,
    )
    boundary = models.MultiPolygonField(_("边界"), srid=4326)
    area_m2 = models.FloatField(_("面积(平方米)"), default=0)
    responsible = models.CharField(
        _("责任主体"),
        max_length=200,
        blank=True,
        help_text=_("留空表示属地兜底"),
    )
    synthetic = models.BooleanField(
        _("合成边界"), default=False, help_text=_("演示用的合成边界,并非真实行政区划")
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("辖区")
        verbose_name_plural = _("辖区")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["level", "parent"]),
            models.Index(fields=["name"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(level=Level.DISTRICT) | Q(parent__isnull=False),
                name="region_parent_required_below_district",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


def placement_fk(
    verbose_name: "StrOrPromise", *, db_index: bool = True
) -> "models.ForeignKey[Region | None, Region | None]":
    """A link from a placed row to one level of the territory (see `Placed`).

    `db_index=False` is for a model whose composite index already starts with the column.
    """
    return models.ForeignKey(
        Region,
        verbose_name=verbose_name,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=db_index,
    )


class Placed(models.Model):
    """Anything placed in the territory by a point (a report, a building, an organisation).

    The unit grid covering the point, and that grid's community and street, are found once
    when the row is written (`grids.covering`, the one point → grid definition) and stored,
    so every later filter by territory (`grids.scope`) is a plain indexed column. No row
    points back from a region (related_name "+"), and a region with rows placed in it
    cannot be deleted (PROTECT).

    Each of the three columns gets its own index unless the model redeclares the field
    with `placement_fk(..., db_index=False)` because a composite index of its own starts
    with the column.
    """

    location = models.PointField(_("位置"), srid=4326, null=True, blank=True)
    grid = placement_fk(_("网格"))
    community = placement_fk(_("社区"))
    street = placement_fk(_("街道"))

    class Meta:
        abstract = True


class Membership(models.Model):
    """A staff member's place in the territory: which region, in which role.

    Department handlers belong to departments instead (dispatch.DepartmentMembership).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    region = models.ForeignKey(
        Region, verbose_name=_("辖区"), on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("人员归属")
        verbose_name_plural = _("人员归属")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "region", "role"], name="membership_unique_user_region_role"
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.HANDLER), name="membership_handler_via_department"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.region.name}"
