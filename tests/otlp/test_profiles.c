/*
 * tests/otlp/test_profiles.c — the OTLP profiles encoder and decoder
 * (exporters/otlp_profiles_*.c), the OTLP/JSON transcoder, the resource's
 * container id, and the exporter's bounded queue.
 *
 * Round trips compare a complete text fingerprint of the model (every
 * field of every value type, mapping, location, line, function, label and
 * sample, samples in a canonical order), so "loses nothing pprof holds" is
 * checked field by field, on the pprof files of tests/data and on a
 * profile that uses everything the model has.  What the wire must hold
 * (zero values first in every table, one Profile per value type, Links,
 * thread and build id attributes) is checked on the protobuf-c messages
 * decoded from our own .proto; tests/otlp/t_profiles_export.sh checks it
 * again with an independent decoder.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "exporters/formats.h"
#include "exporters/otlp_profiles.h"
#include "exporters/pbjson.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"
#include "utils/fileio.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest pb_request;
#define REQ(x) opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__##x

/* ---- fingerprints ------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *S(const ignis_profile *p, uint32_t id)
{
    return ignis_profile_string(p, id);
}

static void location_text(const ignis_profile *p, uint32_t id, ig_strbuf *out)
{
    const ignis_location *l = ignis_profile_location(p, id);
    const ignis_mapping *m = ignis_profile_mapping(p, l->mapping);
    if (m)
        ig_sb_printf(out, "[%s %llx-%llx+%llx bid=%s f=%d%d%d%d]", S(p, m->filename), (unsigned long long)m->start,
                     (unsigned long long)m->limit, (unsigned long long)m->offset, S(p, m->build_id), m->has_functions,
                     m->has_filenames, m->has_line_numbers, m->has_inline_frames);
    ig_sb_printf(out, "@%llx k%d f%d{", (unsigned long long)l->address, l->kind, l->is_folded);
    for (uint32_t i = 0; i < l->nlines; i++) {
        const ignis_function *f = ignis_profile_function(p, l->lines[i].function);
        ig_sb_printf(out, "%s/%s/%s:%lld:%lld:%lld,", S(p, f->name), S(p, f->system_name), S(p, f->filename),
                     (long long)f->start_line, (long long)l->lines[i].line, (long long)l->lines[i].column);
    }
    ig_sb_puts(out, "}");
}

/* The whole profile as text, samples sorted: equal iff nothing differs. */
static char *fingerprint(const ignis_profile *p)
{
    ig_strbuf out = IG_STRBUF_INIT;
    size_t nv = ignis_profile_num_values(p);
    for (size_t i = 0; i < nv; i++) {
        ignis_value_type vt = ignis_profile_value_type(p, i);
        ig_sb_printf(&out, "type %s/%s\n", S(p, vt.type), S(p, vt.unit));
    }
    ignis_value_type pt = ignis_profile_period_type(p);
    ig_sb_printf(&out, "period %s/%s %lld time %lld %lld default %s drop %s keep %s\n", S(p, pt.type), S(p, pt.unit),
                 (long long)ignis_profile_period(p), (long long)ignis_profile_time_nanos(p),
                 (long long)ignis_profile_duration_nanos(p), S(p, ignis_profile_default_sample_type(p)),
                 S(p, ignis_profile_drop_frames(p)), S(p, ignis_profile_keep_frames(p)));
    for (size_t i = 0; i < ignis_profile_num_comments(p); i++)
        ig_sb_printf(&out, "comment %s\n", S(p, ignis_profile_comment(p, i)));
    size_t ns = ignis_profile_num_samples(p);
    char **lines = calloc(ns + 1, sizeof *lines);
    for (size_t i = 0; i < ns; i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        ig_strbuf l = IG_STRBUF_INIT;
        size_t n, nl;
        const uint32_t *locs = ignis_profile_stack(p, s.stack, &n);
        for (size_t j = 0; j < n; j++)
            location_text(p, locs[j], &l);
        const ignis_label *lab = ignis_profile_labels(p, s.labels, &nl);
        char **ls = calloc(nl + 1, sizeof *ls);
        for (size_t j = 0; j < nl; j++) {
            ig_strbuf t = IG_STRBUF_INIT;
            if (lab[j].str)
                ig_sb_printf(&t, "%s=%s", S(p, lab[j].key), S(p, lab[j].str));
            else
                ig_sb_printf(&t, "%s=#%lld%s", S(p, lab[j].key), (long long)lab[j].num, S(p, lab[j].num_unit));
            ls[j] = ig_sb_detach(&t, NULL);
        }
        qsort(ls, nl, sizeof *ls, cmp_str);
        for (size_t j = 0; j < nl; j++) {
            ig_sb_printf(&l, " %s", ls[j]);
            free(ls[j]);
        }
        free(ls);
        for (size_t k = 0; k < nv; k++)
            ig_sb_printf(&l, " v%lld", (long long)s.values[k]);
        lines[i] = ig_sb_detach(&l, NULL);
    }
    qsort(lines, ns, sizeof *lines, cmp_str);
    for (size_t i = 0; i < ns; i++) {
        ig_sb_printf(&out, "%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    return ig_sb_detach(&out, NULL);
}

static ignis_profile *decode(const ig_strbuf *b, bool json)
{
    ignis_profile *q = NULL;
    ig_err err;
    int rc = json ? ig_otlp_profiles_read_json((const uint8_t *)b->data, b->len, &q, &err)
                  : ig_otlp_profiles_read((const uint8_t *)b->data, b->len, &q, &err);
    if (rc)
        fail_msg("decode: %s", err.msg);
    return q;
}

static void assert_round_trip(const ignis_profile *p)
{
    char *want = fingerprint(p);
    for (int json = 0; json < 2; json++) {
        ig_strbuf b = IG_STRBUF_INIT;
        if (json)
            ig_otlp_profiles_encode_json(p, NULL, &b);
        else
            ig_otlp_profiles_encode(p, NULL, &b);
        ignis_profile *q = decode(&b, json);
        char *got = fingerprint(q);
        if (strcmp(want, got))
            fail_msg("%s round trip differs:\n--- want\n%s--- got\n%s", json ? "JSON" : "protobuf", want, got);
        free(got);
        ignis_profile_free(q);
        ig_sb_free(&b);
    }
    free(want);
}

static ignis_profile *load(const char *path)
{
    ignis_profile *p = NULL;
    ig_err err;
    if (ig_profile_load(path, NULL, &p, &err))
        fail_msg("%s", err.msg);
    return p;
}

/* ---- a profile that uses everything the model has ------------------------------------------- */

static ignis_profile *everything(void)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "alloc_objects", "count");
    ignis_profile_add_value_type(p, "alloc_space", "bytes");
    ignis_profile_add_value_type(p, "inuse_space", "bytes");
    ignis_profile_set_period(p, "space", "bytes", 524288);
    ignis_profile_set_time(p, 1700000000123456789, 30000000000);
    ignis_profile_set_default_sample_type(p, "inuse_space");
    ignis_profile_set_drop_keep(p, "runtime\\..*", "runtime\\.main");
    ignis_profile_add_comment(p, "first comment");
    ignis_profile_add_comment(p, "second, with UTF-8: \xc3\xa9t\xc3\xa9");
    ignis_mapping m = {0x400000, 0x500000, 0x1000, ignis_profile_intern(p, "/usr/bin/app"),
                       ignis_profile_intern(p, "0123456789abcdef0123456789abcdef01234567"), true, true, true, false};
    uint32_t map = ignis_profile_add_mapping(p, &m);
    ignis_mapping km = {0xffffffff81000000ULL, 0xffffffff82000000ULL, 0, ignis_profile_intern(p, "[kernel.kallsyms]"),
                        0, false, false, false, false};
    uint32_t kmap = ignis_profile_add_mapping(p, &km);
    ignis_function f1 = {ignis_profile_intern(p, "ns::parse(char const*)"), ignis_profile_intern(p, "_ZN2ns5parseEPKc"),
                         ignis_profile_intern(p, "src/parse.cc"), 12};
    uint32_t fa = ignis_profile_add_function(p, &f1), fb = ignis_profile_function_named(p, "lex", "src/lex.c", 3);
    uint32_t fc = ignis_profile_function_named(p, "main", "src/main.c", 1);
    uint32_t fk = ignis_profile_function_named(p, "do_syscall_64", NULL, 0);
    uint32_t fj = ignis_profile_function_named(p, "LazyCompile:*work", NULL, 0);
    ignis_line inl[2] = {{fb, 40, 7}, {fa, 20, 3}}; /* lex inlined into parse */
    ignis_location l_inl = {map, 0x401234, inl, 2, IGNIS_FRAME_USER, false};
    ignis_line mainl = {fc, 9, 0};
    ignis_location l_main = {map, 0x400100, &mainl, 1, IGNIS_FRAME_USER, true}; /* folded */
    ignis_line kl = {fk, 0, 0};
    ignis_location l_k = {kmap, 0xffffffff81001000ULL, &kl, 1, IGNIS_FRAME_KERNEL, false};
    uint32_t a = ignis_profile_add_location(p, &l_inl), b = ignis_profile_add_location(p, &l_main);
    uint32_t k = ignis_profile_add_location(p, &l_k), j = ignis_profile_location_for_function(p, fj, IGNIS_FRAME_JIT);
    ignis_location bare = {map, 0x4ffff0, NULL, 0, IGNIS_FRAME_USER, false}; /* an address without symbols */
    uint32_t u = ignis_profile_add_location(p, &bare);
    uint32_t s1[] = {a, b}, s2[] = {k, a, b}, s3[] = {j, b}, s4[] = {u, b};
    uint32_t st[4] = {ignis_profile_add_stack(p, s1, 2), ignis_profile_add_stack(p, s2, 3),
                      ignis_profile_add_stack(p, s3, 2), ignis_profile_add_stack(p, s4, 2)};
    ignis_label la[6] = {
        {ignis_profile_intern(p, "thread"), ignis_profile_intern(p, "worker-1"), 0, 0},
        {ignis_profile_intern(p, "tid"), 0, 4242, 0},
        {ignis_profile_intern(p, "trace_id"), ignis_profile_intern(p, "4bf92f3577b34da6a3ce929d0e0e4736"), 0, 0},
        {ignis_profile_intern(p, "span_id"), ignis_profile_intern(p, "00f067aa0ba902b7"), 0, 0},
        {ignis_profile_intern(p, "request size"), 0, -17, ignis_profile_intern(p, "bytes")},
        {ignis_profile_intern(p, "endpoint"), ignis_profile_intern(p, "/api/v1"), 0, 0},
    };
    /* a trace_id that is not an id stays a label */
    ignis_label lb[2] = {{ignis_profile_intern(p, "trace_id"), ignis_profile_intern(p, "not-hex"), 0, 0},
                         {ignis_profile_intern(p, "tid"), 0, 7, ignis_profile_intern(p, "count")}};
    uint32_t sets[3] = {ignis_profile_add_labels(p, la, 6), ignis_profile_add_labels(p, la, 2),
                        ignis_profile_add_labels(p, lb, 2)};
    int64_t v1[3] = {3, 3 * 512, 0}, v2[3] = {1, 4096, 4096}, v3[3] = {0, 0, 0}, v4[3] = {-2, -100, 50};
    ignis_profile_add_sample(p, st[0], sets[0], v1);
    ignis_profile_add_sample(p, st[1], sets[1], v2);
    ignis_profile_add_sample(p, st[2], 0, v3); /* all zero: kept */
    ignis_profile_add_sample(p, st[3], sets[2], v4); /* negative (a diff) */
    ignis_profile_add_sample(p, st[0], sets[1], v2);
    return p;
}

