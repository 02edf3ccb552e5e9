# samples/sym/ — ground-truth programs for the symbolizer tests
# (tests/symbols/), built -O2 -g without frame pointers, plus a stripped
# copy, a copy with its DWARF moved to a separate file found through
# .gnu_debuglink, and that debug file.
SYM_D := $(B)/samples/sym
SAMPLE_BINS += $(SYM_D)/sym_inline $(SYM_D)/sym_inline.stripped $(SYM_D)/sym_inline.debug \
               $(SYM_D)/sym_inline.dbglink $(SYM_D)/sym_cpp
SYM_SAMPLE_CFLAGS := -O2 -g -fomit-frame-pointer -rdynamic -Wall -Wextra -Werror

$(SYM_D)/sym_inline: samples/sym/sym_inline.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(SYM_SAMPLE_CFLAGS) -o $@ $<

# Not PIE: its code sits at vaddr 0x400000 + file offset, so the tests also
# check the offset -> vaddr translation through PT_LOAD.
$(SYM_D)/sym_cpp: samples/sym/sym_cpp.cpp
	@mkdir -p $(dir $@)
	g++ -std=c++17 $(SYM_SAMPLE_CFLAGS) -no-pie -o $@ $<

$(SYM_D)/sym_inline.stripped: $(SYM_D)/sym_inline
	objcopy --strip-all $< $@

$(SYM_D)/sym_inline.debug: $(SYM_D)/sym_inline
	objcopy --only-keep-debug $< $@

$(SYM_D)/sym_inline.dbglink: $(SYM_D)/sym_inline $(SYM_D)/sym_inline.debug
	objcopy --strip-all --add-gnu-debuglink=$(SYM_D)/sym_inline.debug $< $@
