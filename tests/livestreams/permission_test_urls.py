"""A test-only urlconf: the project's URLs and one endpoint nobody wrote a row
for, to show that the permission matrix's completeness test catches it."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.urls import urlpatterns as project_urlpatterns


class BrandNewView(APIView):
    def post(self, request, live_stream_id):
        return Response({})

    def put(self, request, live_stream_id):
        return Response({})


urlpatterns = [
    path("api/v1/live-stream/<str:live_stream_id>/brand-new", BrandNewView.as_view()),
    *project_urlpatterns,
]
