"""The roles people hold (docs/domain.md). Shared by every app, so it lives in the bottom layer."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("网格员")
    INTAKE_OPERATOR = "intake_operator", _("受理员")
    SHIFT_LEAD = "shift_lead", _("值班长")
    DISPATCHER = "dispatcher", _("派遣员")
    HANDLER = "handler", _("部门处置人员")
    LEADER = "leader", _("领导")
    DATA_ADMIN = "data_admin", _("数据管理员")
