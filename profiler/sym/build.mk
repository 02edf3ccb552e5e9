# profiler/sym/ — the symbolizer (profiler/symbols.h): ELF files, DWARF
# with inline frames, separate debug info, kallsyms and perf maps.
CLI_SRCS += profiler/sym/symbols.c profiler/sym/module.c profiler/sym/dwarf.c profiler/sym/kernel.c \
             profiler/sym/cache.c profiler/sym/framecache.c
CLI_PKGS += libdw libelf
# __cxa_demangle for C++ names.
CLI_LIBS += -lstdc++
FUZZERS += fuzz/fuzz_elf_symbolize.c
BENCH_BINS += bench/symbols_bench
BENCH_SCRIPTS += bench/symbols_bench.sh
