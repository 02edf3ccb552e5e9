# collect/ — `ignis collect` (OTLP/HTTP receiver, SQLite trace store,
# forwarder, Prometheus /metrics) and the store `ignis view` reads.
#
# The store and the request decoders are part of the ignis binary (the
# viewer opens stores and OTLP-JSON files).
CLI_SRCS += collect/arena.c collect/batch.c collect/store.c collect/store_write.c collect/store_read.c \
            collect/retention.c
CLI_PKGS += sqlite3 json-c

# collect/schema.sql becomes a C string: comment lines dropped.
$(B)/gen/collect/schema_sql.h: collect/schema.sql collect/build.mk
	@mkdir -p $(dir $@)
	@{ echo '/* generated from collect/schema.sql -- do not edit */'; \
	   echo 'static const char ig_schema_sql[] ='; \
	   sed -e '/^[[:space:]]*--/d' -e '/^$$/d' -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
	       -e 's/^/"/' -e 's/$$/\\n"/' $<; echo ';'; } > $@.tmp && mv $@.tmp $@
$(B)/obj/collect/store.o: $(B)/gen/collect/schema_sql.h
