#!/usr/bin/env bash
# cmake --install into a temporary prefix (then moved: the tree is relocatable): every file where the README says,
# liba2m.so and liba2m.a exporting exactly the functions of the public headers, examples/ built through pkg-config
# and through find_package(a2m) against liba2m.so and liba2m.a, all transcribing a synthetic take to its notes, and the installed a2m finding its
# shipped model in PREFIX/share/a2m/models (run outside any source tree) with the same MIDI as the example.
set -euo pipefail
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config is not installed"; exit 77; }
command -v make >/dev/null || { echo "SKIP: make is not installed"; exit 77; }
: "${A2M_BIN:?}" "${A2M_SOURCE:?}" "${A2M_BUILD_DIR:?set by CMake}"
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

cmake --install "$A2M_BUILD_DIR" --prefix "$tmp/first" >/dev/null
mv "$tmp/first" "$tmp/prefix"
prefix=$tmp/prefix
pc=$(find "$prefix" -name a2m.pc)
[ -n "$pc" ] || fail "no a2m.pc installed"
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir a2m)
modeldir=$(pkg-config --variable=modeldir a2m)
for f in "$prefix/bin/a2m" "$prefix/include/a2m.h" "$libdir/liba2m.a" "$libdir/liba2m.so" \
         "$modeldir/a2m-anypitch.safetensors" "$modeldir/a2m-crnn.safetensors" \
         "$libdir/cmake/a2m/a2mConfig.cmake" "$libdir/cmake/a2m/a2mConfigVersion.cmake"; do
  [ -f "$f" ] || fail "not installed: $f"
done
# no run-time search path with an empty entry (the loader reads it as the current folder: a library there would be
# loaded), in the built command or the installed files
for b in "$A2M_BIN" "$prefix/bin/a2m" "$libdir/liba2m.so"; do
  rp=$(readelf -d "$b" | sed -n 's/.*(R[UN]*PATH).*\[\(.*\)\]/\1/p')
  if [ -n "$rp" ]; then case ":$rp:" in *::*) fail "$b: run-time search path '$rp' has an empty entry" ;; esac; fi
done
# every per-domain header is installed and in the umbrella header
for h in "$A2M_SOURCE"/include/a2m/*.h; do
  h=$(basename "$h")
  [ -f "$prefix/include/a2m/$h" ] || fail "not installed: include/a2m/$h"
  grep -q "^#include \"a2m/$h\"" "$prefix/include/a2m.h" || fail "include/a2m.h does not include a2m/$h"
done
version=$("$prefix/bin/a2m" --version)
[ "$version" = "a2m $(pkg-config --modversion a2m)" ] || fail "a2m --version '$version' vs a2m.pc $(pkg-config --modversion a2m)"

hv=$(awk '/#define A2M_VERSION_(MAJOR|MINOR|PATCH)/ {v = v (v == "" ? "" : ".") $3} END {print v}' "$prefix/include/a2m.h")
[ "$hv" = "${version#a2m }" ] || fail "a2m.h says version $hv, a2m --version ${version#a2m }"

# liba2m.so: the public API and nothing else (build/a2m.map lists the headers' functions)
nm -D --defined-only "$libdir/liba2m.so" | awk '$2 ~ /^[TWDBR]$/ {print $3}' | sort -u >"$tmp/exported"
grep -oE '^ +a2m_[A-Za-z0-9_]+;' "$A2M_BUILD_DIR/a2m.map" | tr -d ' ;' | sort -u >"$tmp/declared"
[ "$(wc -l <"$tmp/declared")" -gt 100 ] || fail "a2m.map lists $(wc -l <"$tmp/declared") functions"
extra=$(comm -23 "$tmp/exported" "$tmp/declared" | head -5)
[ -z "$extra" ] || fail "liba2m.so exports symbols no public header declares: $extra"
missing=$(comm -13 "$tmp/exported" "$tmp/declared" | head -5)
[ -z "$missing" ] || fail "declared in include/a2m/ but not in liba2m.so: $missing"
# liba2m.a: the same names and no other global (internal ones such as bilstm_forward made local: no clash with a
# host program's own)
nm -g --defined-only "$libdir/liba2m.a" | awk 'NF == 3 {print $3}' | sort -u >"$tmp/archived"
extra=$(comm -23 "$tmp/archived" "$tmp/declared" | head -5)
[ -z "$extra" ] || fail "liba2m.a defines globals no public header declares: $extra"
missing=$(comm -13 "$tmp/archived" "$tmp/declared" | head -5)
[ -z "$missing" ] || fail "declared in include/a2m/ but not in liba2m.a: $missing"
soname=$(readelf -d "$libdir/liba2m.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "liba2m.so.${version#a2m }" ] || [ "$soname" = "liba2m.so.$(echo "${version#a2m }" | cut -d. -f1)" ] ||
  fail "soname '$soname'"

# cairo, fluidsynth, rubberband and libpq are opened when first used, never linked (README: a program that does
# not plot does not load cairo)
needed=$(readelf -d "$libdir/liba2m.so" | grep NEEDED || true)
if echo "$needed" | grep -Eq 'cairo|fluidsynth|rubberband|libpq'; then fail "liba2m.so links $needed"; fi
if pkg-config --static --libs a2m | grep -Eq 'cairo|fluidsynth|rubberband|lpq'; then fail "a2m.pc lists a dlopen'ed library"; fi

# the example, against liba2m.so and liba2m.a (ASan builds: the example carries the sanitizer runtime)
cp "$A2M_SOURCE/examples/transcribe.c" "$A2M_SOURCE/examples/Makefile" "$tmp/"
cflags="-O2 -Wall -Wextra -Werror -std=c11"
[ "${A2M_SANITIZE:-OFF}" = ON ] && cflags="$cflags -fsanitize=address,undefined"
make -s -C "$tmp" CFLAGS="$cflags" transcribe transcribe-static >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log"; fail "make"; }
readelf -d "$tmp/transcribe" | grep -q 'NEEDED.*liba2m\.so' || fail "transcribe is not linked with liba2m.so"
readelf -d "$tmp/transcribe-static" | grep -q 'NEEDED.*liba2m' && fail "transcribe-static needs liba2m.so"

# a host program with functions of its own named as the library's internal ones (they were global in liba2m.a:
# a duplicate definition at the link, or the library calling the host's) links liba2m.a and keeps its own
cat >"$tmp/host.c" <<'EOF_C'
#include <a2m.h>
#include <stdio.h>
int bilstm_forward(void) { return 1; }
int adam_update(void) { return 2; }
int st_parse(void) { return 4; }
int main(int argc, char **argv) {
    a2m_model *m = NULL;
    if (argc > 1 && a2m_model_load(argv[1], NULL, &m) == 0) a2m_model_del(m); /* links the model code */
    printf("%d\n", bilstm_forward() + adam_update() + st_parse());
    return 0;
}
EOF_C
# shellcheck disable=SC2086
cc $cflags $(pkg-config --cflags a2m) "$tmp/host.c" -o "$tmp/host" \
  $(pkg-config --static --libs a2m | sed 's/-la2m /-l:liba2m.a /') >"$tmp/host.log" 2>&1 ||
  { cat "$tmp/host.log"; fail "a program defining bilstm_forward, adam_update, st_parse does not link liba2m.a"; }
