"""The accounts API: sign-up, sign-in, token refresh and sign-out, the caller,
and the profile photo. Each view parses, calls a service, and renders."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import (
    AuthSessionSerializer,
    CreditTransactionPageSerializer,
    LoginInputSerializer,
    LogoutResponseSerializer,
    MeSerializer,
    ProfilePhotoInputSerializer,
    ProfilePhotoSerializer,
    RefreshTokenInputSerializer,
    RegisterInputSerializer,
    TransactionQuerySerializer,
)
from accounts.selectors import transactions_filtered, user_with_photo
from accounts.services import auth
from accounts.services.photos import profile_photo_set
from allmine.core import examples as ex
from allmine.core.http import client_ip
from allmine.core.pagination import PageQuerySerializer, paginate, with_default_limit
from allmine.core.throttling import UPLOAD_THROTTLES, LoginThrottle, RegisterThrottle
from allmine.core.views import atomic_response


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _session(user, tokens: auth.TokenPair) -> dict:
    return AuthSessionSerializer({"tokens": tokens, "user": user}).data


class RegisterView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        summary="Sign up",
        description="Creates an account and opens its first session.",
        request=RegisterInputSerializer,
        responses={
            201: AuthSessionSerializer,
            409: OpenApiResponse(description="The username or the e-mail is already taken."),
        },
    )
    @atomic_response
    def post(self, request):
        data = _valid(RegisterInputSerializer, request)
        user, tokens = auth.user_sign_up(**data)
        return Response(_session(user, tokens), status=status.HTTP_201_CREATED)


class LoginView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(
        summary="Sign in",
        description="Opens a session for a username or e-mail (`login`) and a password.",
        request=LoginInputSerializer,
        responses={
            200: AuthSessionSerializer,
            401: OpenApiResponse(description="Invalid login or password, or an inactive account."),
        },
    )
    def post(self, request):
        data = _valid(LoginInputSerializer, request)
        user = auth.user_login(
            login=data["login"], password=data["password"], client_address=client_ip(request)
        )
        return Response(_session(user, auth.token_pair_issue(user=user)))


class RefreshView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Refresh the session",
        description="A new token pair for a refresh token; the refresh token is single use.",
        request=RefreshTokenInputSerializer,
        responses={
            200: AuthSessionSerializer,
            401: OpenApiResponse(
                description="The refresh token is invalid, expired or revoked, "
                "or the account is inactive."
            ),
        },
    )
    def post(self, request):
        data = _valid(RefreshTokenInputSerializer, request)
        user, tokens = auth.token_pair_refresh(refresh_token=data["refreshToken"])
        return Response(_session(user_with_photo(user.pk), tokens))


class LogoutView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Sign out",
        description="Revokes the refresh token (the access token lives until it expires).",
        request=RefreshTokenInputSerializer,
        responses={
            200: LogoutResponseSerializer,
            401: OpenApiResponse(description="The refresh token is invalid, expired or revoked."),
        },
    )
    def post(self, request):
        data = _valid(RefreshTokenInputSerializer, request)
        auth.token_revoke(refresh_token=data["refreshToken"])
        return Response(LogoutResponseSerializer({"logged_out": True}).data)


class MeView(APIView):
    @extend_schema(
        summary="The caller",
        description="The signed-in user, with their e-mail and credit balance.",
        responses={200: MeSerializer},
    )
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class ProfilePhotoView(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = UPLOAD_THROTTLES

    @extend_schema(
        summary="Set the profile photo",
        description=(
            "Replaces the caller's profile photo (multipart, field `file`): a JPEG, PNG or "
            "WebP image, decoded and re-encoded (metadata stripped), with square WebP "
            "variants. Anything else is a 400."
        ),
        request=ProfilePhotoInputSerializer,
        responses={200: ProfilePhotoSerializer},
    )
    @atomic_response
    def patch(self, request):
        data = _valid(ProfilePhotoInputSerializer, request)
        photo = profile_photo_set(user=request.user, upload=data["file"])
        return Response(ProfilePhotoSerializer(photo).data)


TRANSACTIONS_PAGE_LIMIT = 20


class TransactionPageQuerySerializer(PageQuerySerializer):
    limit = serializers.IntegerField(
        required=False,
        default=TRANSACTIONS_PAGE_LIMIT,
        help_text=f"Items per page, {TRANSACTIONS_PAGE_LIMIT} by default, at most 100.",
    )


class MyTransactionsView(APIView):
    @extend_schema(
        summary="My credit transactions",
        description=(
            "The caller's credit ledger, newest first by default, one page at a time, "
            "filtered by type, status, direction and time. `amount` is positive; "
            "`direction` says whether it raised (credit) or lowered (debit) the balance."
        ),
        parameters=[TransactionQuerySerializer, TransactionPageQuerySerializer],
        responses={200: CreditTransactionPageSerializer},
        examples=[
            ex.response_example("Credits granted, a gift, a superlike", 200, ex.TRANSACTIONS_PAGE)
        ],
    )
    def get(self, request):
        serializer = TransactionQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        entries = transactions_filtered(request.user, **serializer.validated_data)
        params = with_default_limit(request.query_params, TRANSACTIONS_PAGE_LIMIT)
        return Response(CreditTransactionPageSerializer(paginate(entries, params)).data)
