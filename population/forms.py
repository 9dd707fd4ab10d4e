"""Forms of the base-database pages: search filters, the reveal reason, the clear export."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CareTag, HousingUse, Hukou, Organisation, PersonStatus
from .reveal import MAX_REASON, MIN_REASON

KINDS = (
    ("persons", _("人口")),
    ("housing", _("房屋")),
    ("organisations", _("组织")),
)


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", _("全部")), *choices]


class SearchForm(forms.Form):
    kind = forms.ChoiceField(label=_("查询对象"), choices=KINDS, required=False)
    q = forms.CharField(
        label=_("关键词"),
        required=False,
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    region = forms.CharField(
        label=_("辖区编码"),
        required=False,
        max_length=15,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "pattern": r"\d{6,15}"}),
    )
    hukou = forms.ChoiceField(label=_("户籍类型"), choices=_blank(Hukou.choices), required=False)
    status = forms.ChoiceField(
        label=_("状态"), choices=_blank(PersonStatus.choices), required=False
    )
    care = forms.ChoiceField(
        label=_("关怀类别"), choices=_blank(CareTag.Tag.choices), required=False
    )
    use = forms.ChoiceField(label=_("房屋用途"), choices=_blank(HousingUse.choices), required=False)
    org_kind = forms.ChoiceField(
        label=_("组织类型"), choices=_blank(Organisation.Kind.choices), required=False
    )

    def clean_kind(self) -> str:
        return self.cleaned_data.get("kind") or "persons"

    def clean_region(self) -> str:
        code = (self.cleaned_data.get("region") or "").strip()
        if code and not (code.isdigit() and len(code) in (6, 9, 12, 15)):
            raise forms.ValidationError(_("辖区编码应为 6、9、12 或 15 位数字。"))
        return code


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("查看原因"),
        min_length=MIN_REASON,
        max_length=MAX_REASON,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("至少 %(n)s 个字,将记入审计日志。") % {"n": MIN_REASON},
        error_messages={
            "required": _("请填写查看原因。"),
            "min_length": _("查看原因至少 %(limit_value)d 个字。"),
        },
    )


class AuditFilterForm(forms.Form):
    user = forms.CharField(label=_("用户名"), required=False, max_length=150)
    since = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
