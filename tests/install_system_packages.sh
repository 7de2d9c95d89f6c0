#!/usr/bin/env bash
# Debian packages the tests need (run as root): ZooKeeper for the high-availability
# tests (frameworks.testing.ZooKeeperServer), Chromium for the web UI's browser tests
# (tests/integration/browser_support.py). Quick when already installed.
set -euo pipefail
missing=()
[ -e /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# iproute2 (the ip command) for the network-namespace partition tests (frameworks.netns, -m netns).
if ! command -v ip >/dev/null 2>&1; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends iproute2
fi
# openssl (the binary) makes the test certificates of the HTTPS tests (tests/integration/tls_support.py).
if ! command -v openssl >/dev/null 2>&1; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends openssl
fi
