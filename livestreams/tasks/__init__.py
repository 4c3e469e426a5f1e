"""Background work on Celery (`allmine.celery`): every call to Agora's REST APIs,
and the periodic jobs of `CELERY_BEAT_SCHEDULE`.

Tasks are thin: they take ids, call a service, and can run twice without harm
(the services claim or lock what they work on); their state is in our own
tables (`AgoraKick`, `Recording`), which the back office shows.

- `agora`: the work on one kick or one recording, enqueued by the services
  (`delay_on_commit`: after the transaction that asked for it commits);
- `chat`: publishing one message into a stream's Signaling channel (a chat
  message, its removal, a superlike), enqueued by `services.chat`;
- `periodic`: what beat runs (expire, end overdue, settle replay revenue, the
  sweeps that retry kicks, recordings and Signaling messages, presence, pruning old notices), each
  under a lock so that two runs never overlap.

The services that enqueue (bans, moderation, broadcasting, agora_notices,
jobs) import `tasks.agora`; the services the tasks call (agora_kicks, recording,
presence) never import a task. This package imports none of its modules, so
importing `tasks.agora` from a service never pulls in `tasks.periodic` (which
imports those services): the worker loads both through `CELERY_IMPORTS`.
"""
