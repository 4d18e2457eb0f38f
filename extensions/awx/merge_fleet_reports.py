# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merge the fleet reports of an AWX job's slices into one.

Each slice of a sliced job template (and each AWX job) writes its own fleet-report-job<id>.json in
milvus_report_dir. With that folder on a volume every slice mounts, this writes fleet-report.json,
one report for the whole fleet:

    python3 merge_fleet_reports.py /reports/milvus [--output /reports/milvus/fleet-report.json]

A cluster found in several reports (a slice that was relaunched) counts with its latest result.
Standard library only: it runs with the execution environment's Python or any other.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import glob
import json
import os
import re
import sys

SLICE_REPORT = re.compile(r"^fleet-report-job(?P<job>[0-9]+)\.json$")


def merge(reports):
    """{job id: report} -> one report: every cluster once (its latest result), sorted, with the jobs."""
    latest = {}
    for job in sorted(reports, key=int):
        for result in reports[job].get("clusters", []):
            name = result.get("cluster")
            known = latest.get(name)
            if known is None or (result.get("finished") or "") >= (known[1].get("finished") or ""):
                latest[name] = (job, result)
    clusters = [dict(result, job=job) for job, result in (latest[name] for name in sorted(latest))]
    return {"jobs": sorted(reports, key=int), "clusters": clusters}


def read_reports(folder):
    reports = {}
    for path in glob.glob(os.path.join(folder, "fleet-report-job*.json")):
        match = SLICE_REPORT.match(os.path.basename(path))
        if match:
            with open(path) as handle:
                reports[match.group("job")] = json.load(handle)
    return reports


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="milvus_report_dir of the slices")
    parser.add_argument("--output", help="default: <folder>/fleet-report.json")
    args = parser.parse_args(argv)
    reports = read_reports(args.folder)
    if not reports:
        sys.stderr.write("no fleet-report-job<id>.json in %s\n" % args.folder)
        return 1
    merged = merge(reports)
    output = args.output or os.path.join(args.folder, "fleet-report.json")
    temporary = output + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(merged, handle, indent=4, sort_keys=True)
        handle.write("\n")
    os.rename(temporary, output)
    sys.stdout.write("%d cluster(s) from job(s) %s -> %s\n" % (len(merged["clusters"]), ", ".join(merged["jobs"]), output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
