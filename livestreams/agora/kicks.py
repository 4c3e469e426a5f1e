"""Agora's kicking rules (Channel Management RESTful API, "Ban user privileges"):
create, list and delete the rules that keep a user, or everyone, out of a channel.

Agora's advice, followed here and by `services.agora_kicks`:
- give the POST that creates a rule at least 20 s (`AGORA_KICK_TIMEOUT`), and a
  longer timeout when trying again after a timeout;
- after a POST timed out or answered 504, the rule may exist: read the rules
  (GET) and take its id from there instead of posting again;
- keep the rule's id, and delete the rule by that id to lift it.

These functions only speak to Agora; what to do when is the service's business.
"""

from dataclasses import dataclass

from django.conf import settings

from livestreams.agora import rest
from livestreams.agora.rest import AgoraRestError, JsonObject

KICKING_RULE_PATH = "/dev/v1/kicking-rule"
JOIN_CHANNEL = "join_channel"
# Agora's limit on a rule's duration (minutes); 0 kicks once and leaves no rule.
MAX_RULE_MINUTES = 1440
# The longest a retried POST may wait (Agora: "increase the timeout accordingly").
MAX_POST_TIMEOUT_FACTOR = 3


@dataclass(frozen=True)
class KickingRule:
    """One rule as Agora lists it."""

    id: int
    channel_name: str
    uid: int | None
    privileges: tuple[str, ...]


def post_timeout(attempt: int) -> float:
    """The POST's timeout on its `attempt`-th try: AGORA_KICK_TIMEOUT, longer on
    each retry up to three times that."""
    return float(settings.AGORA_KICK_TIMEOUT) * max(1, min(attempt, MAX_POST_TIMEOUT_FACTOR))


def create_rule(
    *, channel_name: str, uid: int | None, minutes: int, timeout: float | None = None
) -> int | None:
    """POST a rule: `uid` (or everyone, without one) may not join `channel_name`
    for `minutes` (0: kicked out once, free to come back). Agora's rule id (None
    if Agora gave none); AgoraRestError on any failure."""
    body: JsonObject = {"appid": settings.AGORA_APP_ID, "cname": channel_name}
    if uid is not None:
        body["uid"] = int(uid)
    body["time"] = max(0, min(MAX_RULE_MINUTES, int(minutes)))
    body["privileges"] = [JOIN_CHANNEL]
    answer = rest.post(KICKING_RULE_PATH, body, timeout=timeout or post_timeout(1))
    if answer.get("status") != "success":
        raise AgoraRestError(f"Agora answered without success: {rest.short(answer)}")
    return _integer(answer.get("id"))


def list_rules() -> list[KickingRule]:
    """Every rule of the app (GET); AgoraRestError on any failure."""
    answer = rest.get(KICKING_RULE_PATH, query={"appid": settings.AGORA_APP_ID})
    if answer.get("status") != "success" or not isinstance(answer.get("rules", []), list):
        raise AgoraRestError(f"Agora answered without success: {rest.short(answer)}")
    rules = []
    for item in answer.get("rules") or []:
        if not isinstance(item, dict):
            continue
        rule_id = _integer(item.get("id"))
        if rule_id is None:
            continue
        privileges, cname = item.get("privileges"), item.get("cname")
        rules.append(
            KickingRule(
                id=rule_id,
                channel_name=cname if isinstance(cname, str) else "",
                uid=_integer(item.get("uid")) or None,  # 0 or absent: everyone
                privileges=tuple(p for p in privileges if isinstance(p, str))
                if isinstance(privileges, list)
                else (),
            )
        )
    return rules


def matching_rules(
    rules: list[KickingRule], *, channel_name: str, uid: int | None
) -> list[KickingRule]:
    """The rules among `rules` that keep `uid` (or everyone) out of `channel_name`."""
    return [
        rule
        for rule in rules
        if rule.channel_name == channel_name
        and rule.uid == (int(uid) if uid is not None else None)
        and JOIN_CHANNEL in rule.privileges
    ]


def delete_rule(*, rule_id: int) -> bool:
    """DELETE the rule `rule_id`. False if Agora no longer has it (it expired or
    was deleted already); AgoraRestError on any other failure. (Agora does not
    document its answer for an unknown id; a 404 is taken to mean just that.)"""
    try:
        answer = rest.delete(
            KICKING_RULE_PATH, {"appid": settings.AGORA_APP_ID, "id": int(rule_id)}
        )
    except AgoraRestError as exc:
        if exc.not_found:
            return False
        raise
    if answer.get("status") != "success":
        raise AgoraRestError(f"Agora answered without success: {rest.short(answer)}")
    return True


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
