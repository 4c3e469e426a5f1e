"""Agora Cloud Recording's RESTful API in composite (`mix`) mode: `acquire` a
resource, `start` recording a channel into our own object storage (Agora's
`storageConfig`), `query` it, `stop` it; and the recorded files named in the
answers and in the Notification Center's cloud-recording events.

Agora writes the files under `fileNamePrefix` in the bucket: in mix mode an HLS
playlist `<sid>_<cname>.m3u8` with its `.ts` segments, and `<sid>_<cname>_<n>.mp4`
when MP4 is asked for too. The public URL of the playable file is what a
stream's `recordingUrl` becomes.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from allmine.core.media import media_url
from livestreams.agora import rest
from livestreams.agora.rest import AgoraRestError, JsonObject

MODE = "mix"
LIVE_BROADCASTING = 1  # recordingConfig.channelType of a live-streaming channel
AUDIO_AND_VIDEO = 2
ADAPTIVE_LAYOUT = 1
HLS = "hls"
MP4 = "mp4"
# How long (hours) after `start` the recording may still be queried and stopped.
RESOURCE_EXPIRED_HOURS = 24
# A resource from `acquire` is valid for five minutes (Agora); we use it sooner.
RESOURCE_VALID_SECONDS = 240


@dataclass(frozen=True)
class RecordedFile:
    """One file of a recording as Agora names it (`fileName`, maybe with a path)."""

    name: str
    track_type: str = "audio_and_video"
    playable: bool = True

    @property
    def basename(self) -> str:
        # Agora's file names may or may not carry the fileNamePrefix folders; the
        # folders are ours (`file_prefix`), so only the last part is used.
        return self.name.rsplit("/", 1)[-1]

    @property
    def is_hls(self) -> bool:
        return self.basename.endswith(".m3u8")

    @property
    def is_mp4(self) -> bool:
        return self.basename.endswith(".mp4")


@dataclass(frozen=True)
class RecordingState:
    """What `query` says: Agora's status number and the files so far."""

    status: int | None
    files: tuple[RecordedFile, ...]


@dataclass(frozen=True)
class StopResult:
    uploading_status: str  # "uploaded", "backuped" or "unknown"
    files: tuple[RecordedFile, ...]


def _path(*parts: str) -> str:
    base = f"/v1/apps/{rest.quote(settings.AGORA_APP_ID)}/cloud_recording"
    return base + "".join(f"/{rest.quote(part)}" for part in parts)


def _timeout() -> float:
    return float(settings.AGORA_RECORDING_TIMEOUT)


def is_configured() -> bool:
    """Recording needs the REST API and somewhere for Agora to store the files."""
    return rest.is_configured() and bool(
        settings.AGORA_RECORDING_STORAGE_BUCKET
        and settings.AGORA_RECORDING_STORAGE_ACCESS_KEY
        and settings.AGORA_RECORDING_STORAGE_SECRET_KEY
    )


def file_prefix(live_stream_id: str) -> list[str]:
    """Where a stream's recordings go in the bucket (Agora's `fileNamePrefix`):
    the media location, the recordings folder, the stream's id."""
    return [
        *settings.AGORA_RECORDING_BUCKET_LOCATION,
        *settings.AGORA_RECORDING_FILE_PREFIX,
        str(live_stream_id),
    ]


def storage_config(live_stream_id: str) -> JsonObject:
    config: JsonObject = {
        "vendor": settings.AGORA_RECORDING_STORAGE_VENDOR,
        "region": settings.AGORA_RECORDING_STORAGE_REGION,
        "bucket": settings.AGORA_RECORDING_STORAGE_BUCKET,
        "accessKey": settings.AGORA_RECORDING_STORAGE_ACCESS_KEY,
        "secretKey": settings.AGORA_RECORDING_STORAGE_SECRET_KEY,
        "fileNamePrefix": file_prefix(live_stream_id),
    }
    if settings.AGORA_RECORDING_STORAGE_ENDPOINT:
        config["extensionParams"] = {"endpoint": settings.AGORA_RECORDING_STORAGE_ENDPOINT}
    return config


def public_url(live_stream_id: str, recorded: RecordedFile) -> str:
    """The public URL of a recorded file in our object storage."""
    if settings.AGORA_RECORDING_PUBLIC_BASE_URL:
        key = "/".join([*file_prefix(live_stream_id), recorded.basename])
        return f"{settings.AGORA_RECORDING_PUBLIC_BASE_URL}/{key}"
    # Through the media storage, which adds its own location (AWS_LOCATION).
    key = "/".join([*settings.AGORA_RECORDING_FILE_PREFIX, str(live_stream_id), recorded.basename])
    return media_url(key)


