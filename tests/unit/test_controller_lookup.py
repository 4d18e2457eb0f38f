# -*- coding: utf-8 -*-
"""plugins/lookup/milvus_controller.py: the lock holder's host and ansible-playbook process."""
from __future__ import absolute_import, division, print_function

import os
import socket

from ansible_collections.milvusops.cluster.plugins.lookup import milvus_controller
from ansible_collections.milvusops.cluster.plugins.module_utils.lock import parse_holder
from ansible_collections.milvusops.cluster.plugins.module_utils.processes import process_alive, process_start


def test_the_identity_names_this_host_and_this_process_and_parses_back():
    identity = milvus_controller.LookupModule().run([])[0]
    host, pid, start = parse_holder(identity + "/20260101T000000/1")
    assert host == socket.gethostname() and pid == os.getpid()   # pytest is no multiprocessing child
    assert start == process_start(os.getpid()) and start > 0
    assert process_alive(pid, start)


def test_a_reused_pid_or_a_missing_process_is_not_alive():
    assert not process_alive(os.getpid(), process_start(os.getpid()) + 1)
    assert process_start(2 ** 22 + 1) == 0
    assert not process_alive(2 ** 22 + 1, 0)
