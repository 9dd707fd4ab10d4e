"""Import pages under /population/imports/ (app namespace "population", names "import…")."""

from django.urls import path

from . import imports

urlpatterns = [
    path("imports/", imports.imports_home, name="imports"),
    path("imports/<int:pk>/", imports.import_preview, name="import-preview"),
    path("imports/<int:pk>/progress/", imports.import_progress, name="import-progress"),
    path("imports/<int:pk>/status/", imports.import_status, name="import-status"),
    path("imports/<int:pk>/report/", imports.import_report, name="import-report"),
    path("imports/<int:pk>/report.xlsx", imports.import_report_xlsx, name="import-report-xlsx"),
    path("imports/templates/<slug:kind>.xlsx", imports.import_template, name="import-template"),
]
