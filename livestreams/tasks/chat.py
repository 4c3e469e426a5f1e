"""Publishing into a stream's Signaling (RTM) channel: one attempt at one
`RtmMessage`, enqueued after the commit of what it announces (a chat message,
its removal, a superlike) and again by the sweep (`tasks.periodic`) until it is
sent or dropped. The payload is the API's own rendering of the object
(`api.chat_serializers.rtm_payload`)."""

from celery import shared_task

from livestreams.api.chat_serializers import rtm_payload
from livestreams.services import rtm_messages
from livestreams.tasks.agora import django_task


@django_task
@shared_task(name="livestreams.rtm_message_run")
def rtm_message_run(message_id: int) -> str:
    return rtm_messages.rtm_message_run(message_id=message_id, render=rtm_payload)
