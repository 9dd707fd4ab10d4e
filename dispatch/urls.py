"""Page URLs of the closed loop. Each audience's module adds its own patterns."""

from django.urls import include, path

app_name = "dispatch"

urlpatterns = [
    path("centre/", include("dispatch.views.centre_urls")),
    path("field/", include("dispatch.views.field_urls")),
]
