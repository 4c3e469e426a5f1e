"""The accounts API: sign-up, sign-in, token refresh and sign-out, the caller,
and the profile photo. Each view parses, calls a service, and renders."""

from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.selectors import transactions_of, user_with_photo
from accounts.serializers import (
    CreditTransactionSerializer,
    LoginInputSerializer,
    MeSerializer,
    ProfilePhotoInputSerializer,
    ProfilePhotoSerializer,
    RefreshTokenInputSerializer,
    RegisterInputSerializer,
)
from allmine.pagination import paginate
from allmine.throttling import LoginThrottle, RegisterThrottle


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _session(user, tokens: dict) -> dict:
    return {**tokens, "user": MeSerializer(user).data}


class RegisterView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [RegisterThrottle]

    def post(self, request):
        data = _valid(RegisterInputSerializer, request)
        user, tokens = services.user_sign_up(**data)
        return Response(_session(user, tokens), status=status.HTTP_201_CREATED)


class LoginView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    def post(self, request):
        data = _valid(LoginInputSerializer, request)
        user = services.user_login(login=data["login"], password=data["password"])
        return Response(_session(user, services.token_pair_issue(user=user)))


class RefreshView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        data = _valid(RefreshTokenInputSerializer, request)
        user, tokens = services.token_pair_refresh(refresh_token=data["refreshToken"])
        return Response(_session(user_with_photo(user.pk), tokens))


class LogoutView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        data = _valid(RefreshTokenInputSerializer, request)
        services.token_revoke(refresh_token=data["refreshToken"])
        return Response({"loggedOut": True})


class MeView(APIView):
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class ProfilePhotoView(APIView):
    parser_classes = [MultiPartParser]

    def patch(self, request):
        data = _valid(ProfilePhotoInputSerializer, request)
        photo = services.profile_photo_set(user=request.user, upload=data["file"])
        return Response(ProfilePhotoSerializer(photo).data)


class MyTransactionsView(APIView):
    def get(self, request):
        page = paginate(transactions_of(request.user), request.query_params)
        return Response(page.as_data(CreditTransactionSerializer(page.items, many=True).data))
