"""The rules of `livestreams/lifecycle.py` as tables, without a database: every
(action, status, actor) gives the documented target or the right refusal, every
(role, status) may join and be in the channel or not. The same rules through the
API: tests/livestreams/test_lifecycle.py.

The tables below are written from the contract (§3, §4) and our rules, not read
from the module, so that a change to the module's table fails here."""

import itertools

import pytest

from allmine.core.errors import Conflict, InsufficientPermissions
from livestreams.lifecycle import (
    NOT_ALLOWED,
    TRANSITIONS,
    WRONG_STATUS,
    Action,
    Actor,
    LiveStreamStatus,
    Role,
    can_transition,
    ensure_may,
    ensure_may_be_in_channel,
    ensure_may_join,
    may_be_in_channel,
    may_join,
    statuses_leaving_by,
    transition_target,
)

S = LiveStreamStatus
A = Action
CREATOR, GUEST, MODERATOR, SCHEDULER = Actor.CREATOR, Actor.GUEST, Actor.MODERATOR, Actor.SCHEDULER
NOBODY = None  # a user with no part in the stream (what `actor_in` gives a stranger)

# (action, from, who) -> to
DOCUMENTED = {
    # §4: scheduled/preparing --(creator joins)--> active
    (A.GO_LIVE, S.SCHEDULED, CREATOR): S.ACTIVE,
    (A.GO_LIVE, S.PREPARING, CREATOR): S.ACTIVE,
    # §4: active --(creator or moderator ends)--> ended; the scheduler ends
    # overdue streams (end_overdue_streams, our rule)
    (A.END, S.ACTIVE, CREATOR): S.ENDED,
    (A.END, S.ACTIVE, MODERATOR): S.ENDED,
    (A.END, S.ACTIVE, SCHEDULER): S.ENDED,
    # §4: scheduled --(start time + grace passes, nobody started it)--> expired
    (A.EXPIRE, S.SCHEDULED, SCHEDULER): S.EXPIRED,
    # §4: scheduled/preparing --(creator cancels)--> cancelled_by_host; a
    # moderator's cancel counts as the host's (issue 3, our rule)
    (A.CANCEL, S.SCHEDULED, CREATOR): S.CANCELLED_BY_HOST,
    (A.CANCEL, S.PREPARING, CREATOR): S.CANCELLED_BY_HOST,
    (A.CANCEL, S.SCHEDULED, MODERATOR): S.CANCELLED_BY_HOST,
    (A.CANCEL, S.PREPARING, MODERATOR): S.CANCELLED_BY_HOST,
    # §4: scheduled/preparing --(invited guest cancels)--> cancelled_by_guest
    (A.CANCEL, S.SCHEDULED, GUEST): S.CANCELLED_BY_GUEST,
    (A.CANCEL, S.PREPARING, GUEST): S.CANCELLED_BY_GUEST,
}
ACTORS = [*Actor, NOBODY]
EVERY_CASE = list(itertools.product(Action, S, ACTORS))


def may_ever(action: Action, actor: Actor | None) -> bool:
    return any(a == action and who == actor for a, _source, who in DOCUMENTED)


def case_id(case) -> str:
    action, status, actor = case
    return f"{action}-{status}-{actor or 'nobody'}"


def test_the_module_table_is_the_documented_one():
    rows = {(t.action, t.source, who): t.target for t in TRANSITIONS for who in t.who}
    assert rows == DOCUMENTED
    assert set(NOT_ALLOWED) == set(WRONG_STATUS) == set(Action)


@pytest.mark.parametrize("case", EVERY_CASE, ids=[case_id(c) for c in EVERY_CASE])
def test_every_action_status_and_actor(case):
    action, status, actor = case
    target = DOCUMENTED.get(case)

    if target is not None:
        assert transition_target(action, status, actor) == target
        assert can_transition(action, status, actor) is True
        ensure_may(action, actor)  # no refusal
        return

    assert can_transition(action, status, actor) is False
    if not may_ever(action, actor):  # 403 first, whatever the status
        with pytest.raises(InsufficientPermissions) as refused:
            transition_target(action, status, actor)
        assert refused.value.status_code == 403
        assert refused.value.details == [NOT_ALLOWED[action]]
        with pytest.raises(InsufficientPermissions):
            ensure_may(action, actor)
    else:  # an actor who may, in a status the action does not leave
        with pytest.raises(Conflict) as refused:
            transition_target(action, status, actor)
        assert refused.value.status_code == 409
        assert refused.value.details == [WRONG_STATUS[action].format(status=status)]
        assert status in refused.value.details[0]


@pytest.mark.parametrize("case", EVERY_CASE, ids=[case_id(c) for c in EVERY_CASE])
def test_can_transition_agrees_with_transition_target(case):
    try:
        transition_target(*case)
    except (InsufficientPermissions, Conflict):
        allowed = False
    else:
        allowed = True
    assert can_transition(*case) is allowed


def test_the_statuses_each_action_leaves():
    assert statuses_leaving_by(A.GO_LIVE) == {S.SCHEDULED, S.PREPARING}
    assert statuses_leaving_by(A.END) == {S.ACTIVE}
    assert statuses_leaving_by(A.EXPIRE) == {S.SCHEDULED}
    assert statuses_leaving_by(A.CANCEL) == {S.SCHEDULED, S.PREPARING}


def test_no_transition_leaves_a_final_status():
    final = {S.ENDED, S.EXPIRED, S.CANCELLED_BY_HOST, S.CANCELLED_BY_GUEST}
    assert not any(source in final for _action, source, _who in DOCUMENTED)


# --- Joining and being in the channel ---------------------------------------------------

# §3: the creator joins a scheduled, preparing or active stream (it becomes
# active), an invited guest likewise; the audience watches active streams only.
MAY_JOIN = {
    Role.HOST: {S.SCHEDULED, S.PREPARING, S.ACTIVE},
    Role.GUEST: {S.SCHEDULED, S.PREPARING, S.ACTIVE},
    Role.AUDIENCE: {S.ACTIVE},
}
# Who may hold tokens (renew them) and count as present: the host only once live,
# a guest from the invitation until the end, the audience while active.
IN_CHANNEL = {
    Role.HOST: {S.ACTIVE},
    Role.GUEST: {S.SCHEDULED, S.PREPARING, S.ACTIVE},
    Role.AUDIENCE: {S.ACTIVE},
}
ROLE_CASES = list(itertools.product(Role, S))


@pytest.mark.parametrize(("role", "status"), ROLE_CASES)
def test_who_may_join_in_which_status(role, status):
    allowed = status in MAY_JOIN[role]
    assert may_join(role, status) is allowed
    if allowed:
        ensure_may_join(role, status)
    else:
        with pytest.raises(Conflict) as refused:
            ensure_may_join(role, status)
        assert refused.value.status_code == 409
        assert status in refused.value.details[0]


@pytest.mark.parametrize(("role", "status"), ROLE_CASES)
def test_who_may_be_in_the_channel_in_which_status(role, status):
    allowed = status in IN_CHANNEL[role]
    assert may_be_in_channel(role, status) is allowed
    if allowed:
        ensure_may_be_in_channel(role, status)
    else:
        with pytest.raises(Conflict) as refused:
            ensure_may_be_in_channel(role, status)
        assert refused.value.details == [f"This live stream is {status}; no new token is issued."]
