#!/usr/bin/env bash
# Third-party Mesos v1 HTTP clients the compat tests run unmodified (tests/compat/test_pymesos_http.py),
# into the interpreter running this script ("${PYTHON:-python}"): mesoshttp 0.4.2 (plain pip), and
# pymesos 0.3.15, whose dependency http-parser 0.9.0 does not build on Python 3.11: pymesos goes in
# with --no-deps and http-parser's pure-Python modules (http_parser.http falls back to its
# pyparser) are copied into site-packages. Also chronos-python 1.2.1, the Chronos REST client the
# mesopy-chronos tests use (tests/integration/test_chronos.py), and marathon 0.13.0 (marathon-python),
# the typed Marathon client tests/integration/test_marathon.py drives mesopy-marathon with. Quick when
# already installed.
set -euo pipefail
PY="${PYTHON:-python}"
if ! "$PY" -c "import chronos, httplib2; chronos.ChronosClient" 2>/dev/null; then
    "$PY" -m pip install -q chronos-python==1.2.1
fi
if ! "$PY" -c "import marathon" 2>/dev/null; then
    "$PY" -m pip install -q marathon==0.13.0
fi
if "$PY" -c "import pymesos, http_parser.http, mesoshttp.client" 2>/dev/null; then
    exit 0
fi
"$PY" -m pip install -q mesoshttp==0.4.2
"$PY" -m pip install -q --no-deps pymesos==0.3.15
"$PY" -m pip install -q addict six
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip download -q --no-deps --no-binary :all: --dest "$tmp" http-parser==0.9.0
tar -xzf "$tmp"/http-parser-0.9.0.tar.gz -C "$tmp"
site="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
mkdir -p "$site/http_parser"
cp "$tmp"/http-parser-0.9.0/http_parser/*.py "$site/http_parser/"
"$PY" -c "import pymesos, http_parser.http, mesoshttp.client; print('pymesos', pymesos.__file__)"
