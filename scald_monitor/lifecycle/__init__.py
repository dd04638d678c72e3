"""Alert lifecycle (issue #12): downtimes, acknowledgements, and notifications that survive outages and restarts.

The parts, each a module, each usable alone:

* :mod:`.windows` — downtime windows (weekly recurring in UTC, or one-off) and their scope (checks, tag values)::

      parse_downtimes(cfg["downtimes"]) -> [Downtime];  parse_downtime(entry, where) -> Downtime
      Downtime.active(gps) / .until(gps) / .matches(check, tags) / .describe(gps) / .to_dict()
      active_downtime(downtimes, check, tags, gps) -> (Downtime, until) | None
      parse_time(v) -> gps;  parse_duration("2h") -> s;  parse_label("job=0003") -> {"job": "0003"}

* :mod:`.store` — ad hoc downtimes and acknowledgements in ``<state>.lifecycle.json`` (beside the state file),
  shared by the daemon, the CLI and ``scald serve``::

      LifecycleStore(LifecycleStore.beside(state_file))
      .add_downtime(entry) -> Downtime;  .downtimes();  .remove_downtime(id) -> bool
      .ack(check, label="", comment=, author=, sticky=False, expire=None, state=None) -> Ack;  .unack(check, label)
      .acked(check, label="", gps=None) -> Ack | None;  .on_result(check, label, old, new) -> [cleared Ack]
      .prune(gps=None)

* :mod:`.events` — what notifies (Nagios rules, level-triggered)::

      derive(check, label, hard_state, flapping, was_flapping, time=, summary=, text=, since=) -> [Event]
      decide(event, downtime_active, acked, last_sent, renotify=0, now=None) -> bool

* :mod:`.transports` — Alertmanager API v2, webhook, e-mail::

      parse_notifications(cfg["notifications"]) -> [spec]   (ValueError "notifications[i].key: problem")

* :mod:`.queue` / :mod:`.notifier` — the bounded on-disk queue and the background delivery::

      Notifier(cfg["notifications"], Notifier.queue_path_beside(state_file), board_url)
      .submit(event);  .last_sent(check, label);  .drain(timeout) -> left;  .stats();  .close()

How the daemon is meant to use them, after each check's state machine ran (for the check as a whole, label
``""``, and for each tag label)::

    store.on_result(check, label, old_hard_state, new_hard_state)
    down = active_downtime(config_downtimes + store.downtimes(), check, label, now_gps)
    for ev in derive(check, label, hard_state, flapping, was_flapping, time=now_gps, summary=..., text=...,
                     since=last_hard_change_gps):
        if decide(ev, down is not None, store.acked(check, label, now_gps) is not None,
                  notifier.last_sent(check, label), renotify=check_renotify):
            notifier.submit(ev)

and ``run --once`` ends with ``notifier.drain(timeout)``, then ``notifier.close()``.

Standard library only at run time (plus ``requests``, imported when a webhook or Alertmanager post is made).
"""
