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

# Two more corpora from Debian 12 packages, unpacked (not installed) into a temporary directory:
# the Linux kernel's documentation as built HTML pages (long-tailed technical prose; generated
# index and search pages left out) and the Python standard library's sources (a second code
# corpus, in another language than the C headers).
pkgs=$(mktemp -d)
trap 'rm -rf "$pkgs"' EXIT
chmod 755 "$pkgs"  # apt-get download drops to the _apt user, which must write there
(cd "$pkgs" && apt-get download linux-doc-6.1 libpython3.11-stdlib libpython3.11-minimal >/dev/null && for d in *.deb; do dpkg -x "$d" root; done)
kernel_version=$(dpkg-deb -f "$pkgs"/linux-doc-6.1_*.deb Version)
python_version=$(dpkg-deb -f "$pkgs"/libpython3.11-stdlib_*.deb Version)
run linux-kernel-docs "Linux kernel documentation pages (HTML, text as read) in Debian 12 package linux-doc-6.1 $kernel_version" \
  $(find "$pkgs/root/usr/share/doc/linux-doc-6.1/html" -name '*.html' -not -path '*/_*' -not -name genindex.html \
      -not -name search.html -not -name py-modindex.html | sort) > $out/linux-kernel-docs.txt
run python-stdlib "Python 3.11 standard library sources (*.py) in Debian 12 packages libpython3.11-stdlib and libpython3.11-minimal $python_version: a second code corpus" \
  $(find "$pkgs/root/usr/lib/python3.11" -name '*.py' | sort) > $out/python-stdlib.txt
for f in $out/*.txt; do sed -n 4,5p "$f"; done

# Interleaved text-and-image samples (multimodal): the HTML manuals of two Debian packages,
# unpacked (not installed: no dependencies pulled) into a temporary directory. Images with a
# side below 64 px are navigation icons and bullets, dropped.
docs=$(mktemp -d)
trap 'rm -rf "$pkgs" "$docs"' EXIT
chmod 755 "$docs"  # apt-get download drops to the _apt user, which must write there
(cd "$docs" && apt-get download gimp-help-en gimp-help-common octave-doc >/dev/null && for d in *.deb; do dpkg -x "$d" root; done)
NODE_PATH=$tok/node_modules node tools/make_interleaved_dataset.mjs debian-html-manuals \
  "HTML manuals shipped in Debian 12 packages gimp-help-en 2.10.34-2 (with gimp-help-common) and octave-doc 7.3.0-2, one sample per page" 64 \
  $(cd "$docs/root" && find usr/share/gimp/2.0/help/en usr/share/doc/octave -type f -name '*.html' | sort | sed "s|^|$docs/root/|") \
  | sed "s|$docs/root||g" > $out/debian-html-manuals.mm.txt
sed -n 4,6p $out/debian-html-manuals.mm.txt
