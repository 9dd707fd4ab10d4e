"""Thin API views over the intake and transition services and the scoped selectors.

Errors are raised, not answered here: chaoyang.api.problems turns ActionError, DRF's
exceptions and Http404 into one problem-details body.
"""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from cases.models import Case, CaseEvent
from dispatch import queues, selectors
from dispatch.actors import request_actor
from dispatch.models import Department
from dispatch.services.intake import IntakeInput, case_intake
from dispatch.services.transitions import ActionInput, case_act

from . import inputs
from .filters import CaseFilter, ChangesQuery, DepartmentFilter
from .serializers import (
    ActionSerializer,
    ActionUploadSerializer,
    AvailableActionSerializer,
    CaseDetailSerializer,
    CaseListSerializer,
    ChangesSerializer,
    DepartmentSerializer,
    EventSerializer,
    IntakeResponseSerializer,
    IntakeSerializer,
    IntakeUploadSerializer,
    QueueCountsSerializer,
)

NO_CASE = OpenApiResponse(
    description="案件不存在或不在您的辖区 / no such case in your jurisdiction"
)


def visible_case(request: Request, pk: int) -> Case:
    """The case if the user may see it; 404 otherwise (its existence is not disclosed)."""
    case = selectors.case_get(request_actor(request), pk)
    if case is None:
        raise Http404(_("案件不存在或不在您的辖区"))
    return case


def _is_upload(request: Request) -> bool:
    return (request.content_type or "").startswith(("multipart/", "application/x-www-form"))


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
        request={
            "application/json": IntakeSerializer,
            "multipart/form-data": IntakeUploadSerializer,
        },
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="同一个键只会登记一个案件:相同请求重发返回同一案件(200),"
                "不同请求重用该键返回 422 / one key registers one case; a retry of the same "
                "request returns it (200), a different request with the key gets 422",
            )
        ],
        responses={
            201: IntakeResponseSerializer,
            200: IntakeResponseSerializer,
            422: OpenApiResponse(
                description="幂等键已用于另一请求(idempotency_key_reused)/ key reused"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer_class = IntakeUploadSerializer if _is_upload(request) else IntakeSerializer
        s = serializer_class(data=request.data)
        s.is_valid(raise_exception=True)
        data = IntakeInput(
            **s.validated_data, idempotency_key=request.headers.get("Idempotency-Key", "")[:80]
        )
        actor = request_actor(request)
        result = case_intake(user=actor.user, data=data, actor=actor)
        case = result.case
        context = {
            "request": request,
            "duplicates": selectors.duplicate_rows(case),
            # Without photos there is nothing to look up.
            "attachments": case.attachments.all() if data.photos or not result.created else [],
        }
        return Response(
            IntakeResponseSerializer(case, context=context).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class CaseDetailView(APIView):
    @extend_schema(responses={200: CaseDetailSerializer, 404: NO_CASE})
    def get(self, request: Request, pk: int) -> Response:
        case = visible_case(request, pk)
        return Response(CaseDetailSerializer(case, context={"request": request}).data)


class AvailableActionsView(APIView):
    """What the current user may do to this case now, and the inputs each action needs,
    with the values each input allows (a dispatch lists its departments)."""

    @extend_schema(responses={200: AvailableActionSerializer(many=True), 404: NO_CASE})
    def get(self, request: Request, pk: int) -> Response:
        case = visible_case(request, pk)
        specs = selectors.available_actions(request_actor(request), case)
        items = [inputs.describe(spec, case) for spec in specs]
        return Response(AvailableActionSerializer(items, many=True).data)


class CaseActionView(APIView):
    """Perform one transition of the table: `{"action": "<name>", …inputs}`. Send
    `version` (the case's version you saw) so a change by someone else is a 409, not a
    surprise."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={
            "application/json": ActionSerializer,
            "multipart/form-data": ActionUploadSerializer,
        },
        responses={
            200: CaseDetailSerializer,
            404: NO_CASE,
            409: OpenApiResponse(
                description="案件已被他人更新(version_conflict):刷新后重试 / the case changed"
            ),
            422: OpenApiResponse(
                description="当前状态不允许该操作(invalid_state)/ not allowed in this state"
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        visible_case(request, pk)
        serializer_class: type[Serializer] = (
            ActionUploadSerializer if _is_upload(request) else ActionSerializer
        )
        s = serializer_class(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        data = ActionInput(
            note=v["note"],
            photos=v.get("photos", []),
            department_id=v["department"],
            deadline=v["deadline"],
            target_case=v["target_case"],
            satisfaction=v["satisfaction"],
            result=v["result"],
            expected_version=v["version"],
        )
        actor = request_actor(request)
        case = case_act(case_id=pk, user=actor.user, action=v["action"], data=data, actor=actor)
        return Response(CaseDetailSerializer(case, context={"request": request}).data)


class CaseEventsView(generics.ListAPIView):
    """The case's append-only event log, oldest first."""

    serializer_class = EventSerializer
    pagination_class = None

    @extend_schema(responses={200: EventSerializer(many=True), 404: NO_CASE})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no case
            return CaseEvent.objects.none()
        case = visible_case(self.request, self.kwargs["pk"])
        return case.events.select_related("actor").prefetch_related("attachments")


class DepartmentListView(generics.ListAPIView):
    """The department directory: active departments of the district and of every street.
    Reference data, like the categories: every signed-in user may read it. Which of them a
    case may be dispatched to is in its available actions."""

    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilter

    def get_queryset(self) -> QuerySet[Department]:
        return (
            Department.objects.filter(active=True)
            .select_related("region")
            .defer("region__boundary")
            .order_by("code")
        )


class QueueCountsView(APIView):
    """Live cases in each queue, counted over the cases the user may see."""

    @extend_schema(responses=QueueCountsSerializer)
    def get(self, request: Request) -> Response:
        actor = request_actor(request)
        centre = queues.centre_for(actor)
        if centre is None:
            return Response({"centre": None, "total": 0, "queues": []})
        counts = queues.queue_counts(actor, centre)
        body = {
            "centre": {
                "level": centre.level,
                "code": centre.region.code,
                "name": centre.region.name,
            },
            "total": counts["total"],
            "queues": [
                {"key": q.key, "label": q.label, "count": counts[q.key]} for q in centre.queues
            ],
        }
        return Response(QueueCountsSerializer(body).data)


class ChangesView(APIView):
    """Cases changed since a time: live pages poll this every few seconds."""

    @extend_schema(parameters=[ChangesQuery], responses=ChangesSerializer)
    def get(self, request: Request) -> Response:
        query = ChangesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        now = timezone.now()
        rows = (
            selectors.changes_since(request_actor(request), query.validated_data["since"])
            .select_related("category", "street")
            .defer("street__boundary")[:500]
        )
        return Response(ChangesSerializer({"now": now, "cases": rows}).data)