def acquire(*, channel_name: str, uid: int) -> str:
    """A resource id for recording `channel_name` as `uid`."""
    answer = rest.post(
        _path("acquire"),
        {
            "cname": channel_name,
            "uid": str(uid),
            "clientRequest": {"scene": 0, "resourceExpiredHour": RESOURCE_EXPIRED_HOURS},
        },
        timeout=_timeout(),
    )
    return _text(answer, "resourceId")


def start(*, resource_id: str, channel_name: str, uid: int, token: str, live_stream_id: str) -> str:
    """Start recording the channel (mix mode) into our storage; Agora's `sid`."""
    width, height = settings.AGORA_RECORDING_RESOLUTION
    formats = [HLS, MP4] if settings.AGORA_RECORDING_FORMAT == MP4 else [HLS]
    answer = rest.post(
        _path("resourceid", resource_id, "mode", MODE, "start"),
        {
            "cname": channel_name,
            "uid": str(uid),
            "clientRequest": {
                "token": token,
                "recordingConfig": {
                    "channelType": LIVE_BROADCASTING,
                    "streamTypes": AUDIO_AND_VIDEO,
                    "maxIdleTime": settings.AGORA_RECORDING_MAX_IDLE_SECONDS,
                    "transcodingConfig": {
                        "width": width,
                        "height": height,
                        "fps": 15,
                        "bitrate": settings.AGORA_RECORDING_BITRATE,
                        "mixedVideoLayout": ADAPTIVE_LAYOUT,
                    },
                },
                "recordingFileConfig": {"avFileType": formats},
                "storageConfig": storage_config(live_stream_id),
            },
        },
        timeout=_timeout(),
    )
    return _text(answer, "sid")


def query(*, resource_id: str, sid: str) -> RecordingState:
    """The recording's status and files; AgoraRestError with `not_found` when
    Agora no longer records it (stopped, exited or never really started)."""
    answer = rest.get(
        _path("resourceid", resource_id, "sid", sid, "mode", MODE, "query"), timeout=_timeout()
    )
    server = answer.get("serverResponse")
    server = server if isinstance(server, dict) else {}
    status = server.get("status")
    return RecordingState(
        status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        files=parse_file_list(server.get("fileList")),
    )


def stop(*, resource_id: str, sid: str, channel_name: str, uid: int) -> StopResult:
    """Stop recording and wait (up to AGORA_RECORDING_TIMEOUT) for Agora to
    upload the files; their names and the upload status."""
    answer = rest.post(
        _path("resourceid", resource_id, "sid", sid, "mode", MODE, "stop"),
        {"cname": channel_name, "uid": str(uid), "clientRequest": {"async_stop": False}},
        timeout=_timeout(),
    )
    server = answer.get("serverResponse")
    server = server if isinstance(server, dict) else {}
    uploading = server.get("uploadingStatus")
    return StopResult(
        uploading_status=uploading if isinstance(uploading, str) else "unknown",
        files=parse_file_list(server.get("fileList")),
    )


def parse_file_list(value: Any) -> tuple[RecordedFile, ...]:
    """Agora's `fileList`: one playlist name (`fileListMode` "string") or a list
    of file objects (`fileListMode` "json", and in the NCS events)."""
    if isinstance(value, str):
        return (RecordedFile(name=value),) if value else ()
    if not isinstance(value, list):
        return ()
    files = []
    for item in value:
        if not isinstance(item, dict):
            continue
        name = item.get("fileName") or item.get("filename")
        if not isinstance(name, str) or not name:
            continue
        track = item.get("trackType")
        files.append(
            RecordedFile(
                name=name,
                track_type=track if isinstance(track, str) else "audio_and_video",
                playable=item.get("isPlayable", True) is not False,
            )
        )
    return tuple(files)


def playable_file(files: tuple[RecordedFile, ...] | list[RecordedFile]) -> RecordedFile | None:
    """The file a replay plays: the MP4 where configured and present, else the
    HLS playlist; only audio-and-video files Agora says are playable."""
    usable = [f for f in files if f.playable and f.track_type == "audio_and_video"]
    mp4 = [f for f in usable if f.is_mp4]
    hls = [f for f in usable if f.is_hls]
    if settings.AGORA_RECORDING_FORMAT == MP4 and mp4:
        return sorted(mp4, key=lambda f: f.basename)[0]  # the first of the MP4 parts
    return hls[0] if hls else (mp4[0] if mp4 else None)


def _text(answer: JsonObject, name: str) -> str:
    value = answer.get(name)
    if not isinstance(value, str) or not value:
        raise AgoraRestError(f"Agora's answer has no {name}: {rest.short(answer)}")
    return value