/* ---- round trips ------------------------------------------------------------------------------- */

static void test_round_trip_data_files(void **state)
{
    (void)state;
    const char *files[] = {"tests/data/go_cpu.pb.gz", "tests/data/go_heap.pb.gz", "tests/data/pprof_merged.pb.gz",
                           "tests/data/perf_dwarf.txt", "tests/data/perf_fp.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        ignis_profile *p = load(files[i]);
        assert_round_trip(p);
        ignis_profile_free(p);
    }
}

static void test_round_trip_everything(void **state)
{
    (void)state;
    ignis_profile *p = everything();
    assert_round_trip(p);
    ignis_profile_free(p);
}

/* Through pprof and back: pprof -> OTLP -> pprof keeps what pprof held. */
static void test_pprof_otlp_pprof(void **state)
{
    (void)state;
    ignis_profile *p = everything();
    ig_strbuf pp = IG_STRBUF_INIT, otlp = IG_STRBUF_INIT, pp2 = IG_STRBUF_INIT;
    ig_err err;
    ignis_profile *a = NULL, *c = NULL;
    assert_int_equal(ig_pprof_write(p, &pp, &err), 0);
    assert_int_equal(ig_pprof_read((const uint8_t *)pp.data, pp.len, &a, &err), 0);
    ig_otlp_profiles_encode(a, NULL, &otlp);
    ignis_profile *b = decode(&otlp, false);
    assert_int_equal(ig_pprof_write(b, &pp2, &err), 0);
    assert_int_equal(ig_pprof_read((const uint8_t *)pp2.data, pp2.len, &c, &err), 0);
    char *fa = fingerprint(a), *fc = fingerprint(c);
    assert_string_equal(fa, fc);
    free(fa), free(fc);
    ignis_profile_free(p), ignis_profile_free(a), ignis_profile_free(b), ignis_profile_free(c);
    ig_sb_free(&pp), ig_sb_free(&otlp), ig_sb_free(&pp2);
}

