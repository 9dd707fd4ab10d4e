"""Command centre URLs under /centre/ (app namespace "dispatch", names prefixed "centre")."""

from django.urls import path

from . import case_view, centre, centre_map

urlpatterns = [
    path("", centre.centre, name="centre"),
    path("counts/", centre.counts, name="centre-counts"),
    path("queues/<slug:key>/", centre.queue_cases, name="centre-queue"),
    path("cases/nearest/", centre_map.nearest, name="centre-nearest"),
    path("cases/<int:pk>/", centre.case_panel, name="centre-case"),
    path("cases/<int:pk>/act/", centre.case_action, name="centre-case-act"),
    path("photos/<int:pk>/<str:size>/", case_view.photo, name="centre-photo"),
    path("tiles/cases/<int:z>/<int:x>/<int:y>.pbf", centre_map.case_tile, name="centre-tile"),
]
