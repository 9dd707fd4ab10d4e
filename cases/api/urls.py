from django.urls import path

from . import views

urlpatterns = [
    path("", views.CategoryListView.as_view(), name="categories"),
    path("<str:code>/", views.CategoryDetailView.as_view(), name="category-detail"),
]