/* Mapping ids survive, with the mappings no sample uses: the first sample
 * here uses the second mapping (a recording maps libc before the kernel
 * frame of the first sample), the third is used by none. */
static void test_mapping_ids_kept(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    const char *names[3] = {"/usr/lib/libc.so.6", "[kernel.kallsyms]", "/usr/lib/libunused.so"};
    uint32_t maps[3];
    for (uint32_t i = 0; i < 3; i++) {
        ignis_mapping m = {0x1000 * (i + 1), 0x1000 * (i + 2), 0, ignis_profile_intern(p, names[i]), 0,
                           true, false, false, false};
        maps[i] = ignis_profile_add_mapping(p, &m);
    }
    ignis_line kl = {ignis_profile_function_named(p, "do_syscall_64", NULL, 0), 0, 0};
    ignis_line cl = {ignis_profile_function_named(p, "clone3", NULL, 0), 0, 0};
    ignis_location lk = {maps[1], 0x2100, &kl, 1, IGNIS_FRAME_KERNEL, false};
    ignis_location lc = {maps[0], 0x1100, &cl, 1, IGNIS_FRAME_USER, false};
    uint32_t locs[2] = {ignis_profile_add_location(p, &lk), ignis_profile_add_location(p, &lc)};
    int64_t v = 1;
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, locs, 2), 0, &v);
    for (int json = 0; json < 2; json++) {
        ig_strbuf b = IG_STRBUF_INIT;
        if (json)
            ig_otlp_profiles_encode_json(p, NULL, &b);
        else
            ig_otlp_profiles_encode(p, NULL, &b);
        ignis_profile *q = decode(&b, json);
        assert_int_equal(ignis_profile_num_mappings(q), 3);
        for (uint32_t i = 0; i < 3; i++)
            assert_string_equal(S(q, ignis_profile_mapping(q, maps[i])->filename), names[i]);
        ignis_profile_free(q);
        ig_sb_free(&b);
    }
    ignis_profile_free(p);
}

/* ---- what the wire holds ------------------------------------------------------------------------- */

static const char *wstr(const pb_request *r, int32_t i)
{
    return i >= 0 && (size_t)i < r->dictionary->n_string_table ? r->dictionary->string_table[i] : "?";
}

static const Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit *wattr(const pb_request *r, int32_t i)
{
    return r->dictionary->attribute_table[i];
}

