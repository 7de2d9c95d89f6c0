#!/usr/bin/env bash
# Third-party Mesos v1 HTTP clients the compat tests run unmodified (tests/compat/test_pymesos_http.py):
# pymesos 0.3.15 into the interpreter running this script ("${PYTHON:-python}"). Its dependency
# http-parser 0.9.0 does not build on Python 3.11, so pymesos goes in with --no-deps and
# http-parser's pure-Python modules (http_parser.http falls back to its pyparser) are copied
# into site-packages. Quick when already installed.
set -euo pipefail
PY="${PYTHON:-python}"
if "$PY" -c "import pymesos, http_parser.http" 2>/dev/null; then
    exit 0
fi
"$PY" -m pip install -q --no-deps pymesos==0.3.15
"$PY" -m pip install -q addict six
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip download -q --no-deps --no-binary :all: --dest "$tmp" http-parser==0.9.0
tar -xzf "$tmp"/http-parser-0.9.0.tar.gz -C "$tmp"
site="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
mkdir -p "$site/http_parser"
cp "$tmp"/http-parser-0.9.0/http_parser/*.py "$site/http_parser/"
"$PY" -c "import pymesos, http_parser.http; print('pymesos', pymesos.__file__)"
