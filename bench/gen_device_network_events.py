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
    with open(a.out, "w") as f:
        for i in range(a.rows):
            dev = rnd.randrange(2000)
            name, cmd = MSHTA if rnd.random() < 0.005 else rnd.choice(PROCESSES)
            public = rnd.random() < 0.6
            if public:
                ip = f"{rnd.choice([13, 20, 40, 52, 93, 104, 142, 151])}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            else:
                ip = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            ts = start + timedelta(microseconds=i * 86_400_000_000 // max(a.rows, 1))
            row = {
                "Timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
                "DeviceId": f"{dev:040x}",
                "DeviceName": f"ws-{dev:05d}.corp.example",
                "ActionType": "ConnectionSuccess" if rnd.random() < 0.9 else "ConnectionFailed",
                "RemoteIP": ip,
                "RemotePort": rnd.choice(PORTS),
                "RemoteUrl": rnd.choice(URLS) if public else "",
                "LocalIP": f"10.1.{dev // 250}.{dev % 250 + 1}",
                "LocalPort": rnd.randrange(49152, 65535),
                "Protocol": "Tcp",
                "RemoteIPType": "Public" if public else "Private",
                "InitiatingProcessFileName": name,
                "InitiatingProcessCommandLine": cmd,
                "InitiatingProcessId": rnd.randrange(100, 20000),
            }
            f.write(json.dumps(row, separators=(",", ":")))
            f.write("\n")


if __name__ == "__main__":
    main()
