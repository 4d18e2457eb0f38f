# -*- coding: utf-8 -*-
"""plugins/action/milvus_wait_ready.py: the pure parts of the flat wait (progress lines, lock renewal timing)."""
from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.milvusops.cluster.plugins.action.milvus_wait_ready import (
    Failed, InProcessModule, progress_line, renewal_due)
from ansible_collections.milvusops.cluster.plugins.module_utils.lease import lock_params


def test_progress_line_names_the_cluster_the_hop_its_age_and_what_is_missing():
    line = progress_line("prod-eu-1", "streaming", 100.0, 142.9, ["streamingnode: 0/1 ready", "proxy: 0/1 ready"])
    assert line == ("prod-eu-1: hop streaming rolling for 42 s, waiting for: "
                    "streamingnode: 0/1 ready; proxy: 0/1 ready")


def test_progress_line_never_counts_backwards_nor_prints_an_empty_list():
    line = progress_line("c", None, 100.0, 99.0, [])
    assert line == "c: hop (unnamed) rolling for 0 s, waiting for: nothing listed"


@pytest.mark.parametrize("last, now, due", [
    (None, 0.0, True),       # this wait never renewed: the hop's helm upgrade may have taken a while
    (100.0, 104.9, False),   # a 10 s lock: not yet half way
    (100.0, 105.0, True),
    (100.0, 500.0, True),
])
def test_the_lock_is_renewed_once_half_its_duration_has_passed(last, now, due):
    assert renewal_due(last, 10, now) is due


def test_lock_renewal_keeps_the_connection_and_never_breaks_a_stale_lock():
    params = {"release": "rel", "namespace": "ns", "kubeconfig": "/k", "context": "c", "image_tag": "v2.6.4"}
    renew = lock_params(params, {"holder": "me", "duration": 60, "purpose": "p"})
    assert renew["release"] == "rel" and renew["namespace"] == "ns" and renew["kubeconfig"] == "/k"
    assert renew["holder"] == "me" and renew["duration"] == 60 and renew["break_stale"] is False
    assert "image_tag" not in renew and renew["state"] == "acquired"


def test_fail_json_in_the_worker_raises_with_the_module_style_result():
    with pytest.raises(Failed) as caught:
        InProcessModule({}, False).fail_json(msg="boom", ready=False)
    assert caught.value.result == {"msg": "boom", "ready": False, "failed": True}
