"""Top-level URLs: pages, the v1 API, the OpenAPI schema, health."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from chaoyang import views, views_profile
from chaoyang.api.problems import api_not_found
from dispatch.api.views import DepartmentListView

api_v1: list[URLPattern | URLResolver] = [
    path("auth/", include("chaoyang.api.urls")),
    path("grids/", include("grids.api.urls")),
    path("cases/", include("dispatch.api.urls")),
    path("categories/", include("cases.api.urls")),
    path("departments/", DepartmentListView.as_view(), name="departments"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Any other API URL, in any method, is a JSON 404 (also with DEBUG on).
    re_path(r"^api/", api_not_found),
    path("", include("grids.urls")),
    path("", include("dispatch.urls")),
    # The grid profile joins population and cases, so it is the project's page.
    path("population/profile/", views_profile.profile_home, name="profile-home"),
    path("population/profile/<str:code>/", views_profile.profile, name="region-profile"),
    path("population/", include("population.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler500 = "chaoyang.api.problems.server_error"
