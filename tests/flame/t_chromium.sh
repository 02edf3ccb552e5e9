#!/usr/bin/env bash
# tests/flame/t_chromium.sh — an SVG made by `ignis flame` rendered by
# headless Chromium: the expected frames are in the rendered DOM, the
# embedded script ran (it marks the root element with the frame count),
# and its search ("?s=RE") and zoom ("?z=N") give the exact answers for a
# profile whose numbers are known.  Also writes a screenshot (kept in
# $B/test-logs/flame.png for a human to look at).  Skips without chromium.
set -euo pipefail
B=${IGNIS_BUILD:-build}
IGNIS=${IGNIS:-$B/ignis}
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "chromium not installed"; exit 77; }
[ -x "$IGNIS" ] || { echo "$IGNIS not built"; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# 1000 samples.  parse_json holds 400 (json_parse_* nested inside it) and
# json_escape 100 elsewhere: a search for "json" covers exactly 50.00%.
cat > "$dir/in.folded" <<'EOF'
# known profile for the end-to-end test
main;serve;handle_request;parse_json;json_parse_value;json_parse_string 250
main;serve;handle_request;parse_json;json_parse_value 50
main;serve;handle_request;parse_json 100
main;serve;handle_request;render;json_escape 100
main;serve;handle_request;render;operator<<<std::string&> 150
main;serve;write_[k];vfs_write_[k] 100
main;gc;mark 150
worker;run_job_from_the_queue_with_retries 100
EOF
"$IGNIS" flame "$dir/in.folded" -o "$dir/out.svg" --title 'E2E & <test>'

# expected frames: every distinct root-first prefix, plus the root "all"
expected=$(grep -v '^#' "$dir/in.folded" | awk '{ sub(/ [0-9]+$/, ""); n = split($0, f, ";"); p = "";
    for (i = 1; i <= n; i++) { p = p ";" f[i]; seen[p] = 1 } } END { print length(seen) + 1 }')

chrome() { # URL [extra flags...]
  local url=$1; shift
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d "$dir/profile.XXXXXX")" --hide-scrollbars \
    --virtual-time-budget=5000 "$@" "$url" 2>>"$dir/chrome.log"
}
fail() { echo "FAIL: $*"; exit 1; }

# ---- the script ran and every frame is in the rendered DOM ----------------
chrome "file://$dir/out.svg" --dump-dom > "$dir/dom.xml"
grep -q "data-frames=\"$expected\"" "$dir/dom.xml" ||
  fail "script did not run or frame count differs (want $expected): $(grep -o 'data-frames="[0-9]*"' "$dir/dom.xml" || echo none)"
for f in all main serve handle_request parse_json json_parse_value json_parse_string render json_escape \
         'operator&lt;&lt;&lt;std::string&amp;&gt;' write vfs_write gc mark worker run_job_from_the_queue_with_retries; do
  grep -q "<title>$f\$" "$dir/dom.xml" || fail "frame $f missing from the rendered DOM"
done
[ "$(grep -c '<title>' "$dir/dom.xml")" -eq "$expected" ] || fail "unexpected number of <title> elements"
grep -q '>E2E &amp; &lt;test&gt;</text>' "$dir/dom.xml" || fail "title missing"
grep -A1 '<title>handle_request$' "$dir/dom.xml" | grep -q '650 samples (65.00%)' || fail "tooltip of handle_request"
grep -A1 '<title>vfs_write$' "$dir/dom.xml" | grep -q '\[kernel\]' || fail "kernel frame not marked"

# ---- search: nested matches are counted once --------------------------------
chrome "file://$dir/out.svg?s=json" --dump-dom > "$dir/search.xml"
grep -q '>Matched: 50.00% (4 frames)</text>' "$dir/search.xml" ||
  fail "search: $(grep -o 'Matched[^<]*' "$dir/search.xml" || echo 'no Matched text')"
hl=$(grep -o 'fill="#e23de2"' "$dir/search.xml" | wc -l)
[ "$hl" -eq 4 ] || fail "search highlighted $hl frames, want 4"