[ "$("$tmp/host" "$modeldir/a2m-anypitch.safetensors")" = 7 ] || fail "the host program's own functions were not called"

cd "$tmp"
"$prefix/bin/a2m" synth --notes "60:0.3-1.0,64:1.2-1.9,67:2.1-2.9,62:3.1-3.7" --duration 4 -o take.wav >/dev/null
for ex in transcribe transcribe-static; do
  "./$ex" "$modeldir/a2m-anypitch.safetensors" take.wav "$ex.mid" >"$ex.txt"
  pitches=$(awk '{printf "%s ", $3}' "$ex.txt")
  [ "$pitches" = "60 64 67 62 " ] || { cat "$ex.txt"; fail "$ex: pitches '$pitches'"; }
done
cmp -s transcribe.mid transcribe-static.mid || fail "the two examples' MIDI files differ"
# the same example through find_package(a2m) (lib/cmake/a2m): a2m::a2m (liba2m.so) and a2m::a2m_static
if command -v cmake >/dev/null; then
  mkdir cmake-src && cp "$A2M_SOURCE/examples/transcribe.c" "$A2M_SOURCE/examples/CMakeLists.txt" cmake-src/
  cmake -S cmake-src -B cmake-build -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_FLAGS="$cflags" >cmake.log 2>&1 && cmake --build cmake-build >>cmake.log 2>&1 ||
    { cat cmake.log; fail "cmake build of examples/ against the installed package"; }
  readelf -d cmake-build/transcribe | grep -q 'NEEDED.*liba2m\.so' || fail "a2m::a2m is not liba2m.so"
  readelf -d cmake-build/transcribe-static | grep -q 'NEEDED.*liba2m' && fail "a2m::a2m_static needs liba2m.so"
  for ex in transcribe transcribe-static; do
    "cmake-build/$ex" "$modeldir/a2m-anypitch.safetensors" take.wav "cmake-$ex.mid" >/dev/null
    cmp -s "cmake-$ex.mid" transcribe.mid || fail "cmake-built $ex and the pkg-config one differ"
  done
  # the version file: this major.minor is found, a later one is not
  v=${version#a2m }
  mkdir later && printf 'cmake_minimum_required(VERSION 3.20)\nproject(l LANGUAGES NONE)\nfind_package(a2m %s REQUIRED)\n' \
    "$(echo "$v" | awk -F. '{print $1 "." $2 + 1}')" >later/CMakeLists.txt
  if cmake -S later -B later/build -DCMAKE_PREFIX_PATH="$prefix" >later.log 2>&1; then
    fail "find_package(a2m) accepted a later version than $v"
  fi
  cmake_note=", and through find_package(a2m)"
else
  echo "note: cmake not installed: the find_package(a2m) build is skipped"
fi
# a second run refuses to replace its output, with one line naming it
if ./transcribe "$modeldir/a2m-anypitch.safetensors" take.wav transcribe.mid 2>err.txt; then fail "replaced"; fi
grep -q 'transcribe.mid' err.txt || fail "error message: $(cat err.txt)"
# the installed command: --model anypitch found in share/a2m/models (no models/ here), the same notes
"$prefix/bin/a2m" transcribe take.wav -o cli.mid >/dev/null
"$prefix/bin/a2m" transcribe take.wav --model anypitch -o cli2.mid >/dev/null
cmp -s cli.mid transcribe.mid || fail "a2m transcribe and the example differ"
cmp -s cli2.mid cli.mid || fail "--model anypitch and the default differ"
"$prefix/bin/a2m" transcribe take.wav --model seed -o seed.mid >/dev/null || fail "--model seed not found"
echo "install: $(wc -l <"$tmp/declared") functions exported (liba2m.so and liba2m.a), example (shared and static${cmake_note:-}) and installed a2m agree"
