#!/usr/bin/env bash
# Builds the Debian package (dpkg-buildpackage) from a copy of this tree, so
# the build and its by-products stay inside OUTDIR:
#   scripts/deb.sh [OUTDIR]        (default build-deb) -> OUTDIR/openfota_VERSION_ARCH.deb
# The copy holds the tracked files plus new files not ignored by git
# (uncommitted changes included). Needs debhelper, dpkg-dev and the build
# dependencies of debian/control (scripts/bootstrap.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-build-deb}" && cd "${1:-build-deb}" && pwd)
version=$(dpkg-parsechangelog -S Version)
cmake_version=$(sed -n 's/^project(openfota VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
if [ "${version%%-*}" != "$cmake_version" ]; then
  echo "deb: debian/changelog is at $version but CMakeLists.txt at $cmake_version: add a changelog entry (dch -v $cmake_version)" >&2
  exit 1
fi
src="$out/src/openfota-$version"
rm -rf "$out/src"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"
  done | tar --null -T - -cf - | tar -xf - -C "$src"
else
  tar --exclude='./build*' --exclude=./var -cf - . | tar -xf - -C "$src"
fi
jobs=${DEB_JOBS:-2}
echo "deb: building openfota $version in $src ($jobs jobs)"
(cd "$src" && dpkg-buildpackage -b -us -uc -j"$jobs") > "$out/build.log" 2>&1 || {
  echo "deb: dpkg-buildpackage failed; the end of $out/build.log:" >&2
  tail -40 "$out/build.log" >&2
  exit 1
}
rm -f "$out"/*.deb
mv "$out"/src/*.deb "$out"/
rm -rf "$out/src"
ls "$out"/*.deb
