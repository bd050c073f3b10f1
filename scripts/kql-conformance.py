#!/usr/bin/env python3
"""Runs ../shared/tools/kql-conformance (the Kusto documentation examples) against
`harrier kql` and fails when the number of passing cases drops below the pinned count.

usage: scripts/kql-conformance.py [--harrier PATH] [--show-failures N]

The harrier binary defaults to $HARRIER, then target/release/harrier (honouring
$CARGO_TARGET_DIR). Cases listed in crates/kql-exec/conformance-doc-errors.txt are examples
whose documented output is wrong; they are reported apart and do not count as failures.
Raise PINNED_PASSES when the pass count improves. Exit 0 when the pin holds (or ../shared is
absent), 1 otherwise.
"""
import argparse
import os
import re
import subprocess
import sys

PINNED_PASSES = 317

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "..", "shared", "tools", "kql-conformance")
DOC_ERRORS = os.path.join(ROOT, "crates", "kql-exec", "conformance-doc-errors.txt")


def default_harrier():
    if os.environ.get("HARRIER"):
        return os.environ["HARRIER"]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "harrier")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--harrier", default=default_harrier())
    ap.add_argument("--show-failures", type=int, default=0, metavar="N")
    a = ap.parse_args()
    if not os.path.exists(TOOL):
        print("skipping KQL conformance: ../shared not found")
        return 0
    doc_errors = set()
    if os.path.exists(DOC_ERRORS):
        with open(DOC_ERRORS) as f:
            for line in f:
                name = line.split("#", 1)[0].strip()
                if name:
                    doc_errors.add(name)
    out = subprocess.run(
        [sys.executable, TOOL, "--harrier", a.harrier, "--show-failures", "100000"],
        capture_output=True, text=True, cwd=ROOT,
    ).stdout
    passed = failed = None
    failures = []
    for line in out.splitlines():
        m = re.match(r"^(\d+) passed, (\d+) failed$", line)
        if m:
            passed, failed = int(m.group(1)), int(m.group(2))
        elif re.match(r"^  [a-z0-9_.-]+: ", line):
            failures.append(line)
        elif re.match(r"^\S.*\s\d+ passed\s+\d+ failed$", line) or line.startswith("skipped "):
            print(line)
    if passed is None:
        print("kql-conformance: the tool printed no summary")
        print(out[-2000:])
        return 1
    doc = [f for f in failures if f.strip().split(":", 1)[0] in doc_errors]
    real = [f for f in failures if f not in doc]
    for line in real[: a.show_failures]:
        print(line[:300])
    total = passed + failed
    print(f"documentation errors (allow-listed): {len(doc)}")
    print(f"kql-conformance: {passed} of {total} cases pass ({100.0 * passed / max(total, 1):.1f}%), "
          f"{failed - len(doc)} fail, {len(doc)} are documentation errors; pinned minimum {PINNED_PASSES}")
    if passed < PINNED_PASSES:
        print(f"REGRESSION: {passed} passes is below the pinned {PINNED_PASSES}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
