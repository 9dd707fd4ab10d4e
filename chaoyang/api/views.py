"""API authentication: exchange a username and password for a token."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from core.problems import Problem


class LoginThrottle(AnonRateThrottle):
    rate = "30/min"


class ObtainTokenView(APIView):
    """POST a username and password; get the token to send as `Authorization: Token …`."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            401: OpenApiResponse(
                description="用户名或密码不正确(authentication_failed)/ wrong credentials"
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            errors = serializer.errors
            if set(errors) == {"non_field_errors"}:  # well-formed, but not an account
                problem = Problem(_("用户名或密码不正确"), status=401, code="authentication_failed")
                problem.auth_header = "Token"
                raise problem
            raise serializers.ValidationError(errors)
        token, _created = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
