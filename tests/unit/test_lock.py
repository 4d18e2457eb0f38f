"""The upgrade lock's decisions (plugins/module_utils/lock.py)."""

import datetime

from ansible_collections.milvusops.cluster.plugins.module_utils import lock

NOW = datetime.datetime(2026, 11, 24, 12, 0, 0)


def lease(holder, renewed, seconds=300, purpose="upgrade of rel to v2.6.4 by prod-1", rv="7"):
    return {
        "metadata": {"name": "milvusops-upgrade-rel", "resourceVersion": rv,
                     "annotations": {lock.PURPOSE_ANNOTATION: purpose}},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": seconds,
                 "acquireTime": lock.format_time(renewed), "renewTime": lock.format_time(renewed),
                 "leaseTransitions": 0},
    }


def test_no_lease_is_created():
    assert lock.decide(None, "me", NOW, False) == (lock.CREATE, None)


def test_own_lease_is_renewed_even_when_expired():
    assert lock.decide(lease("me", NOW - datetime.timedelta(hours=1)), "me", NOW, False)[0] == lock.RENEW


def test_live_lease_of_another_holder_is_refused_with_holder_purpose_and_expiry():
    action, message = lock.decide(lease("them", NOW - datetime.timedelta(seconds=10)), "me", NOW, True)
    assert action == lock.REFUSE  # break_stale never breaks a live lock
    assert "them" in message and "upgrade of rel to v2.6.4 by prod-1" in message
    assert "2026-11-24T12:04:50Z" in message and "nothing was changed" in message


def test_stale_lease_needs_the_explicit_variable():
    stale = lease("them", NOW - datetime.timedelta(seconds=301))
    action, message = lock.decide(stale, "me", NOW, False)
    assert action == lock.REFUSE and "milvus_lock_break_stale=true" in message and "expired" in message
    action, message = lock.decide(stale, "me", NOW, True)
    assert action == lock.TAKE_OVER and "them" in message


def test_expiry_is_renew_time_plus_duration():
    assert lock.expiry(lease("x", NOW, seconds=60)) == NOW + datetime.timedelta(seconds=60)
    assert lock.expiry({"spec": {"holderIdentity": "x"}}) is None


def test_time_spellings_of_servers_and_clients():
    expected = datetime.datetime(2026, 11, 24, 5, 54, 4, 123456)
    for text in ("2026-11-24T05:54:04.123456Z", "2026-11-24T05:54:04.123456+00:00", "2026-11-24T05:54:04.123456789Z"):
        assert lock.parse_time(text) == expected, text
    assert lock.parse_time("2026-11-24T05:54:04Z") == expected.replace(microsecond=0)
    assert lock.parse_time("2026-11-24T05:54:04+02:00") is None  # not UTC: never guess


def test_unreadable_lease_times_count_as_stale():
    broken = lease("them", NOW)
    broken["spec"]["renewTime"] = broken["spec"]["acquireTime"] = "yesterday"
    assert lock.decide(broken, "me", NOW, False)[0] == lock.REFUSE
    assert lock.decide(broken, "me", NOW, True)[0] == lock.TAKE_OVER


def test_lease_body_create_renew_take_over():
    created = lock.lease_body("milvusops-upgrade-rel", "me", "p", 300, NOW)
    assert created["spec"]["holderIdentity"] == "me" and created["spec"]["leaseTransitions"] == 0
    assert "resourceVersion" not in created["metadata"]
    later = NOW + datetime.timedelta(seconds=30)
    renewed = lock.lease_body("milvusops-upgrade-rel", "me", "p", 300, later, dict(created, metadata=dict(
        created["metadata"], resourceVersion="9")))
    assert renewed["spec"]["acquireTime"] == created["spec"]["acquireTime"]
    assert renewed["spec"]["renewTime"] == lock.format_time(later)
    assert renewed["metadata"]["resourceVersion"] == "9"  # optimistic: a concurrent writer gets a 409
    taken = lock.lease_body("milvusops-upgrade-rel", "me", "p", 300, later, lease("them", NOW))
    assert taken["spec"]["leaseTransitions"] == 1 and taken["spec"]["acquireTime"] == lock.format_time(later)


