#!/usr/bin/env bash
# Samples taken inside execve after the kernel switched the process to its
# new image (REVIEW3 section 3): the COMM exec record comes from
# begin_new_exec, while the thread still runs load_elf_binary, elf_load,
# the new image's page faults, with the old program's user registers and
# stack.  Those samples must be symbolized with the old image's mappings
# (perf names them __GI___execve), not left as raw addresses under
# [truncated] (regression: the maps were cleared at the COMM record; 6-8% of
# a fork/exec-heavy recording).  Ground truth: a bash loop of /bin/true and
# /bin/echo (600 rounds at 4999 Hz: a fast machine spends little time in
# execve, and 200 rounds at 999 Hz gave it 1-3 samples); every sample
# whose kernel stack is in execve has a user frame, which is libc's execve
# wrapper of the program that called it (or, at the end of execve, once
# the kernel set the new image's registers, that image's _start).
# A few may stay raw: a recorder running far behind (a sanitizer build)
# reads a forked child's maps from /proc after it exec'd, so that child's
# old image is unknown; hence at most 3% (before the fix: 35-40%).
# Needs kernel symbols (the stacks are matched on __x64_sys_execve).
. "$(dirname "$0")/lib.sh"
"$IGNIS" record -F 4999 -o "$T/b.folded" -- bash -c 'for i in $(seq 1 600); do /bin/true; /bin/echo -n; done' \
  >/dev/null 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
grep -q '__x64_sys_execve_\[k\]' "$T/b.folded" || skip "no kernel symbols in the stacks (kptr_restrict?)"
# samples in execve: all, and those with a raw (unsymbolized) user address
read -r n raw named <<<"$(awk '/__x64_sys_execve_\[k\]/ {
    c = $NF; n += c; s = $0; sub(/ [0-9]+$/, "", s); k = split(s, f, ";")
    for (i = 1; i <= k; i++) if (f[i] ~ /^\[unknown\]$/) { raw += c; break }
    for (i = 1; i <= k; i++) if (f[i] ~ /^(__GI_)?_*execve$/ || (f[i] == "_start" && f[i + 1] ~ /^entry_SYSCALL/)) { named += c; break }
  } END { printf "%d %d %d\n", n, raw, named }' "$T/b.folded")"
echo "samples in execve: $n, with a raw user address: $raw, under libc's execve or the new image's _start: $named"
[ "$n" -ge 20 ] || fail "too few samples in execve ($n) to judge"
[ $((raw * 100)) -le $((n * 3)) ] || fail "$raw of $n samples in execve have a raw user address (the old image's maps were dropped)"
[ $((named * 100)) -ge $((n * 95)) ] || fail "only $named of $n samples in execve are under libc's execve or the new _start"
echo ok
