"""Summarise `mutmut results --all true` per module: killed, survived, no tests, timeouts.

Read from standard input (the Makefile's `mutation` target pipes mutmut into it); prints one
Markdown table row per module and the survivors, so the score can go into docs/benchmarks.md.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict

LINE = re.compile(r"^\s*(?P<name>[\w.]+)\.x_?(?P<func>\w+?)__mutmut_(?P<n>\d+): (?P<status>.+)$")


def main() -> int:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for raw in sys.stdin:
        m = LINE.match(raw)
        if m is None:
            continue
        status = m["status"].strip()
        counts[m["name"]][status] += 1
        if status == "survived":
            survivors.append(f"{m['name']}.{m['func']}__mutmut_{m['n']}")
    print("| module | mutants | killed | survived | no tests | timeout | score |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in sorted(counts):
        c = counts[name]
        total = sum(c.values())
        tested = total - c["no tests"]
        score = 100.0 * c["killed"] / tested if tested else 0.0
        print(
            f"| `{name}` | {total} | {c['killed']} | {c['survived']} | {c['no tests']} "
            f"| {c['timeout']} | {score:.1f} % |"
        )
    print(f"\n{len(survivors)} surviving mutants (`mutmut show NAME` prints each):")
    for s in survivors:
        print(f"- {s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
