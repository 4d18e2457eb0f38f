# -*- coding: utf-8 -*-
"""Make `ansible_collections.milvusops.cluster` importable from the repository root.

The repository is the collection root; the collection's imports need it at
ansible_collections/milvusops/cluster, so a symlink tree in a temp dir goes on sys.path.
"""

from __future__ import absolute_import, division, print_function

import hashlib
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collection_path():
    parts = ROOT.split(os.sep)
    if parts[-3:-2] == ["ansible_collections"]:  # already laid out (ansible-test)
        return os.sep.join(parts[:-3])
    digest = hashlib.sha1(ROOT.encode("utf-8")).hexdigest()[:12]
    base = os.path.join(tempfile.gettempdir(), "milvusops-unit-%s" % digest)
    namespace_dir = os.path.join(base, "ansible_collections", "milvusops")
    link = os.path.join(namespace_dir, "cluster")
    if not (os.path.islink(link) and os.path.realpath(link) == os.path.realpath(ROOT)):
        if not os.path.isdir(namespace_dir):
            os.makedirs(namespace_dir)
        if os.path.lexists(link):
            os.remove(link)
        try:
            os.symlink(ROOT, link)
        except FileExistsError:  # a parallel run made it
            pass
    return base


_PATH = _collection_path()
if _PATH not in sys.path:
    sys.path.insert(0, _PATH)
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
