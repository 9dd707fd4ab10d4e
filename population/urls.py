"""Page URLs of the base databases under /population/ (app namespace "population")."""

from django.urls import include, path

app_name = "population"

urlpatterns = [
    path("", include("population.views.pages_urls")),
    path("", include("population.views.imports_urls")),
]
