"""Page URLs of the base databases, included under /population/ (app namespace "population").

The grid profile page (/population/profile/<code>/) is the project's (chaoyang.views_profile):
it shows open cases too, which population may not import. Its building layer is here.
"""

from django.urls import path

from . import audit, pages

urlpatterns = [
    path("", pages.search, name="search"),
    path("persons/<int:pk>/", pages.person_detail, name="person"),
    path("persons/<int:pk>/reveal/", pages.person_reveal, name="person-reveal"),
    path("organisations/<int:pk>/", pages.organisation_detail, name="organisation"),
    path("organisations/<int:pk>/reveal/", pages.organisation_reveal, name="organisation-reveal"),
    path("export/<slug:kind>.xlsx", pages.export, name="export"),
    path("regions/<str:code>/buildings.geojson", pages.region_buildings, name="region-buildings"),
    path("audit/", audit.audit_list, name="audit"),
    path("audit/export.csv", audit.audit_export, {"fmt": "csv"}, name="audit-export-csv"),
    path("audit/export.xlsx", audit.audit_export, {"fmt": "xlsx"}, name="audit-export-xlsx"),
]
