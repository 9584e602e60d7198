#!/usr/bin/env bash
# Regenerates the shipped document-length distributions in inputs/datasets/ from text that
# Debian packages install on every machine of this project. Needs node and npm (not run by CI).
set -euo pipefail
cd "$(dirname "$0")/.."
tok=/tmp/flexcp-tok
[ -d $tok/node_modules/gpt-tokenizer ] || npm install --silent --prefix $tok gpt-tokenizer@4 >/dev/null
run() { NODE_PATH=$tok/node_modules node tools/make_length_dataset.mjs "$@"; }
out=inputs/datasets
run debian-changelogs "Debian changelogs (/usr/share/doc/*/changelog.Debian.gz) of the packages on a flexcp build machine" \
  $(find /usr/share/doc -name changelog.Debian.gz | sort) > $out/debian-changelogs.txt
run debian-copyright "Debian copyright and licence files (/usr/share/doc/*/copyright) of the packages on a flexcp build machine" \
  $(find /usr/share/doc -name copyright | sort) > $out/debian-copyright.txt
run c-headers "C and C++ headers (/usr/include, depth <= 3) installed by flexcp's build dependencies: a source-code corpus" \
  $(find /usr/include -maxdepth 3 -type f \( -name '*.h' -o -name '*.hpp' \) | sort) > $out/c-headers.txt
for f in $out/*.txt; do sed -n 4,5p "$f"; done
