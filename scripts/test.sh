#!/usr/bin/env bash
# Harrier's whole test run: unit, integration, snapshot and property tests,
# then the Kusto documentation examples (pinned pass count) and
# Elasticsearch's EQL conformance suites through the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p harrier-cli
cargo test --release --workspace
cargo test --release -p harrier-eql --test differential -- --ignored --nocapture
python3 scripts/kql-conformance.py
python3 scripts/eql-conformance.py
