#!/usr/bin/env bash
# Debian packages the tests need (run as root): ZooKeeper for the high-availability
# tests (frameworks.testing.ZooKeeperServer). Quick when already installed.
set -euo pipefail
if [ ! -e /usr/share/java/zookeeper.jar ]; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends zookeeper
fi
