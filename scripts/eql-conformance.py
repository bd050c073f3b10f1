#!/usr/bin/env python3
"""Runs ../shared/tools/eql-conformance for both keyword types and checks
that every failure is a documented known failure (tests/eql-known-failures.txt).

Prints the tool's per-suite lines and closes with
'eql-conformance: N passed, N failed, N skipped' (known failures count as skipped).
Exit 1 on any unexpected failure, or when a known failure starts passing
(so the list is kept honest)."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "..", "shared", "tools", "eql-conformance")
KNOWN = os.path.join(ROOT, "tests", "eql-known-failures.txt")


def main():
    if not os.path.exists(TOOL):
        print("skipping EQL conformance: ../shared not found")
        return 0
    known = set()
    with open(KNOWN) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                known.add(line)
    harrier = os.path.join(ROOT, "target", "release", "harrier")
    passed = failed = skipped = 0
    unexpected, seen_known = [], set()
    for kt in ("keyword", "wildcard"):
        out = subprocess.run(
            [sys.executable, TOOL, "--harrier", harrier, "--keyword-type", kt, "--show-failures", "1000"],
            capture_output=True, text=True,
        ).stdout
        for line in out.splitlines():
            m = re.match(r"^(\S+)\s+(\d+) passed\s+(\d+) failed$", line)
            if m:
                print(f"[{kt}] {line}")
                passed += int(m.group(2))
                continue
            m = re.match(r"^  (\S+?): expected", line)
            if m:
                name = m.group(1)
                if name in known:
                    seen_known.add(name)
                    skipped += 1
                else:
                    failed += 1
                    unexpected.append(f"[{kt}] {line}")
    for line in unexpected:
        print(line)
    fixed = known - seen_known
    for name in sorted(fixed):
        print(f"known failure now passes, remove it from tests/eql-known-failures.txt: {name}")
    print(f"eql-conformance: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if unexpected or fixed else 0


if __name__ == "__main__":
    sys.exit(main())
