#!/usr/bin/env bash
# tests/flame/t_signs.sh — profiles with negative values (a diff saved as
# one profile, a signed counter) through `ignis flame`, `convert --to
# folded` and `report`: mixed signs under one frame (+100 and -90 under a
# frame of 10), a zero total (+5, -5), a negative total, and a frame
# whose children's magnitudes exceed its total.  The SVG is parsed as XML
# and every frame checked: width finite and >= 0, inside the frame area
# and inside the frame it stands on, siblings apart, each frame as wide as
# the larger of |total| and |self| plus its children (widths by
# magnitude); the folded output keeps every signed value; the text report
# prints signed values with percentages that are neither negative nor nan.
set -uo pipefail
B=${IGNIS_BUILD:-build}
IGNIS=${IGNIS:-$B/ignis}
[ -x "$IGNIS" ] || { echo "$IGNIS not built"; exit 1; }
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

printf 'main;a 100\nmain;b -90\n' >"$dir/mixed.folded"
printf 'main;a 5\nmain;b -5\n' >"$dir/zero.folded"
printf 'main;a -30\nmain;b -10\n' >"$dir/negative.folded"
printf 'main -50\nmain;a 40\nmain;b;c 30\nmain;b;d -35\n' >"$dir/children.folded"

# check SVG: the geometry of every frame (see the top comment)
check() {
  python3 - "$1" <<'PY'
import math, re, sys
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
frames = root.find(f".//{ns}g[@id='frames']")
rows = []
for g in frames.findall(f"{ns}g"):
    r = g.find(f"{ns}rect")
    title = g.find(f"{ns}title").text
    name = title.split("\n")[0]
    value = int(re.search(r"\n(-?\d+) ", title).group(1))
    rows.append(dict(name=name, v=int(g.get("v")), x=float(r.get("x")), y=float(r.get("y")),
                     w=float(r.get("width")), value=value))
assert rows, "no frames"
eps = 0.11
def bad(msg):
    print(f"{sys.argv[1]}: {msg}")
    sys.exit(1)
for i, f in enumerate(rows):
    if not (math.isfinite(f["w"]) and math.isfinite(f["x"])) or f["w"] < 0 or f["v"] < 0:
        bad(f"frame {f['name']}: width {f['w']}, v {f['v']}")
    if f["x"] < 10 - eps or f["x"] + f["w"] > 1190 + eps:
        bad(f"frame {f['name']} leaves the frame area: x {f['x']} w {f['w']}")
    if f["v"] < abs(f["value"]):
        bad(f"frame {f['name']}: width {f['v']} below |{f['value']}|")
    if i == 0:
        continue
    parents = [p for p in rows[:i] if abs(p["y"] - (f["y"] + 16)) < 0.01]
    if not parents:
        bad(f"frame {f['name']} stands on nothing")
    p = parents[-1]
    if f["x"] < p["x"] - eps or f["x"] + f["w"] > p["x"] + p["w"] + eps:
        bad(f"frame {f['name']} leaves its parent {p['name']}")
for p in rows:
    kids, seen = [], False
    for k in rows:
        if k is p:
            seen = True
            continue
        if seen and k["y"] > p["y"] - 0.01:
            break  # a frame on p's row or below: p's subtree ended
        if seen and abs(k["y"] - (p["y"] - 16)) < 0.01:
            kids.append(k)
    if sum(k["v"] for k in kids) > p["v"]:
        bad(f"children of {p['name']} are wider than it")
    for a, b in zip(kids, kids[1:]):
        if a["x"] + a["w"] > b["x"] + eps:
            bad(f"siblings {a['name']} and {b['name']} overlap")
print(" ".join(f"{f['name']}={f['v']}" for f in rows))
PY
}

for p in mixed zero negative children; do
  "$IGNIS" flame "$dir/$p.folded" -o "$dir/$p.svg" 2>"$dir/err" || fail "flame $p: $(cat "$dir/err")"
  widths=$(check "$dir/$p.svg") || fail "$widths"
  echo "ok   flame $p: $widths"
  "$IGNIS" convert "$dir/$p.folded" --to folded -o "$dir/$p.out.folded" -q || fail "convert $p"
  cmp -s <(sort "$dir/$p.folded") <(sort "$dir/$p.out.folded") || fail "folded $p: $(cat "$dir/$p.out.folded")"
  "$IGNIS" report "$dir/$p.folded" >"$dir/$p.txt" 2>&1 || fail "report $p: $(cat "$dir/$p.txt")"
  grep -qi 'nan\|inf\| -[0-9.]*%' "$dir/$p.txt" && fail "report $p: $(cat "$dir/$p.txt")"
done
[ "$(check "$dir/mixed.svg")" = "all=190 main=190 a=100 b=90" ] || fail "mixed: $(check "$dir/mixed.svg")"
[ "$(check "$dir/children.svg")" = "all=155 main=155 a=40 b=65 c=30 d=35" ] || fail "children: $(check "$dir/children.svg")"
grep -q 'widths by magnitude' "$dir/mixed.svg" || fail "mixed: the subtitle does not say how widths are drawn"
grep -Eq '^ +-90 +47\.37% .* b$' "$dir/mixed.txt" || fail "report mixed: $(cat "$dir/mixed.txt")"
echo "ok   folded keeps the signed values; report prints them, percentages of the absolute total"
