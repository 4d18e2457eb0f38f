"""Fleet benchmark (issue 6): the collection against the documented manual procedure and kubesim's floor.

Run ``make bench`` or ``.venv/bin/python -m tests.bench --help``. Modules:

- ``__main__``: the CLI, the loop over fleet sizes and pod start delays, bench.json;
- ``run``: one fresh kubesim fleet per measured run, the playbook run (ours) and the script run (baseline),
  kubesim's records (events, counters, a store subscription timing each hop's first write);
- ``analyse``: hop windows, floor, detection latency, requests by verb, helm calls, task profile (pure);
- ``report``: derived ratios, the issue's targets, the printed tables;
- ``memsample``: peak memory of a process tree (a separate process);
- ``manual_procedure.sh``: the baseline; ``helm_trace.sh``: logs each helm call of both;
- ``callback_plugins/bench_timing.py``: per task and host timestamps of the playbook run.

Measured, never asserted: nothing here fails a build because of a number.
"""
