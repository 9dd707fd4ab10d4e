from django.urls import path

from . import views

urlpatterns = [
    path("", views.CaseListCreateView.as_view(), name="cases"),
    path("queues/", views.QueueCountsView.as_view(), name="case-queues"),
    path("changes/", views.ChangesView.as_view(), name="case-changes"),
    path("<int:pk>/", views.CaseDetailView.as_view(), name="case-detail"),
    path(
        "<int:pk>/available-actions/",
        views.AvailableActionsView.as_view(),
        name="case-available-actions",
    ),
    path("<int:pk>/actions/", views.CaseActionView.as_view(), name="case-actions"),
    path("<int:pk>/events/", views.CaseEventsView.as_view(), name="case-events"),
]
