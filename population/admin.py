"""Admin for the base databases, for data administrators.

Identifiers are never shown in clear here and never edited as ciphertext: the forms take a
new identity number or phone as write-only input and every save goes through the services
(validation, de-duplication, protection, grid at write time). The reveal audit is
read-only, with CSV and .xlsx exports.
"""

import csv
from datetime import date
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from grids.scope import EVERYTHING

from . import services
from .audit_export import AUDIT_HEADER, audit_row, audit_xlsx
from .models import (
    Building,
    CareTag,
    HousingUnit,
    ImportJob,
    ImportTemplate,
    Organisation,
    Person,
    Residence,
    RevealAudit,
)
from .protect import reveal_id_number, reveal_phone

IDENTITY_HELP = _("只写:新建时必填;修改时留空表示不变。保存后仅显示脱敏号码。")


class ServiceForm(forms.ModelForm):
    """A model form whose clean() asks the service whether the save would be refused."""

    def service_error(self, exc: services.Invalid) -> None:
        message = str(exc)
        field = exc.field if exc.field in self.fields else None
        self.add_error(field, message)


class PersonForm(ServiceForm):
    id_number = forms.CharField(label=_("身份证号"), required=False, help_text=IDENTITY_HELP)
    phone = forms.CharField(label=_("电话"), required=False, help_text=IDENTITY_HELP)

    class Meta:
        model = Person
        fields = ["name", "hukou", "registered_on", "permit_expires_on", "status"]

    def input(self) -> services.PersonInput:
        cd = self.cleaned_data
        existing = self.instance if self.instance.pk else None
        number = cd.get("id_number") or (
            reveal_id_number(bytes(existing.id_number_enc)) if existing else ""
        )
        phone = cd.get("phone") or (
            reveal_phone(bytes(existing.phone_enc)) if existing and existing.phone_enc else ""
        )
        return services.PersonInput(
            name=cd.get("name", ""),
            id_number=number,
            phone=phone,
            hukou=cd.get("hukou", ""),
            registered_on=cd.get("registered_on"),
            permit_expires_on=cd.get("permit_expires_on"),
            status=cd.get("status", ""),
        )

    def clean(self) -> dict[str, Any]:
        cd = super().clean() or {}
        if not self.instance.pk and not cd.get("id_number"):
            self.add_error("id_number", _("新建人员时必须填写身份证号。"))
            return cd
        try:
            services.person_validate(
                data=self.input(), person=self.instance if self.instance.pk else None
            )
        except services.Invalid as exc:
            self.service_error(exc)
        return cd


class CareTagInline(admin.TabularInline):
    model = CareTag
    extra = 0


class ResidenceInline(admin.TabularInline):
    model = Residence
    extra = 0
    raw_id_fields = ["unit"]
    fields = ["unit", "relation", "since", "until"]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    form = PersonForm
    list_display = [
        "name",
        "id_number_masked",
        "sex",
        "age_display",
        "phone_masked",
        "hukou",
        "status",
        "grid",
    ]
    list_filter = ["hukou", "status", "sex"]
    search_fields = ["name"]
    list_select_related = ["grid"]
    readonly_fields = ["id_number_masked", "phone_masked", "sex", "age_display", "grid", "street"]
    inlines = [CareTagInline, ResidenceInline]
    show_full_result_count = False  # a count of a million rows on every page is wasted
    list_per_page = 50

    @admin.display(description=_("年龄"), ordering="-birth_year")
    def age_display(self, obj: Person) -> str:
        # The age, never a birth date: with the masked number a date would complete it.
        return _("%(age)s 岁") % {"age": obj.age} if obj.pk else "—"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Person], search_term: str
    ) -> tuple[QuerySet[Person], bool]:
        """A full identity number, a masked fragment or a phone searches through the
        blind indexes and the area column, as on the search page."""
        from .selectors import Mode, PersonFilters, classify_person_query, person_search

        query = classify_person_query(search_term)
        if query.mode in (Mode.ID_NUMBER, Mode.ID_FRAGMENT, Mode.PHONE, Mode.INVALID):
            found = person_search(EVERYTHING, query, PersonFilters())
            return queryset.filter(pk__in=found.values("pk")), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request: HttpRequest, obj: Person, form: Any, change: bool) -> None:
        data = form.input()
        if change:
            saved = services.person_update(person=Person.objects.get(pk=obj.pk), data=data)
        else:
            saved = services.person_create(data=data)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # A residence edited inline may move the person to another grid.
        services.people.persons_follow_residence(person_id=form.instance.pk)


class BuildingForm(ServiceForm):
    class Meta:
        model = Building
        fields = ["address", "name", "floors", "location", "footprint"]

    def input(self) -> services.BuildingInput:
        cd = self.cleaned_data
        return services.BuildingInput(
            address=cd.get("address", ""),
            location=cd.get("location"),
            footprint=cd.get("footprint"),
            name=cd.get("name", ""),
            floors=cd.get("floors"),
        )

    def clean(self) -> dict[str, Any]:
        cd = super().clean() or {}
        try:
            services.building_validate(
                data=self.input(), building=self.instance if self.instance.pk else None
            )
        except services.Invalid as exc:
            self.service_error(exc)
        return cd