static void test_wire_layout(void **state)
{
    (void)state;
    ignis_profile *p = everything();
    ig_strbuf b = IG_STRBUF_INIT;
    ig_otlp_profiles_encode(p, NULL, &b);
    pb_request *r = REQ(unpack)(NULL, b.len, (const uint8_t *)b.data);
    assert_non_null(r);
    const Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary *d = r->dictionary;
    assert_non_null(d);
    /* every table starts with its zero value */
    assert_string_equal(d->string_table[0], "");
    assert_true(d->n_mapping_table && !d->mapping_table[0]->memory_start && !d->mapping_table[0]->filename_strindex);
    assert_true(d->n_location_table && !d->location_table[0]->n_lines && !d->location_table[0]->address);
    assert_true(d->n_function_table && !d->function_table[0]->name_strindex);
    assert_true(d->n_link_table && !d->link_table[0]->trace_id.len);
    assert_true(d->n_attribute_table && !d->attribute_table[0]->key_strindex && !d->attribute_table[0]->value);
    assert_true(d->n_stack_table && !d->stack_table[0]->n_location_indices);
    /* one Profile per value type, in one scope, with the pprof order */
    assert_int_equal(r->n_resource_profiles, 1);
    assert_int_equal(r->resource_profiles[0]->n_scope_profiles, 1);
    const Opentelemetry__Proto__Profiles__V1development__ScopeProfiles *sp = r->resource_profiles[0]->scope_profiles[0];
    assert_int_equal(sp->n_profiles, 3);
    assert_string_equal(wstr(r, sp->profiles[1]->sample_type->type_strindex), "alloc_space");
    assert_string_equal(sp->scope->name, "ignis");
    /* the all-zero sample is in the first Profile only; the inuse Profile
     * holds only its three non-zero samples */
    assert_int_equal(sp->profiles[0]->n_samples, 5);
    assert_int_equal(sp->profiles[2]->n_samples, 3);
    /* links, thread attributes, build ids */
    assert_int_equal(d->n_link_table, 2);
    assert_int_equal(d->link_table[1]->trace_id.len, 16);
    assert_int_equal(d->link_table[1]->trace_id.data[0], 0x4b);
    assert_int_equal(d->link_table[1]->span_id.len, 8);
    int thread_id = 0, thread_name = 0, build_id = 0, kernel = 0;
    for (size_t i = 1; i < d->n_attribute_table; i++) {
        const char *key = wstr(r, wattr(r, (int32_t)i)->key_strindex);
        const Opentelemetry__Proto__Common__V1__AnyValue *v = wattr(r, (int32_t)i)->value;
        thread_id += !strcmp(key, "thread.id") && v->int_value == 4242;
        thread_name += !strcmp(key, "thread.name") && !strcmp(v->string_value, "worker-1");
        build_id += !strcmp(key, "process.executable.build_id.gnu");
        kernel += !strcmp(key, "profile.frame.type") && !strcmp(v->string_value, "kernel");
    }
    assert_int_equal(thread_id, 1);
    assert_int_equal(thread_name, 1);
    assert_int_equal(build_id, 1);
    assert_int_equal(kernel, 1);
    REQ(free_unpacked)(r, NULL);
    ig_sb_free(&b);
    ignis_profile_free(p);
}

/* Halves of a profile (what a 413 sends) carry their own, smaller
 * dictionaries and together hold the whole profile. */
static void test_sample_ranges(void **state)
{
    (void)state;
    ignis_profile *p = load("tests/data/go_heap.pb.gz");
    size_t n = ignis_profile_num_samples(p);
    ig_strbuf whole = IG_STRBUF_INIT, h1 = IG_STRBUF_INIT, h2 = IG_STRBUF_INIT;
    ig_otlp_encode_opts o1 = {NULL, 0, n / 2, NULL, NULL}, o2 = {NULL, n / 2, SIZE_MAX, NULL, NULL};
    ig_otlp_profiles_encode(p, NULL, &whole);
    ig_otlp_profiles_encode(p, &o1, &h1);
    ig_otlp_profiles_encode(p, &o2, &h2);
    assert_true(h1.len < whole.len && h2.len < whole.len);
    ignis_profile *a = decode(&h1, false), *b = decode(&h2, false);
    size_t nv = ignis_profile_num_values(p);
    for (size_t v = 0; v < nv; v++)
        assert_int_equal(ignis_profile_total(a, v) + ignis_profile_total(b, v), ignis_profile_total(p, v));
    assert_int_equal(ignis_profile_num_samples(a) + ignis_profile_num_samples(b), n);
    ignis_profile_free(a), ignis_profile_free(b), ignis_profile_free(p);
    ig_sb_free(&whole), ig_sb_free(&h1), ig_sb_free(&h2);
}

/* ---- decoding what others send --------------------------------------------------------------------- */

/* A request built by hand (JSON, then our transcoder): two Samples with the
 * same stack, attributes and link are one sample; values without a Link
 * or with timestamps only count; several resources label their samples. */
