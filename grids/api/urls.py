from django.urls import path

from . import views

urlpatterns = [
    path("locate/", views.LocateView.as_view(), name="grids-locate"),
    path("regions/", views.RegionListView.as_view(), name="grids-regions"),
    path("regions/<str:code>/", views.RegionDetailView.as_view(), name="grids-region-detail"),
]
