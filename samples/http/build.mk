# samples/http — two traced HTTP services (frontend -> backend) and a load
# driver, linked against the public static library like a real service
# (the OTEP 4947 TLS symbol exported, as `pkg-config --static ignis` says, so
# `ignis record` can label samples with their span).
HTTP_D := $(B)/samples
HTTP_SAMPLE_PKGS := libmicrohttpd libcurl
# Compiled as a service outside the tree would be: public headers only.
HTTP_SAMPLE_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -I. $(SANFLAGS) \
                     $(call pkg_cflags,$(HTTP_SAMPLE_PKGS))
SAMPLE_BINS += $(HTTP_D)/sample-frontend $(HTTP_D)/sample-backend $(HTTP_D)/sample-load

$(HTTP_D)/sample-frontend $(HTTP_D)/sample-backend: $(HTTP_D)/sample-%: samples/http/%.c samples/http/common.h $(B)/libignis.a
	@mkdir -p $(dir $@)
	$(CC) $(HTTP_SAMPLE_CFLAGS) -o $@ $< $(B)/libignis.a -Wl,--export-dynamic-symbol=otel_thread_ctx_v1 $(LDSAN) \
	    $(call pkg_libs,$(HTTP_SAMPLE_PKGS)) $(LIB_LDLIBS)

$(HTTP_D)/sample-load: samples/http/load.c
	@mkdir -p $(dir $@)
	$(CC) $(HTTP_SAMPLE_CFLAGS) -o $@ $< $(LDSAN) $(call pkg_libs,libcurl)
