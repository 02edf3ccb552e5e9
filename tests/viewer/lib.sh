# tests/viewer/lib.sh — what the tmux-driven viewer tests (e2e_*.sh) share,
# sourced first by each: the ignis under test ($IGNIS, $B the build
# folder), a private tmux server ($sock, T) and folder ($tmp) removed on
# exit, and the checks.  Every check polls the pane (bounded, 10 s) and
# counts into $pass/$fails; nothing waits for a fixed time.  `finish`
# prints the closing line and gives the exit status.
set -u
command -v tmux >/dev/null 2>&1 || { echo "tmux is not installed"; exit 77; }
cd "$(dirname "$0")/../.."
B=${IGNIS_BUILD:-build}
case $B in /*) ;; *) B=$PWD/$B;; esac
IGNIS=${IGNIS:-$B/ignis}
case $IGNIS in /*) ;; *) IGNIS=$PWD/$IGNIS;; esac
[ -x "$IGNIS" ] || { echo "no $IGNIS"; exit 1; }

tmp=$(mktemp -d)
sock=$tmp/tmux.sock
trap 'tmux -S "$sock" kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
T() { tmux -S "$sock" "$@"; }
fails=0
pass=0
# the environment `start` runs ignis view in (a test may add TZ=UTC)
VIEW_ENV="LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color"

# start NAME W H ARGS...: runs ignis view in a detached session; when it
# exits the pane shows "exited rc=N" (and stays open).
start() {
  local name=$1 w=$2 h=$3; shift 3
  T new-session -d -s "$name" -x "$w" -y "$h" \
    "env $VIEW_ENV $IGNIS view $*; echo exited rc=\$?; read x"
}
screen() { T capture-pane -t "$1" -p; }
keys() { local name=$1; shift; T send-keys -t "$name" "$@"; }
type_text() { T send-keys -t "$1" -l "$2"; }
failed_on() { # NAME WHAT: count a failure and show the pane
  echo "FAIL [$1]: $2"; screen "$1" | sed 's/^/    |/'; fails=$((fails + 1)); return 1
}
# expect NAME TEXT: TEXT comes on the screen.
expect() {
  local name=$1 text=$2 i
  for i in $(seq 100); do
    if screen "$name" | grep -qF -- "$text"; then pass=$((pass + 1)); return 0; fi
    sleep 0.1
  done
  failed_on "$name" "expected on screen: $text"
}
# expect_not NAME TEXT: TEXT leaves the screen (polled: the keys sent
# before may not be handled yet on a loaded machine).
expect_not() {
  local name=$1 text=$2 i
  for i in $(seq 100); do
    if ! screen "$name" | grep -qF -- "$text"; then pass=$((pass + 1)); return 0; fi
    sleep 0.1
  done
  failed_on "$name" "unexpected on screen: $text"
}
# expect_row NAME N TEXT: row N of the screen shows TEXT.
expect_row() {
  local name=$1 n=$2 text=$3 i
  for i in $(seq 100); do
    if screen "$name" | sed -n "${n}p" | grep -qF -- "$text"; then pass=$((pass + 1)); return 0; fi
    sleep 0.1
  done
  failed_on "$name" "expected on row $n: $text"
}
# absent NAME TEXT: TEXT is not on the screen now (after an expect settled it).
absent() {
  if screen "$1" | grep -qF -- "$2"; then failed_on "$1" "unexpected on screen: $2"; else pass=$((pass + 1)); fi
}
# check WHAT CMD...: CMD succeeds.
check() {
  local what=$1; shift
  if "$@"; then pass=$((pass + 1)); else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
finish() {
  echo "$pass checks passed, $fails failed"
  [ $fails -eq 0 ]
}
