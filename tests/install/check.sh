#!/usr/bin/env bash
# tests/install/check.sh BUILD_DIR: installs BUILD_DIR's tapeflow into a staging folder
# (meson install --destdir), then builds and runs the outside program consumer/main.cpp the ways
# a user would: pkg-config + g++ (shared and static), CMake find_package(tapeflow) (shared and
# static), Meson dependency('tapeflow') found installed, and Meson falling back to the subproject.
# One line per way, then `install: N passed, M failed`; exit 0 only when all passed.
# Work and logs stay under BUILD_DIR/install-check (the subproject build is reused by reruns).
set -u
if [ $# -ne 1 ] || [ ! -f "$1/build.ninja" ]; then
  echo "usage: $0 BUILD_DIR   (a configured Meson build of tapeflow)" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
work=$build/install-check
here=$src/tests/install

# Tools: installed from Debian when missing (via sudo when not root).
need=()
for p in cmake:cmake pkg-config:pkg-config meson:meson ninja:ninja-build g++:g++; do
  command -v "${p%%:*}" >/dev/null || need+=("${p#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing: ${need[*]}"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || exit 1
fi

passed=0
failed=0
mkdir -p "$work"

# way NAME LOG CMD...: runs CMD (output to LOG), prints one line, counts it.
# CMD runs in a subshell (its `set -x` traces into the log and stays there).
way() {
  local name=$1 log=$2 t0 ds; shift 2
  t0=$(date +%s%N)
  if ( "$@" ) >"$log" 2>&1; then
    ds=$((($(date +%s%N) - t0) / 100000000))
    printf '  %-44s ok (%d.%d s)\n' "$name" $((ds / 10)) $((ds % 10))
    passed=$((passed + 1))
  else
    printf '  %-44s FAILED (log: %s)\n' "$name" "$log"
    tail -n 25 "$log" | sed 's/^/    | /'
    failed=$((failed + 1))
  fi
}

# ---- install into a staging prefix ----
stage=$work/stage
rm -rf "$stage"
install_tree() {
  # An old build folder may predate the relocatable default: turn it on there.
  if ! meson introspect "$build" --buildoptions | python3 -c 'import json, sys
sys.exit(not any(o["name"] == "pkgconfig.relocatable" and o["value"] for o in json.load(sys.stdin)))'; then
    meson configure "$build" -Dpkgconfig.relocatable=true || return 1
  fi
  meson install -C "$build" --destdir "$stage" || return 1
  local pc pcdir
  pc=$(find "$stage" -name tapeflow.pc -path '*/pkgconfig/*' | head -n 1)
  [ -n "$pc" ] || { echo "tapeflow.pc was not installed"; return 1; }
  pcdir=$(dirname "$pc")
  echo "installed tree:"; (cd "$stage" && find . \( -type f -o -type l \) | sort | sed 's/^/  /')
  test -f "$pcdir/../libtapeflow.a" || { echo "libtapeflow.a missing"; return 1; }
  test -f "$pcdir/../cmake/tapeflow/tapeflowConfig.cmake" || { echo "CMake config missing"; return 1; }
  # Each quoted #include of an installed header must name another installed header.
  local inc bad=0 f dep
  inc=$(find "$stage" -type f -name tapeflow.h -path '*/include/tapeflow/*' | head -n 1)
  inc=$(dirname "$inc")
  for f in $(cd "$inc" && find . -name '*.h'); do
    for dep in $(sed -n 's/^#include "\(.*\)".*/\1/p' "$inc/$f"); do
      [ -f "$inc/$dep" ] || { echo "$f includes $dep, which is not installed"; bad=1; }
    done
  done
  return $bad
}
way "meson install (headers, .so, .a, .pc, cmake)" "$work/install.log" install_tree
pc=$(find "$stage" -name tapeflow.pc -path '*/pkgconfig/*' 2>/dev/null | head -n 1)
if [ -z "$pc" ]; then
  echo "install: $passed passed, $((failed + 1)) failed"
  exit 1
fi
pcdir=$(dirname "$pc")
libdir=$(cd "$pcdir/.." && pwd)
export PKG_CONFIG_PATH=$pcdir
prefix=$(cd "$(pkg-config --variable=prefix tapeflow)" && pwd)

# ---- pkg-config + g++ ----
pkgconfig_shared() {
  set -x
  # README's recipe exactly: the rpath from pkg-config lets the program run as it is.
  g++ -std=c++20 "$here/consumer/main.cpp" $(pkg-config --cflags --libs tapeflow) \
    -Wl,-rpath,$(pkg-config --variable=libdir tapeflow) -o "$work/consumer_pc_shared" || return 1
  # The run must load the staged library, not some other copy, without LD_LIBRARY_PATH.
  env -u LD_LIBRARY_PATH ldd "$work/consumer_pc_shared" | grep -F "libtapeflow.so => $(cd "$(pkg-config --variable=libdir tapeflow)" && pwd)" || return 1
  env -u LD_LIBRARY_PATH "$work/consumer_pc_shared"
}
pkgconfig_static() {
  set -x
  # -l:libtapeflow.a picks the static archive; --static adds its private libraries (zlib, dl).
  g++ -std=c++20 "$here/consumer/main.cpp" $(pkg-config --cflags tapeflow) \
    $(pkg-config --static --libs tapeflow | sed 's/-ltapeflow\b/-l:libtapeflow.a/') \
    -o "$work/consumer_pc_static" || return 1
  if readelf -d "$work/consumer_pc_static" | grep -q 'NEEDED.*libtapeflow'; then
    echo "static consumer still needs libtapeflow.so"; return 1
  fi
  "$work/consumer_pc_static"
}
way "pkg-config + g++ (shared)" "$work/pkgconfig_shared.log" pkgconfig_shared
way "pkg-config + g++ (static)" "$work/pkgconfig_static.log" pkgconfig_static

# ---- CMake find_package ----
cmake_way() {
  set -x
  rm -rf "$work/cmake"
  cmake -S "$here/cmake" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" || return 1
  cmake --build "$work/cmake" -j 2 || return 1
  ldd "$work/cmake/consumer_shared" | grep -F "$libdir/libtapeflow.so" || return 1
  "$work/cmake/consumer_shared" || return 1
  if readelf -d "$work/cmake/consumer_static" | grep -q 'NEEDED.*libtapeflow'; then
    echo "static consumer still needs libtapeflow.so"; return 1
  fi
  "$work/cmake/consumer_static"
}
way "CMake find_package (shared + static)" "$work/cmake.log" cmake_way

# ---- Meson dependency('tapeflow') ----
meson_project() {  # meson_project DIR: the consumer project, with subprojects/tapeflow -> source
  mkdir -p "$1/subprojects"
  cp "$here/meson/meson.build" "$here/consumer/main.cpp" "$1/"
  ln -sfn "$src" "$1/subprojects/tapeflow"
}
meson_installed() {
  set -x
  rm -rf "$work/meson-installed"
  meson_project "$work/meson-installed"
  meson setup "$work/meson-installed/build" "$work/meson-installed" || return 1
  grep -q "tapeflow found as: pkgconfig" "$work/meson-installed/build/meson-logs/meson-log.txt" || return 1
  ninja -C "$work/meson-installed/build" || return 1
  LD_LIBRARY_PATH=$libdir ldd "$work/meson-installed/build/consumer" | grep -F "$libdir/libtapeflow.so" || return 1
  LD_LIBRARY_PATH=$libdir "$work/meson-installed/build/consumer"
}
meson_fallback() {
  set -x
  local dir=$work/meson-subproject
  meson_project "$dir"
  # Reused between runs: only changed tapeflow sources recompile. Unoptimised: it builds faster.
  if [ ! -f "$dir/build/build.ninja" ]; then
    rm -rf "$dir/build"
    # A unity build of the subproject: what a consumer may choose, and twice as fast to build.
    PKG_CONFIG_PATH= meson setup "$dir/build" "$dir" --force-fallback-for=tapeflow \
      -Dbuildtype=plain --unity=subprojects || return 1
    grep -q "tapeflow found as: internal" "$dir/build/meson-logs/meson-log.txt" || return 1
  fi
  ninja -C "$dir/build" -j 2 || return 1
  env -u LD_LIBRARY_PATH ldd "$dir/build/consumer" | grep -F "$dir/build/subprojects/tapeflow/libtapeflow.so" || return 1
  env -u LD_LIBRARY_PATH "$dir/build/consumer"
}
way "Meson dependency (installed, pkg-config)" "$work/meson_installed.log" meson_installed
way "Meson dependency (subproject fallback)" "$work/meson_fallback.log" meson_fallback

echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
