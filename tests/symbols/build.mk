# tests/symbols/ — the symbolizer (profiler/symbols.h) against the samples
# of samples/sym/, kallsyms and perf maps, and the replay of the ELF fuzzer.
TEST_BINS += tests/symbols/test_symbols tests/symbols/test_ksyms tests/fuzz/replay_fuzz_elf_symbolize
# symbols without a size (labels like ld.so's _start, asm without .size)
# and ELF images from memory (the vDSO); sizeless.S is its fixture
TEST_BINS += tests/symbols/test_sizeless
SAMPLE_BINS += $(B)/tests/symbols/libsizeless.so

$(B)/tests/symbols/libsizeless.so: tests/symbols/sizeless.S
	@mkdir -p $(dir $@)
	$(CC) -shared -nostdlib -Wl,--build-id -o $@ $<
# frames without a symbol named by their module ("[libunsym.so]") in report,
# folded, flame and diff, per address with --addresses and in the pprof
# export: a recorded program with a library stripped in the test
TEST_SCRIPTS += tests/symbols/t_unsymbolized.sh
# the same in trees, top tables, diffs and folded stacks, on a hand-made profile
TEST_BINS += tests/symbols/test_unsym_views
