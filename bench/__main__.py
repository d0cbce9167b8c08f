"""`python -m bench [--quick]`: run the benchmark, print the figures, append them to RESULTS.md."""

from __future__ import annotations

import argparse
import dataclasses

from bench.runner import FULL, QUICK, run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short run (under two minutes)")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 8)")
    parser.add_argument("--cases", type=int, help="fill the store up to this many cases")
    parser.add_argument("--fill-seconds", type=float, help="the longest time spent filling it")
    parser.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.cases is not None:
        plan = dataclasses.replace(plan, population=args.cases)
    if args.fill_seconds is not None:
        plan = dataclasses.replace(plan, population_seconds=args.fill_seconds)
    run(plan, clients=args.clients, append=not args.no_append)


main()
