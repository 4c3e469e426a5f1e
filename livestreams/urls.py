from django.urls import path

from livestreams import views

urlpatterns = [
    path("live-stream/create", views.LiveStreamCreateView.as_view()),
    path("live-stream/join-as-creator", views.JoinAsCreatorView.as_view()),
    path("live-stream/join-as-guest", views.JoinAsGuestView.as_view()),
]
