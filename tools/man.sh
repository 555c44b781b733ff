#!/bin/sh
# scnn(1) from the program's own --help texts (help2man), so the man page cannot drift from the
# program: the top-level help, then every command's --help as a section.
# usage: tools/man.sh SCNN_BINARY OUTPUT
set -e
bin=$1 out=$2
command -v help2man >/dev/null 2>&1 || { echo "man: help2man not found (make deps installs it)" >&2; exit 1; }
inc=$(mktemp)
trap 'rm -f "$inc" "$out.tmp"' EXIT
{
    echo '[COMMANDS IN DETAIL]'
    for c in summary train eval extract predict export report backends; do
        echo ".SS scnn $c"
        echo ".nf"
        "$bin" "$c" --help 2>&1 | sed -e 's/\\/\\e/g' -e 's/^[.'\'']/\\\&&/'
        echo ".fi"
    done
    echo '[SEE ALSO]'
    echo 'The README of the SCNN source tree; pkg-config --cflags --libs scnn for libscnn.'
} > "$inc"
help2man --no-info --no-discard-stderr --name="train and benchmark the seed's simple CNN on the CPU" \
    --include "$inc" -o "$out.tmp" "$bin"
mv "$out.tmp" "$out"
