#!/usr/bin/env python3
"""Runs one EQL rule with the reference Python implementation (PyPI `eql`)
over an ECS NDJSON file, for comparison with `harrier hunt`.

usage: python_eql.py RULE.toml EVENTS.ndjson
Prints the events read, the sequence events found and events per second.
One-element lists are unwrapped first (see `unwrap`), since eql has no
multi-valued fields; that cost is counted in its time."""
import json
import sys
import time
import tomllib
from datetime import datetime

import eql
from eql.parser import elasticsearch_syntax, ignore_missing_functions


def unwrap(value):
    """The eql package has no multi-valued fields: a one-element list (ECS
    writes event.type as ["start"]) becomes its element so rules compare it."""
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list) and len(value) == 1:
        return unwrap(value[0])
    return value


def millis(ts):
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def main():
    rule_path, events_path = sys.argv[1], sys.argv[2]
    with open(rule_path, "rb") as f:
        query = tomllib.load(f)["rule"]["query"]
    with elasticsearch_syntax, ignore_missing_functions:
        parsed = eql.parse_query(query)
    engine = eql.PythonEngine({"flatten": True, "time_unit": 1000})
    found = []
    engine.add_output_hook(found.append)
    engine.add_query(parsed)
    count = 0

    def events():
        nonlocal count
        with open(events_path, encoding="utf-8") as f:
            for line in f:
                doc = unwrap(json.loads(line))
                count += 1
                cats = doc.get("event", {}).get("category") or ["unknown"]
                cat = cats[0] if isinstance(cats, list) else cats
                yield eql.Event(cat, millis(doc["@timestamp"]), doc)

    start = time.perf_counter()
    engine.stream_events(events())
    elapsed = time.perf_counter() - start
    print(f"python eql: {count} events, {len(found)} matched events, {elapsed:.2f} s, {count / elapsed:,.0f} events/s")


if __name__ == "__main__":
    main()
