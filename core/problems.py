"""One error shape for the whole API: RFC 9457 problem details.

Every error an API URL answers — a field error, a bad token, a missing case, a wrong method,
a throttle, a case that changed under the client, even a URL that matches nothing — is a
`application/problem+json` body:

    {"type": "urn:chaoyang:problem:invalid", "title": "输入有误", "status": 400,
     "code": "invalid", "detail": "…", "instance": "/api/v1/cases/",
     "fields": {"lat": ["…"]}}

`code` is stable (clients branch on it); `title` and `detail` are in the request's language
(Accept-Language, through Django's LocaleMiddleware); `fields` appears only for field
errors. A few codes add members of their own (`retry_after`, `case_status`, `version`,
`district`). chaoyang.api.problems turns every exception into this body; apps raise
Problem (or their own errors that carry a code). The README documents the codes.
"""

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions

MEDIA_TYPE = "application/problem+json"

# code -> title. The codes are the API's contract: add new ones, never rename.
TITLES: dict[str, Promise] = {
    "invalid": _("输入有误"),
    "validation_failed": _("输入未通过校验"),
    "parse_error": _("请求格式错误"),
    "not_authenticated": _("需要身份验证"),
    "authentication_failed": _("身份验证失败"),
    "permission_denied": _("无权访问"),
    "not_found": _("未找到"),
    "method_not_allowed": _("不支持该请求方法"),
    "not_acceptable": _("无法提供所要求的格式"),
    "unsupported_media_type": _("不支持的内容类型"),
    "throttled": _("请求过于频繁"),
    "version_conflict": _("案件已被他人更新"),
    "invalid_state": _("案件当前状态不允许该操作"),
    "idempotency_key_reused": _("幂等键已用于另一请求"),
    "outside_district": _("不在本区范围内"),
    "server_error": _("服务器内部错误"),
}
CODES = tuple(TITLES)


class Problem(exceptions.APIException):
    """An API error with a stable code, optional field errors and extension members."""

    auth_header: str | None = None  # WWW-Authenticate of a 401
    wait: float | None = None  # Retry-After of a 429

    def __init__(
        self,
        detail: str,
        *,
        status: int,
        code: str,
        fields: Mapping[str, list[str]] | None = None,
        **extensions: Any,
    ) -> None:
        assert code in TITLES, code
        super().__init__(detail, code)
        self.status_code = status
        self.problem_code = code
        self.fields = dict(fields or {})
        self.extensions = extensions


def problem_body(
    *,
    status: int,
    code: str,
    detail: str,
    instance: str = "",
    fields: Mapping[str, list[str]] | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:chaoyang:problem:{code}",
        "title": gettext(str(TITLES[code])) if code in TITLES else code,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if fields is not None or code in ("invalid", "validation_failed"):
        body["fields"] = dict(fields or {})
    body.update(extensions)
    return body
