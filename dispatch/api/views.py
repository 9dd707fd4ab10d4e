"""Thin API views over the intake and transition services and the scoped selectors."""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import Case, CaseEvent
from dispatch import selectors
from dispatch.actors import request_actor
from dispatch.errors import ActionError
from dispatch.services.intake import IntakeInput, case_intake
from dispatch.services.transitions import ActionInput, case_act

from .filters import CaseFilter
from .serializers import (
    ActionSerializer,
    AttachmentSerializer,
    AvailableActionSerializer,
    CaseDetailSerializer,
    CaseListSerializer,
    EventSerializer,
    IntakeResponseSerializer,
    IntakeSerializer,
)


def error_response(exc: ActionError) -> Response:
    body: dict[str, Any] = {"detail": exc.message, **exc.fields, **exc.extra}
    return Response(body, status=exc.status)


def visible_case(request: Request, pk: int) -> Case:
    """The case if the user may see it; 404 otherwise (its existence is not disclosed)."""
    case = selectors.case_get(request_actor(request), pk)
    if case is None:
        raise Http404(_("案件不存在或不在您的辖区 / no such case in your jurisdiction"))
    return case


class CaseListCreateView(generics.ListAPIView):
    """Cases the user may see (filtered, paginated); POST registers a new case (intake)."""

    serializer_class = CaseListSerializer
    filterset_class = CaseFilter
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Case]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Case.objects.none()
        return (
            selectors.cases_visible(request_actor(self.request))
            .select_related("category", "street")
            .defer("street__boundary")
            .order_by("-created_at", "-id")
        )

    @extend_schema(
        request={"multipart/form-data": IntakeSerializer, "application/json": IntakeSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="同一个键只会登记一个案件,重复请求返回同一案件",
            )
        ],
        responses={
            201: IntakeResponseSerializer,
            200: IntakeResponseSerializer,
            400: OpenApiResponse(description="字段错误 / field errors"),
            403: OpenApiResponse(description="角色不能登记 / role cannot register"),
        },
    )
    def post(self, request: Request) -> Response:
        s = IntakeSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = IntakeInput(
            **s.validated_data, idempotency_key=request.headers.get("Idempotency-Key", "")[:80]
        )
        try:
            actor = request_actor(request)
            result = case_intake(user=actor.user, data=data, actor=actor)
        except ActionError as exc:
            return error_response(exc)
        body = intake_body(result.case)
        # Photos come back as stored (a client checks its upload landed); without photos
        # there is nothing to look up.
        body["attachments"] = (
            AttachmentSerializer(
                result.case.attachments.all(), many=True, context={"request": request}
            ).data
            if data.photos or not result.created
            else []
        )
        body["duplicates"] = [
            {"id": d.id, "number": d.number, "status": d.status, "address": d.address}
            for d in selectors.duplicate_rows(result.case)
        ]
        return Response(
            body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


def intake_body(case: Case) -> dict[str, Any]:
    """The intake answer, built directly: it is the hot path of every report, and the full
    detail serializer (attachments, ancestors, events) costs more than the intake itself.
    GET /api/v1/cases/{id}/ gives the rest."""

    def ref(region: Any) -> dict[str, str] | None:
        return {"code": region.code, "name": region.name} if region is not None else None

    return {
        "id": case.id,
        "number": case.number,
        "status": case.status,
        "status_display": case.get_status_display(),
        "light": case.light,
        "urgency": case.urgency,
        "category": case.category_id,
        "category_code": case.category.code,
        "category_name": case.category.name,
        "source": case.source,
        "address": case.address,
        "lng": case.location.x if case.location else None,
        "lat": case.location.y if case.location else None,
        "grid": ref(case.grid),
        "community": ref(case.community),
        "street": ref(case.street),
        "outside_jurisdiction": case.outside_jurisdiction,
        "handling_level": case.handling_level,
        "verification_required": case.verification_required,
        "citizen_name": case.citizen_name,
        "citizen_phone": case.citizen_phone_masked,
        "deadline": case.deadline.isoformat() if case.deadline else None,
        "warning_at": case.warning_at.isoformat() if case.warning_at else None,
        "created_at": case.created_at.isoformat(),
        "version": case.version,
    }


class CaseDetailView(APIView):
    @extend_schema(responses=CaseDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        case = visible_case(request, pk)
        return Response(CaseDetailSerializer(case, context={"request": request}).data)


class AvailableActionsView(APIView):
    """What the current user may do to this case now, and the inputs each action needs."""

    @extend_schema(responses=AvailableActionSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        case = visible_case(request, pk)
        specs = selectors.available_actions(request_actor(request), case)
        data = AvailableActionSerializer(specs, many=True).data
        for item in data:
            if item["action"] == "dispatch":
                default = selectors.default_department(case)
                item["departments"] = [
                    {
                        "id": d.id,
                        "name": d.name,
                        "default": default is not None and d.id == default.id,
                    }
                    for d in selectors.dispatch_targets(case)
                ]
        return Response(data)


class CaseActionView(APIView):
    """Perform one transition of the table: `{"action": "<name>", …inputs}`."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={"application/json": ActionSerializer, "multipart/form-data": ActionSerializer},
        responses={
            200: CaseDetailSerializer,
            400: OpenApiResponse(description="输入错误 / invalid input"),
            403: OpenApiResponse(description="无权操作 / not permitted"),
            404: OpenApiResponse(description="案件不存在 / no such case"),
            409: OpenApiResponse(description="案件已变化 / conflict"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        visible_case(request, pk)
        s = ActionSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        data = ActionInput(
            note=v["note"],
            photos=v["photos"],
            department_id=v["department"],
            deadline=v["deadline"],
            target_case=v["target_case"],
            satisfaction=v["satisfaction"],
            result=v["result"],
            expected_version=v["version"],
        )
        try:
            actor = request_actor(request)
            case = case_act(case_id=pk, user=actor.user, action=v["action"], data=data, actor=actor)
        except ActionError as exc:
            return error_response(exc)
        return Response(CaseDetailSerializer(case, context={"request": request}).data)


class CaseEventsView(generics.ListAPIView):
    serializer_class = EventSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no case
            return CaseEvent.objects.none()
        case = visible_case(self.request, self.kwargs["pk"])
        return case.events.select_related("actor").prefetch_related("attachments")


class QueueCountsView(APIView):
    @extend_schema(responses={200: OpenApiResponse(description="各队列案件数")})
    def get(self, request: Request) -> Response:
        return Response(selectors.queue_counts(request_actor(request)))


class ChangesView(APIView):
    """Cases changed since a time: live pages poll this every few seconds."""

    @extend_schema(
        parameters=[OpenApiParameter("since", datetime, required=True)],
        responses={200: OpenApiResponse(description="{now, cases: [...]}")},
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("since", "")
        since = parse_datetime(raw.replace(" ", "+")) if raw else None
        if since is None:
            raise ValidationError({"since": [_("需要 ISO 8601 时间 / an ISO 8601 time")]})
        now = timezone.now()
        rows = selectors.changes_since(request_actor(request), since).select_related("category")[
            :500
        ]
        return Response({"now": now.isoformat(), "cases": CaseListSerializer(rows, many=True).data})
