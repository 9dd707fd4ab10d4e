"""The base databases of each grid: buildings, housing units, people, organisations.

Identity numbers and phones are never stored in clear: each is an AES-GCM ciphertext
(core.crypto, with its key id), an HMAC blind index for exact lookup and de-duplication,
and the masked form shown on screen. Of an identity number only the area code, the birth
year and the sex are kept in clear, and the mask shows the area and the last two
characters: population.protect explains why these together cannot rebuild a number. A
"110105…1234" fragment search goes through a blind index of the last four.
"""

from datetime import date

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex, HashIndex
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.models import Placed, Region


class Building(Placed):
    address = models.CharField(_("地址"), max_length=200)
    address_norm = models.CharField(_("规范化地址"), max_length=200, unique=True)
    name = models.CharField(_("楼栋名称"), max_length=100, blank=True)
    floors = models.PositiveSmallIntegerField(_("层数"), null=True, blank=True)
    footprint = models.MultiPolygonField(_("轮廓"), srid=4326, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        # These two repeat the indexes Placed's grid and street fields already have (as
        # Organisation's (grid, kind) and (street, kind) make theirs redundant); kept as
        # they are in the database until a migration of their own drops them.
        indexes = [models.Index(fields=["grid"]), models.Index(fields=["street"])]

    def __str__(self) -> str:
        return self.address


class HousingUse(models.TextChoices):
    OWNER = "owner", _("自住")
    RENTED = "rented", _("出租")
    VACANT = "vacant", _("空置")
    COMMERCIAL = "commercial", _("商用")
    OTHER = "other", _("其他")


class HousingUnit(models.Model):
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="units"
    )
    unit = models.CharField(_("单元"), max_length=20, blank=True)
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)
    room = models.CharField(_("房号"), max_length=20, blank=True)
    address = models.CharField(_("地址"), max_length=250)
    address_norm = models.CharField(_("规范化地址"), max_length=250, unique=True)
    area_m2 = models.DecimalField(
        _("面积(平方米)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    use = models.CharField(
        _("用途"), max_length=16, choices=HousingUse.choices, default=HousingUse.OWNER
    )
    owner = models.ForeignKey(
        "Person",
        verbose_name=_("产权人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_units",
    )
    # Copied from the building so grid profiles count housing without a join.
    grid = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    street = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("房屋")
        verbose_name_plural = _("房屋")
        indexes = [models.Index(fields=["grid", "use"]), models.Index(fields=["street", "use"])]

    def __str__(self) -> str:
        return self.address


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Hukou(models.TextChoices):
    LOCAL = "local", _("户籍人口")
    FLOATING = "floating", _("流动人口")


class PersonStatus(models.TextChoices):
    LIVING = "living", _("在住")
    MOVED_OUT = "moved_out", _("迁出")
    DECEASED = "deceased", _("死亡")


class Person(models.Model):
    name = models.CharField(_("姓名"), max_length=50)
    id_number_enc = models.BinaryField(_("身份证号(密文)"))
    # Indexes are declared in Meta: a field's unique=/db_index= would add a second,
    # pattern-ops index per column that exact lookups never use and every import pays for.
    id_number_index = models.CharField(max_length=32)
    id_number_masked = models.CharField(_("身份证号"), max_length=18)
    id_area = models.CharField(_("身份证地区码"), max_length=6)  # statistics, fragment search
    id_tail_index = models.CharField(max_length=32)  # blind index of the last four
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    # The year only: with the day the masked number could be completed (see protect).
    birth_year = models.SmallIntegerField(_("出生年份"))
    phone_enc = models.BinaryField(_("电话(密文)"), null=True, blank=True)
    phone_index = models.CharField(max_length=32, blank=True)
    phone_masked = models.CharField(_("电话"), max_length=16, blank=True)
    hukou = models.CharField(_("户籍类型"), max_length=16, choices=Hukou.choices)
    registered_on = models.DateField(_("登记日期"), null=True, blank=True)
    permit_expires_on = models.DateField(_("居住证到期"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=PersonStatus.choices, default=PersonStatus.LIVING
    )
    # Where the person lives now (from the current residence), for scoping and profiles.
    # Their own indexes would duplicate the (grid, hukou) and (street, hukou) ones.
    grid = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    street = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("人口")
        verbose_name_plural = _("人口")
        indexes = [
            models.Index(fields=["grid", "hukou"]),
            models.Index(fields=["street", "hukou"]),
            # Both are looked up by equality only, over values spread at random (blind
            # indexes): hash indexes are a third the size of B-trees on them, so a
            # million-row import maintains them in less time (~3 s of 18). Fragment search
            # always has the last four (110105****1234 or 1234); the area code, when
            # given, is a filter on the few rows found.
            HashIndex(fields=["id_tail_index"], name="person_id_tail_hash"),
            HashIndex(fields=["phone_index"], name="person_phone_hash"),
            GinIndex(fields=["name"], name="person_name_trgm", opclasses=["gin_trgm_ops"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["id_number_index"], name="person_id_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_masked}"

    def age_on(self, today: date) -> int:
        """The age reached in `today`'s year: only the birth year is known."""
        return today.year - self.birth_year

    @property
    def age(self) -> int:
        return self.age_on(timezone.localdate())


class Residence(models.Model):
    class Relation(models.TextChoices):
        OWNER = "owner", _("产权人")
        TENANT = "tenant", _("租户")
        FAMILY = "family", _("家庭成员")
        COLLECTIVE = "collective", _("集体户")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="residences")
    unit = models.ForeignKey(HousingUnit, on_delete=models.PROTECT, related_name="residences")
    relation = models.CharField(_("关系"), max_length=16, choices=Relation.choices)
    since = models.DateField(_("起始日期"), null=True, blank=True)
    until = models.DateField(_("截止日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("居住关系")
        verbose_name_plural = _("居住关系")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "unit", "relation"],
                condition=Q(until__isnull=True),
                name="residence_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} @ {self.unit_id}"


class CareTag(models.Model):
    class Tag(models.TextChoices):
        ELDERLY_ALONE = "elderly_alone", _("独居老人")
        DISABLED = "disabled", _("残疾人")
        LOW_INCOME = "low_income", _("低保")
        SPECIAL_HARDSHIP = "hardship", _("特困供养")
        VETERAN = "veteran", _("优抚对象")
        LEFT_BEHIND_CHILD = "left_behind_child", _("留守儿童")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="care_tags")
    tag = models.CharField(_("关怀类别"), max_length=24, choices=Tag.choices)
    since = models.DateField(_("起始日期"), null=True, blank=True)
    until = models.DateField(_("截止日期"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("关怀标签")
        verbose_name_plural = _("关怀标签")
        constraints = [models.UniqueConstraint(fields=["person", "tag"], name="care_tag_unique")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.tag}"


class Organisation(Placed):
    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", _("企业")
        SHOP = "shop", _("个体工商户")
        SOCIAL = "social", _("社会组织")
        SCHOOL = "school", _("学校")
        GOVERNMENT = "government", _("机关单位")
        COMMERCIAL_BUILDING = "commercial_building", _("商务楼宇")

    name = models.CharField(_("名称"), max_length=200)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    kind = models.CharField(_("类型"), max_length=24, choices=Kind.choices)
    address = models.CharField(_("地址"), max_length=250, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone_enc = models.BinaryField(null=True, blank=True)
    contact_phone_index = models.CharField(max_length=32, blank=True, db_index=True)
    contact_phone_masked = models.CharField(_("联系电话"), max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        indexes = [
            models.Index(fields=["grid", "kind"]),
            models.Index(fields=["street", "kind"]),
            GinIndex(fields=["name"], name="organisation_name_trgm", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return self.name


class RevealAudit(models.Model):
    """One row per revealed identifier: who saw whose what, when, and why."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    field = models.CharField(_("字段"), max_length=32)
    reason = models.CharField(_("查看原因"), max_length=300)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("查看明文记录")
        verbose_name_plural = _("查看明文记录")
        ordering = ["-at"]
        permissions = [("reveal_personal_data", _("可查看完整身份证号和电话"))]

    def __str__(self) -> str:
        return f"{self.user_id} {self.field} {self.at:%Y-%m-%d %H:%M}"


class ImportTemplate(models.Model):
    """A remembered column mapping, found again by the file's header signature."""

    kind = models.CharField(max_length=16)
    name = models.CharField(max_length=100)
    header_signature = models.CharField(max_length=64)
    mapping = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "header_signature"], name="import_template_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("等待中")
        RUNNING = "running", _("导入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("类型"), max_length=16)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=200)
    mapping = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict)  # created, updated, merged, unchanged, rejected
    rejected = models.JSONField(default=list)  # [{"row": n, "reason": "..."}], capped
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.original_name}"
