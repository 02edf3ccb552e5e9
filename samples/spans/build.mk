# samples/spans/ — services whose spans do known CPU work (and, spanwork -w / -m,
# known waits and allocations), the ground truth
# for span labels on samples (tests/profiler/test_spanbpf.c, bench/spanbpf.sh):
# spanwork (linked with libignis.so, as a real service is), spanfake (no
# libignis; a fake record everywhere in its TLS, exec'd by spanwork -x) and
# spanstart (spans from its first moments, for a recording from its launch).
SPANS_D := $(B)/samples/spans
SAMPLE_BINS += $(SPANS_D)/spanwork $(SPANS_D)/spanfake $(SPANS_D)/spanstart

$(SPANS_D)/spanwork: samples/spans/spanwork.c samples/spans/spanlog.h $(B)/libignis.so $(B)/libignis.so.0
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -Iinclude -I. $(SANFLAGS) -o $@ $< -L$(B) \
	  -Wl,-rpath,$(abspath $(B)) -lignis -lpthread

$(SPANS_D)/spanfake: samples/spans/spanfake.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -o $@ $<

$(SPANS_D)/spanstart: samples/spans/spanstart.c samples/spans/spanlog.h $(B)/libignis.so $(B)/libignis.so.0
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -Iinclude -I. $(SANFLAGS) -o $@ $< -L$(B) \
	  -Wl,-rpath,$(abspath $(B)) -lignis -lpthread
