# samples/cpu/ — CPU-bound programs with known profiles for the profiler
# tests and benchmark (tests/profiler/, bench/profiler.sh).  Built -O2 -g
# WITHOUT frame pointers, so only DWARF unwinding can walk them.
CPU_D := $(B)/samples/cpu
CPU_SAMPLE_CFLAGS := -std=gnu11 -O2 -g -fomit-frame-pointer -Wall -Wextra -Werror -D_GNU_SOURCE
SAMPLE_BINS += $(CPU_D)/cpu_shares $(CPU_D)/cpu_recurse $(CPU_D)/cpu_late $(CPU_D)/libcpu_late.so \
               $(CPU_D)/cpu_churn $(CPU_D)/cpu_jit $(CPU_D)/cpu_nocfi $(CPU_D)/cpu_static \
               $(CPU_D)/cpu_static_nocfi $(CPU_D)/cpu_vdso $(CPU_D)/cpu_forkexec $(CPU_D)/cpu_exec_child \
               $(CPU_D)/cpu_threads $(CPU_D)/cpu_blip $(CPU_D)/cpu_shrink $(CPU_D)/libcpu_shrink.so \
               $(CPU_D)/cpu_leader_exit

$(CPU_D)/cpu_%: samples/cpu/cpu_%.c samples/cpu/cpu_common.h
	@mkdir -p $(dir $@)
	$(CC) $(CPU_SAMPLE_CFLAGS) -o $@ $< -lpthread -ldl

# fork+exec of one non-PIE program by another (see cpu_forkexec.c)
$(CPU_D)/cpu_forkexec $(CPU_D)/cpu_exec_child: CPU_SAMPLE_CFLAGS += -no-pie

$(CPU_D)/libcpu_late.so: samples/cpu/cpu_late_lib.c samples/cpu/cpu_common.h
	@mkdir -p $(dir $@)
	$(CC) $(CPU_SAMPLE_CFLAGS) -fPIC -shared -o $@ $<

$(CPU_D)/libcpu_shrink.so: samples/cpu/cpu_shrink_lib.c
	@mkdir -p $(dir $@)
	$(CC) $(CPU_SAMPLE_CFLAGS) -fPIC -shared -o $@ $<

# cpu_recurse linked statically: with CFI (every stack reaches _start), and
# with no CFI in its own code (its frames cannot be unwound with certainty:
# the ground truth for truncated stacks in static binaries).
$(CPU_D)/cpu_static: samples/cpu/cpu_recurse.c samples/cpu/cpu_common.h
	@mkdir -p $(dir $@)
	$(CC) $(CPU_SAMPLE_CFLAGS) -static -o $@ $<

$(CPU_D)/cpu_static_nocfi: samples/cpu/cpu_recurse.c samples/cpu/cpu_common.h
	@mkdir -p $(dir $@)
	$(CC) $(CPU_SAMPLE_CFLAGS) -fno-asynchronous-unwind-tables -fno-unwind-tables -static -o $@ $<
