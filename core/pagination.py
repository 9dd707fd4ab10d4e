"""Pages of a list: `?page=` must be a page number when it is given."""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StrictPageNumberPagination(PageNumberPagination):
    """DRF's page-number pagination, except that an empty `?page=` is a 400 (DRF reads it
    as page 1, so a client's missing value would go unnoticed). A page past the end, or a
    page that is not a number, stays DRF's 404."""

    def get_page_number(self, request: Any, paginator: Any) -> Any:
        if request.query_params.get(self.page_query_param) == "":
            raise ValidationError({self.page_query_param: [_("不能为空")]})
        return super().get_page_number(request, paginator)
