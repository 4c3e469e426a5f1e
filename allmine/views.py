from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView


class UnknownApiUrlView(APIView):
    """Answers every unknown URL under /api/ with a 404 envelope, whatever the method."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def _not_found(self, request, *args, **kwargs):
        raise NotFound("No API endpoint has this URL.")

    get = post = put = patch = delete = head = options = _not_found
