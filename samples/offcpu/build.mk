# samples/offcpu/ — programs that wait in known ways, for off-CPU and
# wall-clock profiles (tests/profiler/t_offcpu*.sh, bench/offcpu.sh): the
# ground truth (each phase measures its own wall and CPU time) and a
# context-switch-heavy ping-pong.  Built like samples/cpu: -O2 -g without
# frame pointers, so only DWARF unwinding walks them.
OFFCPU_D := $(B)/samples/offcpu
SAMPLE_BINS += $(OFFCPU_D)/offcpu_phases $(OFFCPU_D)/offcpu_pingpong

$(OFFCPU_D)/offcpu_%: samples/offcpu/offcpu_%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -fomit-frame-pointer -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $< -lpthread