static void test_decode_foreign(void **state)
{
    (void)state;
    const char *json =
        "{\"resourceProfiles\":["
        " {\"resource\":{\"attributes\":[{\"key\":\"process.pid\",\"value\":{\"intValue\":\"10\"}}]},"
        "  \"scopeProfiles\":[{\"profiles\":[{\"sampleType\":{\"typeStrindex\":1,\"unitStrindex\":2},"
        "   \"samples\":[{\"stackIndex\":1,\"attributeIndices\":[1],\"linkIndex\":1,\"values\":[\"5\"]},"
        "                {\"stackIndex\":1,\"attributeIndices\":[1],\"linkIndex\":1,\"values\":[\"2\",\"3\"]},"
        "                {\"stackIndex\":1,\"timestampsUnixNano\":[\"1\",\"2\",\"3\"]}]}]}]},"
        " {\"resource\":{\"attributes\":[{\"key\":\"process.pid\",\"value\":{\"intValue\":\"11\"}}]},"
        "  \"scopeProfiles\":[{\"profiles\":[{\"sampleType\":{\"typeStrindex\":1,\"unitStrindex\":2},"
        "   \"samples\":[{\"stackIndex\":1,\"values\":[7]}]}]}]}],"
        " \"dictionary\":{\"stringTable\":[\"\",\"samples\",\"count\",\"hot\",\"thread.name\"],"
        "  \"functionTable\":[{},{\"nameStrindex\":3}],"
        "  \"locationTable\":[{},{\"lines\":[{\"functionIndex\":1}]}],"
        "  \"stackTable\":[{},{\"locationIndices\":[1]}],"
        "  \"linkTable\":[{},{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\"}],"
        "  \"attributeTable\":[{},{\"keyStrindex\":4,\"value\":{\"stringValue\":\"w\"}}]}}";
    ignis_profile *p = NULL;
    ig_err err;
    assert_int_equal(ig_otlp_profiles_read_json((const uint8_t *)json, strlen(json), &p, &err), 0);
    assert_int_equal(ignis_profile_num_values(p), 1);
    assert_int_equal(ignis_profile_total(p, 0), 5 + 5 + 3 + 7);
    assert_int_equal(ignis_profile_num_samples(p), 3); /* the two identical Samples merged */
    bool merged = false;
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        const char *t = ignis_profile_label_str(p, s.labels, "thread");
        const char *tr = ignis_profile_label_str(p, s.labels, "trace_id");
        int64_t pid = 0;
        assert_true(ignis_profile_label_num(p, s.labels, "process.pid", &pid));
        if (t) {
            assert_int_equal(s.values[0], 10);
            assert_string_equal(tr, "0102030405060708090a0b0c0d0e0f10");
            assert_string_equal(ignis_profile_label_str(p, s.labels, "span_id"), "0102030405060708");
            assert_int_equal(pid, 10);
            merged = true;
        }
    }
    assert_true(merged);
    ignis_profile_free(p);
}

/* U+0000 is valid UTF-8, so any string of a request may hold it; the
 * model's strings are C strings, so the decoder keeps such a string whole
 * with the NUL shown as \u0000 (as it does in the string table), in
 * attribute values, resource attribute keys, comments and drop_frames,
 * never cut into a shorter one.  Read as protobuf and as OTLP/JSON. */
static void test_decode_keeps_nul(void **state)
{
    (void)state;
    const char *json =
        "{\"resourceProfiles\":["
        " {\"resource\":{\"attributes\":[{\"key\":\"pid\\u0000x\",\"value\":{\"intValue\":\"10\"}}]},"
        "  \"scopeProfiles\":[{\"profiles\":[{\"sampleType\":{\"typeStrindex\":1,\"unitStrindex\":2},"
        "   \"attributeIndices\":[3,4],"
        "   \"samples\":[{\"stackIndex\":1,\"attributeIndices\":[1],\"values\":[\"5\"]},"
        "                {\"stackIndex\":1,\"attributeIndices\":[2],\"values\":[\"7\"]}]}]}]},"
        " {\"resource\":{\"attributes\":[{\"key\":\"pid\",\"value\":{\"intValue\":\"11\"}}]},"
        "  \"scopeProfiles\":[{\"profiles\":[{\"sampleType\":{\"typeStrindex\":1,\"unitStrindex\":2},"
        "   \"samples\":[{\"stackIndex\":1,\"values\":[1]}]}]}]}],"
        " \"dictionary\":{\"stringTable\":[\"\",\"samples\",\"count\",\"hot\",\"thread.name\",\"pprof.profile.comment\","
        "  \"pprof.profile.drop_frames\"],"
        "  \"functionTable\":[{},{\"nameStrindex\":3}],"
        "  \"locationTable\":[{},{\"lines\":[{\"functionIndex\":1}]}],"
        "  \"stackTable\":[{},{\"locationIndices\":[1]}],"
        "  \"attributeTable\":[{},{\"keyStrindex\":4,\"value\":{\"stringValue\":\"w\\u0000x\"}},"
        "   {\"keyStrindex\":4,\"value\":{\"stringValue\":\"w\"}},"
        "   {\"keyStrindex\":5,\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"c\\u0000d\"}]}}},"
        "   {\"keyStrindex\":6,\"value\":{\"stringValue\":\"^a\\u0000b$\"}}]}}";
    ig_strbuf pb = IG_STRBUF_INIT;
    ig_err err;
    assert_int_equal(ig_pbjson_to_pb(&REQ(descriptor), json, strlen(json), &pb, &err), 0);
    for (int as_json = 0; as_json < 2; as_json++) {
        ignis_profile *p = NULL;
        int rc = as_json ? ig_otlp_profiles_read_json((const uint8_t *)json, strlen(json), &p, &err)
                         : ig_otlp_profiles_read((const uint8_t *)pb.data, pb.len, &p, &err);
        if (rc)
            fail_msg("%s: %s", as_json ? "json" : "protobuf", err.msg);
        assert_int_equal(ignis_profile_num_samples(p), 3);
        size_t seen = 0;
        for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
            ignis_sample s = ignis_profile_sample(p, i);
            const char *t = ignis_profile_label_str(p, s.labels, "thread");
            int64_t pid = 0;
            if (s.values[0] == 5) {
                assert_string_equal(t, "w\\u0000x"); /* not "w", the other sample's */
                assert_true(ignis_profile_label_num(p, s.labels, "pid\\u0000x", &pid));
                assert_int_equal(pid, 10);
                seen++;
            } else if (s.values[0] == 7) {
                assert_string_equal(t, "w");
                seen++;
            }
        }
        assert_int_equal(seen, 2);
        assert_int_equal(ignis_profile_num_comments(p), 1);
        assert_string_equal(ignis_profile_string(p, ignis_profile_comment(p, 0)), "c\\u0000d");
        assert_string_equal(ignis_profile_string(p, ignis_profile_drop_frames(p)), "^a\\u0000b$");
        ignis_profile_free(p);
    }
    ig_sb_free(&pb);
}

