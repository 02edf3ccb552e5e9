# tests/symbols/ — the symbolizer (profiler/symbols.h) against the samples
# of samples/sym/, kallsyms and perf maps, and the replay of the ELF fuzzer.
TEST_BINS += tests/symbols/test_symbols tests/symbols/test_ksyms tests/fuzz/replay_fuzz_elf_symbolize
