from django.urls import path

from livestreams.api import actions, agora_events, bans, joining, streams

urlpatterns = [
    path("live-stream", streams.LiveStreamListView.as_view()),
    path("live-stream/create", streams.LiveStreamCreateView.as_view()),
    path("live-stream/join-as-creator", joining.JoinAsCreatorView.as_view()),
    path("live-stream/join-as-guest", joining.JoinAsGuestView.as_view()),
    path("live-stream/join", joining.JoinAsAudienceView.as_view()),
    path("live-stream/renew-token", joining.RenewTokenView.as_view()),
    path("live-stream/leave", joining.LeaveView.as_view()),
    # Fixed words after live-stream/ come before live-stream/<id>.
    path("live-stream/funded", streams.FundedStreamsView.as_view()),
    path("live-stream/my-replay-rentals", streams.MyReplayRentalsView.as_view()),
    path("live-stream/<str:live_stream_id>", streams.LiveStreamDetailView.as_view()),
    path("live-stream/<str:live_stream_id>/end", actions.EndView.as_view()),
    path("live-stream/<str:live_stream_id>/cancel", actions.CancelView.as_view()),
    path("live-stream/<str:live_stream_id>/fund", actions.FundView.as_view()),
    path("live-stream/<str:live_stream_id>/viewer-count", streams.ViewerCountView.as_view()),
    path("live-stream/<str:live_stream_id>/replay-status", streams.ReplayStatusView.as_view()),
    path("live-stream/<str:live_stream_id>/replay-settings", actions.ReplaySettingsView.as_view()),
    path("live-stream/<str:live_stream_id>/replay-rentals", actions.ReplayRentalsView.as_view()),
    path("live-stream-ban", bans.BansView.as_view()),
    path("live-stream-ban/<str:ban_id>", bans.BanDetailView.as_view()),
    path("agora/events", agora_events.AgoraEventsView.as_view()),
]