/* Builds a request from JSON and expects the decoder to refuse it with
 * an error containing `why`. */
static void expect_refused(const char *json, const char *why)
{
    ignis_profile *p = NULL;
    ig_err err;
    int rc = ig_otlp_profiles_read_json((const uint8_t *)json, strlen(json), &p, &err);
    if (rc == 0)
        fail_msg("accepted: %s", json);
    assert_null(p);
    assert_null(strchr(err.msg, '\n'));
    if (!strstr(err.msg, why))
        fail_msg("error '%s' does not say '%s'", err.msg, why);
}

#define PROFILE_WITH(samples) \
    "{\"resourceProfiles\":[{\"scopeProfiles\":[{\"profiles\":[{\"sampleType\":{},\"samples\":[" samples "]}]}]}],"

static void test_decode_refuses(void **state)
{
    (void)state;
    const char *dict = "\"dictionary\":{\"stringTable\":[\"\"],\"stackTable\":[{},{\"locationIndices\":[5]}]}}";
    char buf[1024];
    snprintf(buf, sizeof buf, PROFILE_WITH("{\"stackIndex\":9,\"values\":[1]}") "%s", dict);
    expect_refused(buf, "stack index 9 out of range (2 stacks)");
    snprintf(buf, sizeof buf, PROFILE_WITH("{\"stackIndex\":1,\"values\":[1]}") "%s", dict);
    expect_refused(buf, "stack 1: location index 5 out of range (0 locations)");
    snprintf(buf, sizeof buf, PROFILE_WITH("{\"stackIndex\":0,\"attributeIndices\":[3],\"values\":[1]}") "%s", dict);
    expect_refused(buf, "attribute index 3 out of range");
    snprintf(buf, sizeof buf, PROFILE_WITH("{\"linkIndex\":-1,\"values\":[1]}") "%s", dict);
    expect_refused(buf, "link index -1 out of range");
    expect_refused(PROFILE_WITH("{\"values\":[1]}") "\"dictionary\":{\"stringTable\":[\"x\"]}}",
                   "string_table[0] must be \"\"");
    expect_refused("{\"resourceProfiles\":[],\"dictionary\":{\"stringTable\":[\"\"]}}", "holds no profile");
    expect_refused(PROFILE_WITH("{\"values\":[\"9223372036854775807\"]},{\"values\":[\"1\"]}")
                   "\"dictionary\":{\"stringTable\":[\"\"]}}",
                   "values too large");
    expect_refused("{\"resourceProfiles\":[{\"scopeProfiles\":\"no\"}]}", "malformed OTLP/JSON: scopeProfiles must be an array");
    expect_refused("{\"resourceProfiles\":[", "malformed OTLP/JSON");
    expect_refused(PROFILE_WITH("{\"stackIndex\":\"x\"}") "\"dictionary\":{}}", "stackIndex must be an integer");
    /* a link whose ids have the wrong sizes */
    expect_refused(PROFILE_WITH("{\"linkIndex\":1,\"values\":[1]}")
                   "\"dictionary\":{\"stringTable\":[\"\"],\"linkTable\":[{},{\"traceId\":\"0102\",\"spanId\":\"01\"}]}}",
                   "link 1: trace id of 2 bytes");
}

/* ---- protobuf built by hand ------------------------------------------------------------------------ */

