"""Who may act in a stream (API-more §6.3): the policy's table, row by row, for
every kind of caller and status, and its check order (ban, role, then status)."""

import pytest

from allmine.core.errors import Conflict, InsufficientPermissions
from livestreams.lifecycle import LiveStreamStatus as S
from livestreams.policy import RULES, Caller, StreamAction, ensure_may_act, may_act

A = StreamAction

# What each caller is in the stream.
CALLERS = {
    "creator": Caller(is_creator=True, is_guest=False, has_joined=False, ban=None),
    "guest": Caller(is_creator=False, is_guest=True, has_joined=False, ban=None),
    "audience": Caller(is_creator=False, is_guest=False, has_joined=True, ban=None),
    "chat-only": Caller(is_creator=False, is_guest=False, has_joined=True, ban="CHAT_ONLY"),
    "blocked": Caller(is_creator=False, is_guest=False, has_joined=True, ban="BLOCK"),
    "moderator": Caller(
        is_creator=False, is_guest=False, has_joined=False, ban=None, is_moderator=lambda: True
    ),
    "stranger": Caller(is_creator=False, is_guest=False, has_joined=False, ban=None),
}
Y, N = True, False

# In a status the action allows: who may (the §6.3 table).
MAY = {
    # action           creator guest audience chat-only blocked moderator stranger
    A.READ_ROOM:       (Y,     Y,    Y,       Y,        N,      Y,        Y),
    A.SEND_CHAT:       (Y,     Y,    Y,       N,        N,      N,        N),
    A.SUPERLIKE:       (N,     N,    Y,       N,        N,      N,        N),
    A.SEND_GIFT:       (N,     N,    Y,       Y,        N,      N,        N),
    A.SET_REMINDER:    (Y,     Y,    Y,       Y,        N,      Y,        Y),
    A.REPORT:          (N,     Y,    Y,       Y,        Y,      Y,        Y),
    A.READ_STATISTICS: (Y,     Y,    N,       N,        N,      Y,        N),
}  # fmt: skip

# The statuses each action needs (None: any).
NEEDS = {
    A.READ_ROOM: None,
    A.SEND_CHAT: {S.ACTIVE},
    A.SUPERLIKE: {S.ACTIVE},
    A.SEND_GIFT: {S.ACTIVE},
    A.SET_REMINDER: {S.SCHEDULED, S.PREPARING},
    A.REPORT: None,
    A.READ_STATISTICS: None,
}


def test_the_table_covers_every_action():
    assert set(MAY) == set(RULES) == set(StreamAction) == set(NEEDS)


@pytest.mark.parametrize("action", list(StreamAction))
@pytest.mark.parametrize("who", list(CALLERS))
@pytest.mark.parametrize("status", list(S))
def test_the_policy(action, who, status):
    allowed_caller = MAY[action][list(CALLERS).index(who)]
    allowed_status = NEEDS[action] is None or status in NEEDS[action]
    caller = CALLERS[who]
    assert may_act(action, status=status, caller=caller) is (allowed_caller and allowed_status)
    if not allowed_caller:
        # A ban or a role is refused (403) before the status is looked at.
        with pytest.raises(InsufficientPermissions):
            ensure_may_act(action, status=status, caller=caller)
    elif not allowed_status:
        with pytest.raises(Conflict, match=status):
            ensure_may_act(action, status=status, caller=caller)
    else:
        ensure_may_act(action, status=status, caller=caller)


def test_the_moderator_check_is_asked_only_when_a_rule_lets_moderators_in():
    asked = []

    def moderator_check() -> bool:
        asked.append(True)
        return False

    stranger = Caller(
        is_creator=False, is_guest=False, has_joined=False, ban=None, is_moderator=moderator_check
    )
    for action in (A.READ_ROOM, A.SEND_GIFT, A.REPORT, A.SET_REMINDER, A.SEND_CHAT):
        may_act(action, status=S.ACTIVE, caller=stranger)
    assert asked == []
    assert may_act(A.READ_STATISTICS, status=S.ACTIVE, caller=stranger) is False
    assert asked == [True]


def test_the_refusals_say_why():
    blocked = CALLERS["blocked"]
    with pytest.raises(InsufficientPermissions, match="banned from this live stream"):
        ensure_may_act(A.SEND_GIFT, status=S.ACTIVE, caller=blocked)
    with pytest.raises(InsufficientPermissions, match="banned from chatting"):
        ensure_may_act(A.SEND_CHAT, status=S.ACTIVE, caller=CALLERS["chat-only"])
    with pytest.raises(InsufficientPermissions, match="join it first"):
        ensure_may_act(A.SEND_GIFT, status=S.ACTIVE, caller=CALLERS["stranger"])
    with pytest.raises(Conflict, match="ended; this needs it to be active"):
        ensure_may_act(A.SEND_GIFT, status=S.ENDED, caller=CALLERS["audience"])
