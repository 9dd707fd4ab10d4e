"""The OpenAPI schema says what the server does, errors included.

Every operation gets the problem-details responses it can really answer, worked out from
the view (authentication, permissions, throttles, path and query parameters, a request
body), so a new endpoint is documented without anyone remembering to: tests/api checks the
server against this schema with schemathesis.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

from core.problems import CODES, MEDIA_TYPE


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, with this API's members."""

    type = serializers.CharField(help_text="urn:chaoyang:problem:<code>")
    title = serializers.CharField(help_text="短标题,按请求语言 / short title")
    status = serializers.IntegerField(help_text="HTTP 状态码 / the HTTP status")
    code = serializers.ChoiceField(choices=CODES, help_text="稳定的错误代码 / stable error code")
    detail = serializers.CharField(
        help_text="说明,按请求语言 / explanation, in the request's language"
    )
    instance = serializers.CharField(required=False, help_text="请求路径 / the request path")
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="字段错误(仅 code=invalid)/ field errors (code=invalid only)",
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="限流:多少秒后可重试 / throttled: seconds to wait"
    )
    case_status = serializers.CharField(
        required=False, help_text="409/422:案件当前状态 / the case's current status"
    )
    version = serializers.IntegerField(
        required=False, help_text="409/422:案件当前版本 / the case's current version"
    )
    case_number = serializers.CharField(
        required=False,
        help_text="idempotency_key_reused:该键登记的案件 / the case registered under the key",
    )
    district = serializers.DictField(
        required=False,
        allow_null=True,
        help_text="outside_district:该点所在的区 / the district the point lies in",
    )


DESCRIPTIONS = {
    "400": "输入有误(code=invalid 带 fields,或 parse_error)/ invalid input or malformed body",
    "401": "未提供或无效的令牌 / missing or invalid token",
    "403": "无权访问 / not permitted",
    "404": "不存在或不在您的辖区 / not found, or outside your jurisdiction",
    "409": "案件已被他人更新(version_conflict)/ the case changed: reload",
    "415": "不支持的内容类型 / unsupported media type",
    "422": "请求无法执行 / the request cannot be carried out",
    "429": "请求过于频繁(retry_after)/ throttled",
}


class ProblemAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        ref = self.resolve_serializer(ProblemSerializer, "response").ref
        responses: dict[str, Any] = operation["responses"]
        for code in self._error_statuses(operation):
            responses.setdefault(code, {"description": DESCRIPTIONS[code]})
        # Every error is a problem body, whatever a view's own description says.
        for code, response in responses.items():
            if code >= "400":
                response["content"] = {MEDIA_TYPE: {"schema": ref}}
                response.setdefault("description", DESCRIPTIONS.get(code, ""))
        return operation

    def _error_statuses(self, operation: dict[str, Any]) -> list[str]:
        view = self.view
        params = operation.get("parameters", [])
        body = "requestBody" in operation
        codes: list[str] = []
        if body or any(p["in"] == "query" for p in params):
            codes.append("400")
        authenticators = list(getattr(view, "authentication_classes", []))
        if authenticators:
            codes.append("401")  # a bad token is refused even where no login is needed
        open_to_all = all(
            isinstance(p, type) and issubclass(p, AllowAny) for p in view.permission_classes
        )
        csrf = self.method not in ("GET", "HEAD", "OPTIONS") and any(
            issubclass(a, SessionAuthentication) for a in authenticators
        )
        if not open_to_all or csrf:
            codes.append("403")
        paginated = getattr(view, "pagination_class", None) is not None and any(
            p["in"] == "query" and p["name"] == "page" for p in params
        )
        if paginated or any(p["in"] == "path" for p in params):
            codes.append("404")
        if body:
            codes.append("415")
        if getattr(view, "throttle_classes", None):
            codes.append("429")
        return codes