static void pb_varint(ig_strbuf *b, uint64_t v)
{
    do {
        ig_sb_putc(b, (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
        v >>= 7;
    } while (v);
}

static void pb_len(ig_strbuf *b, int field, const ig_strbuf *payload)
{
    pb_varint(b, (uint64_t)field << 3 | 2);
    pb_varint(b, payload->len);
    ig_sb_append(b, payload->data ? payload->data : "", payload->len);
}

/* A request with one sample (stack 1 when the dictionary has stacks,
 * attribute 1 when attr, value 1) around the dictionary bytes dict. */
static void request_around(const ig_strbuf *dict, bool attr, ig_strbuf *req)
{
    ig_strbuf sample = IG_STRBUF_INIT, prof = IG_STRBUF_INIT, scope = IG_STRBUF_INIT, rp = IG_STRBUF_INIT;
    ig_sb_append(&sample, attr ? "\x12\x01\x01" : "\x08\x01", attr ? 3 : 2); /* attribute_indices [1] / stack 1 */
    ig_sb_append(&sample, "\x22\x01\x01", 3);                                  /* values [1] */
    pb_len(&prof, 2, &sample);
    pb_len(&scope, 2, &prof);
    pb_len(&rp, 2, &scope);
    pb_len(req, 1, &rp);
    pb_len(req, 2, dict);
    ig_sb_free(&sample), ig_sb_free(&prof), ig_sb_free(&scope), ig_sb_free(&rp);
}

/* An attribute value nested 40 levels deep is refused before protobuf-c
 * recurses into it (OTLP/JSON stops at 64 levels of JSON already). */
static void test_decode_refuses_deep_values(void **state)
{
    (void)state;
    ig_strbuf any = IG_STRBUF_INIT, tmp = IG_STRBUF_INIT, kvu = IG_STRBUF_INIT, dict = IG_STRBUF_INIT;
    ig_strbuf req = IG_STRBUF_INIT;
    ig_sb_append(&any, "\x18\x01", 2); /* AnyValue{int_value: 1} */
    for (int i = 0; i < 40; i++) {      /* AnyValue{array_value: ArrayValue{values: [any]}} */
        ig_sb_reset(&tmp);
        pb_len(&tmp, 1, &any);
        ig_sb_reset(&any);
        pb_len(&any, 5, &tmp);
    }
    ig_sb_append(&kvu, "\x08\x01", 2); /* key_strindex 1 */
    pb_len(&kvu, 2, &any);
    ig_sb_append(&dict, "\x2a\x00\x2a\x01k\x32\x00", 7); /* strings "", "k"; attribute 0 */
    pb_len(&dict, 6, &kvu);
    request_around(&dict, true, &req);
    ignis_profile *p = NULL;
    ig_err err;
    assert_int_equal(ig_otlp_profiles_read((const uint8_t *)req.data, req.len, &p, &err), -1);
    if (!strstr(err.msg, "attribute 1: invalid or nested deeper than 32 levels"))
        fail_msg("%s", err.msg);
    ig_sb_free(&any), ig_sb_free(&tmp), ig_sb_free(&kvu), ig_sb_free(&dict), ig_sb_free(&req);
}

/* A location of a million empty lines (two wire bytes each) would cost
 * protobuf-c some 100 MB: refused by the arena's budget. */
static void test_decode_budget(void **state)
{
    (void)state;
    ig_strbuf loc = IG_STRBUF_INIT, dict = IG_STRBUF_INIT, req = IG_STRBUF_INIT;
    for (size_t i = 0; i < 1000000; i++)
        ig_sb_append(&loc, "\x1a\x00", 2); /* Location.lines: an empty Line */
    ig_sb_append(&dict, "\x2a\x00\x12\x00", 4); /* string ""; location 0 */
    pb_len(&dict, 2, &loc);                      /* location 1 */
    ig_sb_append(&dict, "\x3a\x00\x3a\x03\x0a\x01\x01", 7); /* stacks {}, {[1]} */
    request_around(&dict, false, &req);
    ignis_profile *p = NULL;
    ig_err err;
    assert_int_equal(ig_otlp_profiles_read((const uint8_t *)req.data, req.len, &p, &err), -1);
    if (!strstr(err.msg, "location 1: decoding its 2000000 bytes needs more than"))
        fail_msg("%s", err.msg);
    ig_sb_free(&loc), ig_sb_free(&dict), ig_sb_free(&req);
}

/* ---- formats: sniffing and the registry -------------------------------------------------------------- */

static void test_sniffing(void **state)
{
    (void)state;
    ignis_profile *p = load("tests/data/go_cpu.pb.gz");
    ig_strbuf pb = IG_STRBUF_INIT, js = IG_STRBUF_INIT, pp = IG_STRBUF_INIT;
    ig_err err;
    ig_otlp_profiles_encode(p, NULL, &pb);
    ig_otlp_profiles_encode_json(p, NULL, &js);
    assert_int_equal(ig_pprof_write(p, &pp, &err), 0);
    char why[256];
    assert_true(ig_otlp_profiles_sniff((const uint8_t *)pb.data, pb.len, why, sizeof why));
    assert_true(ig_otlp_profiles_sniff_json((const uint8_t *)js.data, js.len, why, sizeof why));
    uint8_t *raw;
    size_t rawlen;
    assert_int_equal(ig_gunzip((const uint8_t *)pp.data, pp.len, &raw, &rawlen, 1 << 30, &err), 0);
    assert_false(ig_otlp_profiles_sniff(raw, rawlen, why, sizeof why)); /* pprof is not OTLP */
    assert_false(ig_otlp_profiles_sniff_json((const uint8_t *)"main;a 1\n", 9, why, sizeof why));
    free(raw);
    /* the registry reads both without being told */
    char dir[] = "/tmp/ig-otlp-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/p.otlp.pb", dir);
    assert_int_equal(ig_profile_save(p, path, NULL, NULL, &err), 0);
    ignis_profile *q = load(path);
    assert_int_equal(ignis_profile_total(q, 0), ignis_profile_total(p, 0));
    ignis_profile_free(q);
    unlink(path);
    snprintf(path, sizeof path, "%s/p.otlp.json", dir);
    assert_int_equal(ig_profile_save(p, path, NULL, NULL, &err), 0);
    q = load(path);
    assert_int_equal(ignis_profile_total(q, 1), ignis_profile_total(p, 1));
    ignis_profile_free(q);
    unlink(path);
    rmdir(dir);
    assert_string_equal(ig_format_for_path("x.otlp.pb"), "otlp");
    assert_string_equal(ig_format_for_path("x.otlp.json"), "otlp-json");
    assert_string_equal(ig_format_for_path("x.pb"), "pprof");
    ig_sb_free(&pb), ig_sb_free(&js), ig_sb_free(&pp);
    ignis_profile_free(p);
}

/* ---- pbjson ------------------------------------------------------------------------------------------- */

static void test_pbjson_ids_and_numbers(void **state)
{
    (void)state;
    const char *in = "{\"traceId\":\"0102030405060708090A0B0C0D0E0F10\",\"span_id\":\"a1a2a3a4a5a6a7a8\"}";
    ig_strbuf pb = IG_STRBUF_INIT, out = IG_STRBUF_INIT;
    ig_err err;
    const ProtobufCMessageDescriptor *d = &opentelemetry__proto__profiles__v1development__link__descriptor;
    assert_int_equal(ig_pbjson_to_pb(d, in, strlen(in), &pb, &err), 0);
    assert_int_equal(ig_pbjson_from_pb(d, (const uint8_t *)pb.data, pb.len, &out, &err), 0);
    assert_string_equal(out.data, "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"a1a2a3a4a5a6a7a8\"}");
    ig_sb_reset(&pb), ig_sb_reset(&out);
    const char *any = "{\"intValue\":\"-9223372036854775808\"}";
    d = &opentelemetry__proto__common__v1__any_value__descriptor;
    assert_int_equal(ig_pbjson_to_pb(d, any, strlen(any), &pb, &err), 0);
    assert_int_equal(ig_pbjson_from_pb(d, (const uint8_t *)pb.data, pb.len, &out, &err), 0);
    assert_string_equal(out.data, any);
    ig_sb_reset(&pb);
    const char *bytes = "{\"bytesValue\":\"aGVsbG8=\"}";
    assert_int_equal(ig_pbjson_to_pb(d, bytes, strlen(bytes), &pb, &err), 0);
    ig_sb_reset(&out);
    assert_int_equal(ig_pbjson_from_pb(d, (const uint8_t *)pb.data, pb.len, &out, &err), 0);
    assert_string_equal(out.data, bytes);
    ig_sb_reset(&pb);
    const char *range = "{\"stackIndex\":4294967296}";
    assert_int_equal(ig_pbjson_to_pb(&opentelemetry__proto__profiles__v1development__sample__descriptor, range,
                                     strlen(range), &pb, &err), -1);
    assert_non_null(strstr(err.msg, "stackIndex"));
    ig_sb_free(&pb), ig_sb_free(&out);
}

/* ---- the resource ------------------------------------------------------------------------------------------ */

static void test_container_id(void **state)
{
    (void)state;
    char id[65];
    const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char text[512];
    const char *forms[] = {"0::/system.slice/docker-%s.scope\n", "12:cpu:/docker/%s\n",
                           "0::/kubepods/burstable/pod1234/%s\n", "0::/system.slice/cri-containerd-%s.scope\n",
                           "0::/machine.slice/libpod-%s.scope/container\n", "1:name=systemd:/crio-%s.scope\n"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(text, sizeof text, forms[i], hex);
        memset(id, 0, sizeof id);
        if (!ig_container_id_from_cgroup(text, strlen(text), id))
            fail_msg("no id in %s", text);
        assert_string_equal(id, hex);
    }
    const char *none[] = {"0::/user.slice/user-1000.slice/session-2.scope\n", "0::/\n", "garbage",
                          "0::/docker/0123456789abcdef\n"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        assert_false(ig_container_id_from_cgroup(none[i], strlen(none[i]), id));
}

/* ---- the exporter's queue ----------------------------------------------------------------------------------- */

/* A collector that accepts connections and never answers. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static ignis_profile *small_profile(void)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    uint32_t loc = ignis_profile_location_for_function(p, ignis_profile_function_named(p, "f", NULL, 0),
                                                       IGNIS_FRAME_USER);
    int64_t v = 1;
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, &loc, 1), 0, &v);
    return p;
}

/* A collector that is down never blocks enqueue, memory stays at the
 * queue's size, and every interval is accounted for: sent, failed or
 * dropped. */
static void test_queue_bounded(void **state)
{
    (void)state;
    int port, fd = silent_listener(&port);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1development/profiles", port);
    ig_otlp_config cfg = {.url = url, .timeout_ms = 60000, .retry_base_ms = 10, .retry_max_ms = 10,
                          .retry_max_attempts = 1};
    ig_otlp_profiles_opts o = {.max_queue = 2};
    ig_err err;
    ig_otlp_profiles_exporter *x = ig_otlp_profiles_exporter_new(&cfg, &o, &err);
    assert_non_null(x);
    assert_int_equal(ig_otlp_profiles_enqueue(x, small_profile(), NULL), 0);
    ig_otlp_profiles_stats st;
    for (int i = 0; i < 2000; i++) { /* the thread takes it and hangs on the silent collector */
        ig_otlp_profiles_exporter_stats(x, &st);
        if (!st.queued)
            break;
        usleep(5000);
    }
    assert_int_equal(st.queued, 0);
    int dropped = 0;
    for (int i = 0; i < 4; i++)
        dropped += ig_otlp_profiles_enqueue(x, small_profile(), NULL);
    assert_int_equal(dropped, 2);
    ig_otlp_profiles_exporter_stats(x, &st);
    assert_int_equal(st.queued, 2);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(ig_otlp_profiles_flush(x, 50), -1); /* still hanging */
    ig_otlp_profiles_exporter_free(x, 50); /* cancels the post, drops the two waiting */
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_data_files),
        cmocka_unit_test(test_round_trip_everything),
        cmocka_unit_test(test_pprof_otlp_pprof),
        cmocka_unit_test(test_mapping_ids_kept),
        cmocka_unit_test(test_wire_layout),
        cmocka_unit_test(test_sample_ranges),
        cmocka_unit_test(test_decode_foreign),
        cmocka_unit_test(test_decode_keeps_nul),
        cmocka_unit_test(test_decode_refuses),
        cmocka_unit_test(test_decode_refuses_deep_values),
        cmocka_unit_test(test_decode_budget),
        cmocka_unit_test(test_sniffing),
        cmocka_unit_test(test_pbjson_ids_and_numbers),
        cmocka_unit_test(test_container_id),
        cmocka_unit_test(test_queue_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
