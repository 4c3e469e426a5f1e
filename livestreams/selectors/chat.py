"""A stream's chat history (API-more §8.2): the messages not removed, the newest
first; two queries (count, page) whatever the length of the history."""

from allmine.core.pagination import Page, paginate_at
from livestreams.models import ChatMessage, LiveStream


def chat_history(stream: LiveStream, *, page: int, limit: int) -> Page:
    """Page `page` of the stream's shown messages, `limit` a page, newest first
    (ties: the larger id first), each with its sender and the sender's photo."""
    messages = (
        ChatMessage.objects.shown()
        .filter(live_stream=stream)
        .select_related("sender__profile_photo")
        .order_by("-created_at", "-id")
    )
    return paginate_at(messages, page, limit)
