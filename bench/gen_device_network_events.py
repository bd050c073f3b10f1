#!/usr/bin/env python3
"""Generates DeviceNetworkEvents rows (Defender advanced-hunting columns) for benchmarks.

Writes NDJSON, one Defender row per line: `harrier kql` reads it as DeviceNetworkEvents
rows and DuckDB loads the same file with `read_ndjson`. Values are drawn from a seeded generator: 2,000 devices,
a few dozen processes (mshta.exe among them, about 0.5% of rows), public and private
remote addresses, common ports, and timestamps spread over one day.

usage: gen_device_network_events.py --rows N --out FILE.ndjson
"""

import argparse
import json
import random
from datetime import datetime, timedelta, timezone

PROCESSES = [
    ("chrome.exe", '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" --type=utility'),
    ("msedge.exe", '"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe"'),
    ("svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p"),
    ("OneDrive.exe", '"C:\\Users\\u\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe" /background'),
    ("Teams.exe", '"C:\\Users\\u\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe"'),
    ("outlook.exe", '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"'),
    ("powershell.exe", "powershell.exe -NoProfile -ExecutionPolicy Bypass"),
    ("MsMpEng.exe", '"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\MsMpEng.exe"'),
    ("rundll32.exe", "rundll32.exe shell32.dll,Control_RunDLL"),
    ("firefox.exe", '"C:\\Program Files\\Mozilla Firefox\\firefox.exe"'),
]
MSHTA = ("mshta.exe", "mshta.exe https://example.invalid/page.hta")
URLS = ["login.microsoftonline.com", "www.google.com", "github.com", "update.example.com", ""]
PORTS = [443, 443, 443, 80, 53, 8080, 4443, 445, 3389]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    # Rows are formatted from JSON-encoded pieces computed once (per device, per process,
    # per second); the random draws are made in the same order as one json.dumps per row
    # would make them, so a seed gives the same file as before, several times faster.
    enc = lambda v: json.dumps(v)  # noqa: E731
    devices = [
        (
            f'"DeviceId":"{dev:040x}","DeviceName":"ws-{dev:05d}.corp.example"',
            f'"LocalIP":"10.1.{dev // 250}.{dev % 250 + 1}"',
        )
        for dev in range(2000)
    ]
    procs = [(enc(n), enc(c)) for n, c in PROCESSES]
    mshta = (enc(MSHTA[0]), enc(MSHTA[1]))
    urls = [enc(u) for u in URLS]
    first_octets = [13, 20, 40, 52, 93, 104, 142, 151]
    rows = max(a.rows, 1)
    second_prefix = {}
    out = []
    with open(a.out, "w") as f:
        for i in range(a.rows):
            dev = rnd.randrange(2000)
            name, cmd = mshta if rnd.random() < 0.005 else rnd.choice(procs)
            public = rnd.random() < 0.6
            if public:
                ip = f"{rnd.choice(first_octets)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            else:
                ip = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            micros = i * 86_400_000_000 // rows
            sec, frac = divmod(micros, 1_000_000)
            prefix = second_prefix.get(sec)
            if prefix is None:
                second_prefix.clear()
                prefix = (start + timedelta(seconds=sec)).strftime("%Y-%m-%dT%H:%M:%S")
                second_prefix[sec] = prefix
            ids, local_ip = devices[dev]
            action = "ConnectionSuccess" if rnd.random() < 0.9 else "ConnectionFailed"
            port = rnd.choice(PORTS)
            url = rnd.choice(urls) if public else '""'
            local_port = rnd.randrange(49152, 65535)
            pid = rnd.randrange(100, 20000)
            out.append(
                f'{{"Timestamp":"{prefix}.{frac:06d}0Z",{ids},"ActionType":"{action}",'
                f'"RemoteIP":"{ip}","RemotePort":{port},"RemoteUrl":{url},{local_ip},'
                f'"LocalPort":{local_port},"Protocol":"Tcp",'
                f'"RemoteIPType":"{"Public" if public else "Private"}",'
                f'"InitiatingProcessFileName":{name},"InitiatingProcessCommandLine":{cmd},'
                f'"InitiatingProcessId":{pid}}}\n'
            )
            if len(out) >= 10_000:
                f.write("".join(out))
                out.clear()
        f.write("".join(out))

if __name__ == "__main__":
    main()