def test_lease_name_is_a_dns_label():
    assert lock.lease_name("vectors") == "milvusops-upgrade-vectors"
    assert len(lock.lease_name("x" * 80)) <= 63


# -- recognising our own failed hop revisions (plan.made_by_us) -------------------------------------

from ansible_collections.milvusops.cluster.plugins.module_utils.plan import made_by_us  # noqa: E402

HOP_SIGNATURE = {"mixCoordinator": {"enabled": True}, "pulsar": {"enabled": True}, "pulsarv3": {"enabled": False},
                 "kafka": {"enabled": False}, "woodpecker": {"enabled": False},
                 "externalPulsar": {"enabled": False}, "externalKafka": {"enabled": False}}


def test_our_description_is_ours():
    assert made_by_us("milvusops.cluster: hop streaming to chart 5.0.0", {})


def test_helm_failure_description_with_our_value_signature_is_ours():
    assert made_by_us('Upgrade "rel" failed: an error on the server', HOP_SIGNATURE)


def test_a_foreign_failure_is_not_ours():
    assert not made_by_us('Upgrade "rel" failed: timed out', {"image": {"all": {"tag": "v2.5.16"}}})
    partial = dict(HOP_SIGNATURE)
    del partial["externalKafka"]
    assert not made_by_us('Upgrade "rel" failed', partial)
    assert not made_by_us('Upgrade "rel" failed', dict(HOP_SIGNATURE, mixCoordinator={"enabled": False}))


# -- a holder naming this controller's process (issue 12, class 9) ------------------------------------

def test_parse_holder_reads_host_pid_and_start_and_ignores_other_holders():
    assert lock.parse_holder("ctl-1/pid:4123:998877/20260101T000000/42") == ("ctl-1", 4123, 998877)
    assert lock.parse_holder("ctl-1/pid:4123/x") == ("ctl-1", 4123, 0)
    assert lock.parse_holder("ctl-1/20260101T000000/42") is None       # an older run's holder
    assert lock.parse_holder("ctl-1/pid:abc/x") is None and lock.parse_holder(None) is None


def test_a_holder_is_gone_only_on_this_host_and_only_when_its_process_is():
    mine = "ctl-1/pid:200:5/t/1"
    assert lock.holder_gone("ctl-1/pid:100:4/t/2", mine, lambda pid, start: False) is True
    assert lock.holder_gone("ctl-1/pid:100:4/t/2", mine, lambda pid, start: True) is False
    assert lock.holder_gone("ctl-2/pid:100:4/t/2", mine, lambda pid, start: False) is False   # another host
    assert lock.holder_gone("ctl-1/t/2", mine, lambda pid, start: False) is False             # no process named
    assert lock.holder_gone("ctl-1/pid:200:5/t/2", mine, lambda pid, start: False) is False   # our own process
    seen = []
    lock.holder_gone("ctl-1/pid:100:4/t/2", mine, lambda pid, start: seen.append((pid, start)))
    assert seen == [(100, 4)]


def test_an_unexpired_lock_of_a_dead_local_run_is_taken_over_saying_whose():
    now = datetime.datetime(2026, 1, 1, 12, 0, 0)
    existing = lock.lease_body("milvusops-upgrade-rel", "ctl-1/pid:100:4/t/2", "upgrade of rel", 300, now)
    existing["metadata"]["resourceVersion"] = "7"
    action, message = lock.decide(existing, "ctl-1/pid:200:5/t/1", now, False, gone=True)
    assert action == lock.TAKE_OVER
    assert "took over" in message and "process 100" in message and "ctl-1" in message
    assert lock.decide(existing, "ctl-1/pid:200:5/t/1", now, False)[0] == lock.REFUSE


def test_a_lost_race_names_the_cluster_the_lease_and_what_to_do():
    text = lock.lost_race_message("cluster prod-1", "milvusops-upgrade-rel", "409 Conflict")
    assert text == ("cluster prod-1: another run changed the upgrade lock milvusops-upgrade-rel at the same moment "
                    "(409 Conflict); nothing was changed, run again to see who holds it")
