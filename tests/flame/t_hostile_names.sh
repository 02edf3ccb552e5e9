#!/usr/bin/env bash
# tests/flame/t_hostile_names.sh — function names holding terminal escape
# sequences, newlines, control characters, ill-formed UTF-8 and characters
# XML forbids (issue 11, items 13 and 14):
#   - `ignis flame` writes an SVG that real XML parsers accept (python's
#     expat, xmllint, and headless Chromium when installed: the embedded
#     script runs), the bad sequences shown as U+FFFD, good text intact;
#   - `ignis report` prints no control character and no ill-formed UTF-8:
#     they come out as "\xHH", one table row per function.
set -u
IGNIS=${IGNIS:-${IGNIS_BUILD:-build}/ignis}
[ -x "$IGNIS" ] || { echo "no ignis binary at $IGNIS"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL $*"; fail=1; }
ok() { echo "ok   $*"; }

# A raw pprof profile: one single-frame sample per name, value i + 1.
python3 - "$T/names.pb" <<'EOF'
import sys
NAMES = [b"osc\x1b]0;pwned\x07", b"clear\x1b[2J\x1b[H", b"new\nline", b"bad\xff\xfeutf8", b"trunc\xe2\x82",
         b"c1\xc2\x9bcsi", b"ctrl\x01\x02", b"fine \xc3\xa9 \xe2\x82\xac", b"amp & <tag> \"q\" 'a'",
         b"nonchar\xef\xbf\xbe"]
def varint(v):
    out = bytearray()
    while True:
        b, v = v & 0x7f, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)
def field(num, payload):  # length-delimited
    return varint(num << 3 | 2) + varint(len(payload)) + payload
def num(n, v):
    return varint(n << 3) + varint(v)
strings = [b"", b"samples", b"count"] + NAMES
msg = field(1, num(1, 1) + num(2, 2))
for s in strings:
    msg += field(6, s)
for i in range(len(NAMES)):
    msg += field(5, num(1, i + 1) + num(2, 3 + i))
    msg += field(4, num(1, i + 1) + field(4, num(1, i + 1)))
    msg += field(2, field(1, varint(i + 1)) + field(2, varint(i + 1)))
open(sys.argv[1], "wb").write(msg)
EOF

# ---- report ---------------------------------------------------------------------------
"$IGNIS" report "$T/names.pb" --top 0 >"$T/report" 2>"$T/err" || bad "report: $(cat "$T/err")"
if python3 - "$T/report" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")  # raises on ill-formed UTF-8
bad = [hex(ord(c)) for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f]
assert not bad, "control characters in the report: %s" % bad
rows = [l for l in text.split("\n") if l.endswith(("pwned\\x07", "csi", "line", "utf8"))]
assert len(rows) == 4, "rows: %r" % rows
EOF
then ok "report prints no control characters or ill-formed UTF-8"; else bad "report output is not safe for a terminal"; fi
for want in 'osc\x1b]0;pwned\x07' 'clear\x1b[2J\x1b[H' 'new\x0aline' 'bad\xff\xfeutf8' 'c1\xc2\x9bcsi' \
            'ctrl\x01\x02' 'fine é €' "amp & <tag> \"q\" 'a'"; do
  grep -qF -- "  $want" "$T/report" || bad "report lacks the escaped name '$want'"
done
[ $fail -eq 0 ] && ok "report escapes names as \\xHH"

# ---- flame ----------------------------------------------------------------------------
"$IGNIS" flame "$T/names.pb" -o "$T/names.svg" 2>"$T/err" || bad "flame: $(cat "$T/err")"
if python3 - "$T/names.svg" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
titles = [t.text.split("\n")[0] for t in root.iter(ns + "title")]
R = "\ufffd"
want = ["osc" + R + "]0;pwned" + R, "clear" + R + "[2J" + R + "[H", "new" + R + "line", "bad" + R + R + "utf8",
        "trunc" + R, "c1" + R + "csi", "ctrl" + R + R, "fine \u00e9 \u20ac", "amp & <tag> \"q\" 'a'",
        "nonchar" + R]
missing = [w for w in want if w not in titles]
assert not missing, "frames missing: %r (have %r)" % (missing, titles)
EOF
then ok "the SVG parses as XML (expat) with U+FFFD for the bad sequences"; else bad "the SVG is not well-formed XML"; fi
if command -v xmllint >/dev/null; then
  xmllint --noout "$T/names.svg" 2>"$T/xmllint" && ok "xmllint accepts the SVG" || bad "xmllint: $(head -3 "$T/xmllint")"
fi
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROMIUM" ]; then
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$T/chrome" --virtual-time-budget=5000 \
    --dump-dom "file://$T/names.svg" >"$T/dom.xml" 2>/dev/null
  if grep -q 'data-frames="11"' "$T/dom.xml" && ! grep -q parsererror "$T/dom.xml"; then
    ok "Chromium renders the SVG and runs its script"
  else
    bad "Chromium: $(grep -o 'parsererror.\{0,200\}' "$T/dom.xml" | head -1 || true)"
  fi
else
  echo "skip Chromium check: chromium not installed"
fi
exit $fail
