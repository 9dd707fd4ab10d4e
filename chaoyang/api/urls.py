from django.urls import path

from . import views

urlpatterns = [
    path("token/", views.ObtainTokenView.as_view(), name="api-token"),
]