# ---- zoom: the zoomed frame fills the width, ancestors fade, others hide ----
idx=$(grep -o '<title>.*$' "$dir/out.svg" | grep -n '^<title>render$' | cut -d: -f1)
chrome "file://$dir/out.svg?z=$((idx - 1))" --dump-dom > "$dir/zoom.xml"
tr -d '\n' < "$dir/zoom.xml" | grep -o '<g [^>]*><title>[^<]*</title><rect [^>]*>' > "$dir/zoomed-frames"
grep -q 'v="250"[^>]*><title>render.*x="10" y="[0-9.]*" width="1180"' "$dir/zoomed-frames" || fail "zoomed frame not full width"
grep -q 'class="[^"]*fade[^"]*"><title>handle_request' "$dir/zoomed-frames" || fail "ancestor not faded"
grep -q 'class="[^"]*hide[^"]*"><title>gc' "$dir/zoomed-frames" || fail "unrelated frame not hidden"
# json_escape, render's first child, is 100 of its 250: 472 px from the left
grep -q '<title>json_escape.*x="10" y="[0-9.]*" width="472"' "$dir/zoomed-frames" || fail "child not rescaled"
grep -q 'id="reset" class="btn"' "$dir/zoom.xml" || fail "Reset Zoom not shown"

# ---- zoom, zoom again, reset, search, clear: back to exactly what svg.c wrote
# (positions and labels), so svg.js and svg.c lay out and truncate alike ----
[ "$(tail -1 "$dir/out.svg")" = "</svg>" ] || fail "SVG does not end with </svg>"
{ head -n -1 "$dir/out.svg"; cat <<'EOF'
<script><![CDATA[
function snap() {
  return F.map(function (f) {
    return f.r.getAttribute("x") + "," + f.r.getAttribute("width") + "," + (f.t ? f.t.textContent : "");
  }).join("|");
}
var before = snap();
zoom(F[3]); zoom(F[5]); unzoom(); search("json|write"); clearSearch();
var same = before === snap();
var fills = F.every(function (f) { return f.r.getAttribute("fill") === f.fill; });
var shown = F.every(function (f) { return !f.g.classList.contains("hide") && !f.g.classList.contains("fade"); });
document.documentElement.setAttribute("data-roundtrip", same + " " + fills + " " + shown + " [" + mat.textContent + "]");
]]></script>
</svg>
EOF
} > "$dir/roundtrip.svg"
chrome "file://$dir/roundtrip.svg" --dump-dom > "$dir/roundtrip.xml"
grep -q 'data-roundtrip="true true true \[\]"' "$dir/roundtrip.xml" ||
  fail "zoom/search round trip: $(grep -o 'data-roundtrip="[^"]*"' "$dir/roundtrip.xml" || echo 'script failed')"

# ---- a diff: a frame only in the base is drawn and zooms with the others ------
printf 'top;main;a 50\ntop;main;b 48\ntop;main;c 2\ntop;other 100\n' > "$dir/new.folded"
printf 'top;main;a 52\ntop;main;b 28\ntop;main;gone 20\ntop;main;c 100\ntop;other 100\n' > "$dir/base.folded"
"$IGNIS" flame -q "$dir/new.folded" --diff "$dir/base.folded" -o "$dir/diff.svg"
idx=$(grep -o '<title>.*$' "$dir/diff.svg" | grep -n '^<title>main$' | cut -d: -f1)
chrome "file://$dir/diff.svg?z=$((idx - 1))" --dump-dom > "$dir/dzoom.xml"
tr -d '\n' < "$dir/dzoom.xml" | grep -o '<g [^>]*><title>[^<]*</title><rect [^>]*>' > "$dir/dzoomed"
grep -q 'v="120"[^>]*><title>main.*x="10" y="[0-9.]*" width="1180"' "$dir/dzoomed" || fail "diff: main (100 + 20 removed) not full width"
# gone, after a, b and c (100 of main's 120): 10 + 983.3 px
grep -q 'class="rm[^"]*"><title>gone.*x="993.3" y="[0-9.]*" width="196.7"' "$dir/dzoomed" || fail "diff: removed frame misplaced: $(grep gone "$dir/dzoomed")"

# ---- a screenshot to look at -------------------------------------------------
chrome "file://$dir/out.svg" --window-size=1200,"$(grep -o 'height="[0-9]*"' "$dir/out.svg" | head -1 | tr -dc 0-9)" --screenshot="$dir/flame.png" > /dev/null
[ -s "$dir/flame.png" ] || fail "no screenshot"
mkdir -p "$B/test-logs" && cp "$dir/flame.png" "$B/test-logs/flame.png"
[ "$(od -An -tx1 -N8 "$dir/flame.png" | tr -d ' ')" = 89504e470d0a1a0a ] || fail "screenshot is not a PNG"
echo "ok: $expected frames rendered, search and zoom verified"
