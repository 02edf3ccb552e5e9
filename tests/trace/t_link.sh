#!/usr/bin/env bash
# tests/trace/t_link.sh — the README's "Tracing a C service" program,
# compiled against the build tree with the README's own link line
# (`cc -o svc svc.c $(pkg-config --cflags --libs ignis)`, pkg-config
# pointed at $B/ignis.pc with the tree's include and library folders) and
# run with LD_LIBRARY_PATH=$B: the dynamic loader must find libignis.so.0
# (the library's soname) there, and the span must reach the OTLP-JSON
# file.  Also checks that the plug-in API is exported from the library.
set -u
B=${IGNIS_BUILD:-build}
root=$(pwd)
fail() { echo "t_link: $*"; exit 1; }
command -v pkg-config >/dev/null || { echo "pkg-config is not installed"; exit 77; }
[ -f "$B/libignis.so" ] || fail "$B/libignis.so is not built"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

soname=$(readelf -d "$B/libignis.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libignis.so.0 ] || fail "soname is '$soname', want libignis.so.0"
[ -e "$B/$soname" ] || fail "$B/$soname (the soname) is missing from the build tree"
for sym in ignis_span_exporter_new ignis_batch_span_processor_new ignis_span_processor_new \
           ignis_tracer_provider_new_with_processors ignis_span_data_attribute; do
  nm -D --defined-only "$B/libignis.so" | grep -qw "$sym" || fail "$sym is not exported"
done

# The example and the link line, as the README shows them.
awk '/^## Tracing a C service/{s=1} s && /^```c$/{c=1; next} c && /^```$/{exit} c' README.md >"$tmp/svc.c"
line=$(awk '/^## Tracing a C service/{s=1} s && /^cc .*pkg-config/{print; exit}' README.md)
[ -s "$tmp/svc.c" ] || fail "no C example under 'Tracing a C service' in README.md"
[ -n "$line" ] || fail "no cc line under 'Tracing a C service' in README.md"

# The build tree stands in for the install prefix; a sanitizer build
# needs the sanitizer at link time too.
export PKG_CONFIG_PATH="$root/$B"
pkg-config() { command pkg-config --define-variable=includedir="$root/include" \
                 --define-variable=libdir="$root/$B" "$@"; }
san=
readelf -d "$B/libignis.so" | grep -q 'libasan' && san="-fsanitize=address,undefined"
readelf -d "$B/libignis.so" | grep -q 'libtsan' && san="-fsanitize=thread"
cc() { command cc $san "$@"; }
( cd "$tmp" && eval "$line" ) || fail "the README's link line failed: $line"

( cd "$tmp" && LD_LIBRARY_PATH="$root/$B" OTEL_SERVICE_NAME=checkout OTEL_TRACES_EXPORTER=otlp_file \
    IGNIS_TRACES_FILE="$tmp/traces.jsonl" IGNIS_TRACE_QUIET=1 ./svc ) || fail "./svc failed (LD_LIBRARY_PATH=$B)"
grep -q '"name":"GET /cart"' "$tmp/traces.jsonl" || fail "the span is not in the OTLP-JSON file"
grep -q '"stringValue":"checkout"' "$tmp/traces.jsonl" || fail "service.name is not in the OTLP-JSON file"
echo "ok: README example built with '$line' and run from $B"
