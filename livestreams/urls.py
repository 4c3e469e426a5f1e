from django.urls import path

from livestreams import agora_events, views

urlpatterns = [
    path("live-stream", views.LiveStreamListView.as_view()),
    path("live-stream/create", views.LiveStreamCreateView.as_view()),
    path("live-stream/join-as-creator", views.JoinAsCreatorView.as_view()),
    path("live-stream/join-as-guest", views.JoinAsGuestView.as_view()),
    path("live-stream/join", views.JoinAsAudienceView.as_view()),
    path("live-stream/renew-token", views.RenewTokenView.as_view()),
    path("live-stream/leave", views.LeaveView.as_view()),
    path("live-stream/funded", views.FundedStreamsView.as_view()),
    path("live-stream/my-replay-rentals", views.MyReplayRentalsView.as_view()),
    path("live-stream/<str:live_stream_id>", views.LiveStreamDetailView.as_view()),
    path("live-stream/<str:live_stream_id>/end", views.EndView.as_view()),
    path("live-stream/<str:live_stream_id>/cancel", views.CancelView.as_view()),
    path("live-stream/<str:live_stream_id>/fund", views.FundView.as_view()),
    path("live-stream/<str:live_stream_id>/viewer-count", views.ViewerCountView.as_view()),
    path("live-stream/<str:live_stream_id>/replay-status", views.ReplayStatusView.as_view()),
    path("live-stream/<str:live_stream_id>/replay-settings", views.ReplaySettingsView.as_view()),
    path("live-stream/<str:live_stream_id>/replay-rentals", views.ReplayRentalsView.as_view()),
    path("live-stream-ban", views.BansView.as_view()),
    path("live-stream-ban/<str:ban_id>", views.BanDetailView.as_view()),
    path("agora/events", agora_events.AgoraEventsView.as_view()),
]
