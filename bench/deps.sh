#!/bin/sh
# The bench's own dependency step (`make bench` runs it; `make test` does not): the peers a user
# would pick instead of SCNN, installed as a user gets them. Today that is PyTorch (Debian's
# python3-torch: about 1 GB with its libraries, which is why `make test`'s deps leave it out).
# A peer that cannot be installed is named, and the bench goes on without it (exit 0).
#   PEERS=none   installs nothing
set -u
PYTHON=${SCNN_PYTHON:-/usr/bin/python3}
[ "${PEERS:-auto}" = none ] && exit 0
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "bench-deps: PyTorch is not installed and this is not root with apt-get: the bench runs without the PyTorch peer (install: sudo apt-get install -y --no-install-recommends python3-torch)" >&2
    exit 0
fi
echo "bench-deps: installing python3-torch (the PyTorch peer)"
export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y -q --no-install-recommends python3-torch >/dev/null 2>&1; }
install || { apt-get update -q >/dev/null 2>&1 && install; } ||
    echo "bench-deps: could not install python3-torch: the bench runs without the PyTorch peer" >&2
"$PYTHON" -c 'import torch' >/dev/null 2>&1 ||
    echo "bench-deps: python3-torch installed but 'import torch' fails: the bench runs without the PyTorch peer" >&2
exit 0
