from django.urls import path

from livestreams.api import (
    actions,
    agora_events,
    bans,
    chat,
    discovery,
    gifts,
    joining,
    reports,
    room,
    streams,
)

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
    path("live-stream/featured", discovery.FeaturedView.as_view()),
    path("live-stream/catch-streamers", discovery.CatchStreamersView.as_view()),
    path("live-stream/most-watched-creators", discovery.MostWatchedCreatorsView.as_view()),
    path("live-stream/guest-streams", discovery.GuestStreamsView.as_view()),
    path("live-stream/my-past-streams", discovery.MyPastStreamsView.as_view()),
    path("live-stream/user/<str:user_id>/past-streams", discovery.UserPastStreamsView.as_view()),
    path(
        "live-stream/user/<str:user_id>/upcoming-live-streams",
        discovery.UpcomingStreamsView.as_view(),
    ),
    path("live-stream/<str:live_stream_id>", streams.LiveStreamDetailView.as_view()),
    path("live-stream/<str:live_stream_id>/end", actions.EndView.as_view()),
    path("live-stream/<str:live_stream_id>/cancel", actions.CancelView.as_view()),
    path("live-stream/<str:live_stream_id>/fund", actions.FundView.as_view()),
    path("live-stream/<str:live_stream_id>/viewer-count", streams.ViewerCountView.as_view()),
    path("live-stream/<str:live_stream_id>/replay-status", streams.ReplayStatusView.as_view()),
    path("live-stream/<str:live_stream_id>/replay-settings", actions.ReplaySettingsView.as_view()),
    path("live-stream/<str:live_stream_id>/replay-rentals", actions.ReplayRentalsView.as_view()),
    path("live-stream/<str:live_stream_id>/reminder", room.ReminderView.as_view()),
    path("live-stream/<str:live_stream_id>/viewers", room.ViewersView.as_view()),
    path("live-stream/<str:live_stream_id>/gift-statistics", room.GiftStatisticsView.as_view()),
    path("live-stream/<str:stream_id>/chat/messages", chat.ChatMessagesView.as_view()),
    path("live-stream/<str:stream_id>/chat/superlike", chat.SuperlikeView.as_view()),
    path(
        "participant/stream/<str:stream_id>/statistics",
        room.ParticipantStatisticsView.as_view(),
    ),
    path("live-stream-ban", bans.BansView.as_view()),
    path("live-stream-ban/check/<str:target_user_id>", bans.BanCheckView.as_view()),
    path("live-stream-ban/<str:ban_id>", bans.BanDetailView.as_view()),
    path("live-stream-reports/<str:stream_id>", reports.ReportCreateView.as_view()),
    path("gifts/gift-types", gifts.GiftTypesView.as_view()),
    path("gifts/create", gifts.GiftCreateView.as_view()),
    path("agora/events", agora_events.AgoraEventsView.as_view()),
]

# Under /api/v2/.
urlpatterns_v2 = [
    path(
        "live-stream/user/<str:user_id>/upcoming-live-streams",
        discovery.UpcomingStreamsV2View.as_view(),
    ),
]
