# samples/alloc/ — programs for the heap profiler's tests, demo and bench.
# -O2 without frame pointers, so stacks need real (DWARF) unwinding.
SAMPLE_BINS += $(B)/samples/alloc/allocsites $(B)/samples/alloc/allocfaults $(B)/samples/alloc/allocbench \
               $(B)/samples/alloc/allocfork $(B)/samples/alloc/allocsig
ALLOC_SAMPLE_CFLAGS := -std=gnu11 -O2 -g -fomit-frame-pointer -D_GNU_SOURCE -Wall -Wextra -Werror
$(B)/samples/alloc/%: samples/alloc/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLOC_SAMPLE_CFLAGS) -o $@ $< -lpthread -lm
# The same program linked statically: no libc.so to probe, no LD_PRELOAD.
SAMPLE_BINS += $(B)/samples/alloc/allocsites-static
$(B)/samples/alloc/allocsites-static: samples/alloc/allocsites.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLOC_SAMPLE_CFLAGS) -static -o $@ $< -lpthread -lm
# C++ with exceptions, for the shim's libunwind isolation test.
SAMPLE_BINS += $(B)/samples/alloc/allocexc
$(B)/samples/alloc/allocexc: samples/alloc/allocexc.cc
	@mkdir -p $(dir $@)
	$(CXX) -O2 -g -Wall -Wextra -Werror -o $@ $<
