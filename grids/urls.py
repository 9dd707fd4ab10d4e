from django.urls import path

from . import views

app_name = "grids"

urlpatterns = [
    path("map/", views.map_page, name="map"),
    path("map/regions/<str:code>.geojson", views.region_outline, name="region-outline"),
    # layer is a plain string so a wrong name gets a 400 that names the valid ones.
    path("tiles/<str:layer>/<int:z>/<int:x>/<int:y>.pbf", views.tile, name="tile"),
]
