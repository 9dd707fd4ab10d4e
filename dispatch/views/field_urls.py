"""Field pages under /field/ (app namespace "dispatch", names prefixed "field-")."""

from django.urls import path

from . import case_view, field, field_actions, hotline, inbox

urlpatterns = [
    path("report/", field.report, name="field-report"),
    path("report/<int:case_id>/done/", field.report_done, name="field-report-done"),
    path("tasks/", field.tasks, name="field-tasks"),
    path("cases/<int:case_id>/", field_actions.case_page, name="field-case"),
    path("cases/<int:case_id>/act/", field_actions.case_action, name="field-case-act"),
    path("photos/<int:pk>/", case_view.photo, name="field-photo"),
    path(
        "photos/<int:pk>/thumb/",
        case_view.photo,
        {"size": "thumb"},
        name="field-photo-thumb",
    ),
    path("inbox/", inbox.inbox, name="field-inbox"),
    path("hotline/", hotline.hotline, name="field-hotline"),
    path("hotline/<int:case_id>/done/", hotline.hotline_done, name="field-hotline-done"),
]