@admin.register(Building)
class BuildingAdmin(LeafletGeoAdmin):
    form = BuildingForm
    list_display = ["address", "name", "floors", "grid", "street"]
    search_fields = ["address", "address_norm", "name"]
    list_select_related = ["grid", "street"]
    readonly_fields = ["address_norm", "grid", "community", "street"]
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Building, form: Any, change: bool) -> None:
        if change:
            saved = services.building_update(
                building=Building.objects.get(pk=obj.pk), data=form.input()
            )
        else:
            saved = services.building_create(data=form.input())
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(HousingUnit)
class HousingUnitAdmin(admin.ModelAdmin):
    list_display = ["address", "use", "area_m2", "owner", "grid"]
    list_filter = ["use"]
    search_fields = ["address", "address_norm"]
    raw_id_fields = ["building", "owner"]
    list_select_related = ["grid", "owner"]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The address is made from the building, unit and room at creation, then kept:
        # it is the key imports merge on.
        fixed = ["address", "address_norm", "grid", "street"]
        return fixed + (["building", "unit", "floor", "room"] if obj else [])

    def save_model(self, request: HttpRequest, obj: HousingUnit, form: Any, change: bool) -> None:
        cd = form.cleaned_data
        if change:
            saved = services.housing_unit_update(
                housing=HousingUnit.objects.get(pk=obj.pk),
                use=cd.get("use"),
                area_m2=cd.get("area_m2"),
                owner=cd.get("owner"),
            )
        else:
            saved = services.housing_unit_create(
                building=cd["building"],
                unit=cd.get("unit", ""),
                floor=cd.get("floor"),
                room=cd.get("room", ""),
                area_m2=cd.get("area_m2"),
                use=cd.get("use") or "owner",
                owner=cd.get("owner"),
            )
        obj.pk = saved.pk
        obj.refresh_from_db()


class OrganisationForm(ServiceForm):
    contact_phone = forms.CharField(label=_("联系电话"), required=False, help_text=IDENTITY_HELP)

    class Meta:
        model = Organisation
        fields = ["name", "credit_code", "kind", "address", "location", "contact_name"]

    def input(self) -> services.OrganisationInput:
        cd = self.cleaned_data
        existing = self.instance if self.instance.pk else None
        phone = cd.get("contact_phone") or (
            reveal_phone(bytes(existing.contact_phone_enc))
            if existing and existing.contact_phone_enc
            else ""
        )
        return services.OrganisationInput(
            name=cd.get("name", ""),
            credit_code=cd.get("credit_code", ""),
            kind=cd.get("kind", ""),
            address=cd.get("address", ""),
            location=cd.get("location"),
            contact_name=cd.get("contact_name", ""),
            contact_phone=phone,
        )

    def clean(self) -> dict[str, Any]:
        cd = super().clean() or {}
        try:
            services.organisation_validate(
                data=self.input(), organisation=self.instance if self.instance.pk else None
            )
        except services.Invalid as exc:
            self.service_error(exc)
        return cd


@admin.register(Organisation)
class OrganisationAdmin(LeafletGeoAdmin):
    form = OrganisationForm
    list_display = ["name", "credit_code", "kind", "contact_phone_masked", "grid", "street"]
    list_filter = ["kind"]
    search_fields = ["name", "=credit_code"]
    list_select_related = ["grid", "street"]
    readonly_fields = ["contact_phone_masked", "grid", "community", "street"]
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Organisation, form: Any, change: bool) -> None:
        if change:
            saved = services.organisation_update(
                organisation=Organisation.objects.get(pk=obj.pk), data=form.input()
            )
        else:
            saved = services.organisation_create(data=form.input())
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.action(description=_("导出所选记录为 CSV"))
def export_audit_csv(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[RevealAudit]
) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reveal-audit-{date.today()}.csv"'
    response.write("\ufeff")  # Excel reads the UTF-8 Chinese correctly with a BOM
    writer = csv.writer(response)
    writer.writerow([str(h) for h in AUDIT_HEADER])
    for audit in queryset.select_related("user", "person", "organisation").iterator():
        writer.writerow(audit_row(audit))
    return response


@admin.action(description=_("导出所选记录为 Excel"))
def export_audit_xlsx(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[RevealAudit]
) -> FileResponse:
    audits = queryset.select_related("user", "person", "organisation").iterator()
    return FileResponse(
        audit_xlsx(audits),
        as_attachment=True,
        filename=f"reveal-audit-{timezone.localdate()}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@admin.register(RevealAudit)
class RevealAuditAdmin(admin.ModelAdmin):
    """Read-only: the audit is written by the reveal service and never edited."""

    list_display = ["at", "user", "person", "organisation", "field", "reason", "ip"]
    list_filter = ["field"]
    date_hierarchy = "at"
    search_fields = ["user__username", "user__first_name", "reason", "person__name"]
    list_select_related = ["user", "person", "organisation"]
    actions = [export_audit_csv, export_audit_xlsx]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ImportTemplate)
class ImportTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "header_signature", "created_by", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    raw_id_fields = ["created_by"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["original_name", "kind", "status", "processed_rows", "total_rows", "created_by", "created_at"]  # fmt: skip  # noqa: E501
    list_filter = ["kind", "status"]
    search_fields = ["original_name"]
    raw_id_fields = ["created_by"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # imports start from the import page, which runs them as tasks
