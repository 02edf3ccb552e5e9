# tests/cli/ — the command line as a user types it: diffs (order by change,
# removed functions and frames, incompatible types, --normalize), pprof's
# filters (percentages of the whole, matched-nothing errors, hide/show,
# tags, threads), one option parser (spellings, errors, help) and files
# (gzipped text inputs, folded counts), pprof's list (report --list).
TEST_SCRIPTS += tests/cli/t_diff.sh tests/cli/t_filters.sh tests/cli/t_options.sh tests/cli/t_record_cli.sh tests/cli/t_files.sh tests/cli/t_list.sh
# percentages of negative and mixed-sign profiles, against go tool pprof -top
TEST_SCRIPTS += tests/cli/t_pct_signs.sh
# -o /dev/stdout, /dev/fd/N, /proc/self/fd/N written through the descriptor;
# empty folded files; gzip inputs that cannot be profiles; usage exits
TEST_SCRIPTS += tests/cli/t_outfd.sh tests/cli/t_inputs_edge.sh
# inputs read once: FIFOs, sockets and pipes behind /dev/stdin and /dev/fd/N;
# /dev/zero refused from its first bytes
TEST_SCRIPTS += tests/cli/t_fifo_input.sh
# span-linked profiles: --span, --trace, --span-name, --slow-vs-fast, --spans
# (a generated profile and spans file whose every number is known)
TEST_SCRIPTS += tests/cli/t_spans.sh
# span inputs that never end (/dev/zero as --spans, view FILE.jsonl, collect --import): refused, never a hang
TEST_SCRIPTS += tests/cli/t_spans_endless.sh
# --span-name with its children; --slow-vs-fast with spans missing from --spans
# (said, never shown as whole) and nested spans of one name (each sample on one side)
TEST_SCRIPTS += tests/cli/t_spans_sets.sh
EXTRA_TARGETS += $(B)/tests/cli/mkspanprof
$(B)/tests/cli/mkspanprof: tests/cli/mkspanprof.c $(B)/libignis-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libignis-internal.a $(LDSAN) $(CLI_LDLIBS)
# joining samples to other SDKs' spans by thread and time (--join-spans)
TEST_SCRIPTS += tests/cli/t_spans_join.sh tests/cli/t_spans_record.sh
EXTRA_TARGETS += $(B)/tests/cli/mkjoinprof
$(B)/tests/cli/mkjoinprof: tests/cli/mkjoinprof.c $(B)/libignis-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libignis-internal.a $(LDSAN) $(CLI_LDLIBS)
