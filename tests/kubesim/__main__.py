"""``python -m tests.kubesim <command>``: command-line entry points of the simulator package.

fleet   start/stop/show a fleet of simulated clusters seeded with Milvus releases (fleet.py)
"""

import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    if argv[0] == "fleet":
        from .fleet import main as fleet_main

        return fleet_main(argv[1:])
    print(f"unknown command {argv[0]!r}\n\n{__doc__.strip()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
