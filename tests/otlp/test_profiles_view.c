/*
 * tests/otlp/test_profiles_view.c — key E of `ignis view` sends the view
 * (zoom and filters applied) to the OTLP endpoint of the environment,
 * through libignis-net.so as the command loads it ($IGNIS_NET_LIB).
 *
 * The collector is a libmicrohttpd server in the test that keeps the last
 * request body; the body is decoded and its samples checked against the
 * view that was on screen.  The '?' screen lists the key.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exporters/otlp_profiles.h"
#include "tests/formats/helpers.h"
#include "tests/viewer/helpers.h"
#include "viewer/model.h"
#include "viewer/screen.h"

typedef struct collector {
    struct MHD_Daemon *d;
    pthread_mutex_t lock;
    ig_strbuf body; /* the last request */
    int posts;
    unsigned status;
} collector;

typedef struct request {
    ig_strbuf body;
} request;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **state)
{
    (void)method, (void)version;
    collector *col = cls;
    request *r = *state;
    if (!r) {
        *state = calloc(1, sizeof *r);
        return MHD_YES;
    }
    if (*size) {
        ig_sb_append(&r->body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&col->lock);
    ig_sb_reset(&col->body);
    ig_sb_append(&col->body, r->body.data ? r->body.data : "", r->body.len);
    col->posts++;
    unsigned status = strcmp(url, "/v1development/profiles") ? 404 : col->status;
    pthread_mutex_unlock(&col->lock);
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void on_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode t)
{
    (void)cls, (void)c, (void)t;
    request *r = *state;
    if (r) {
        ig_sb_free(&r->body);
        free(r);
    }
    *state = NULL;
}

static int start(collector *col)
{
    memset(col, 0, sizeof *col);
    pthread_mutex_init(&col->lock, NULL);
    col->status = 200;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    col->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, col,
                              MHD_OPTION_SOCK_ADDR, &a, MHD_OPTION_NOTIFY_COMPLETED, on_done, col, MHD_OPTION_END);
    assert_non_null(col->d);
    return MHD_get_daemon_info(col->d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void stop(collector *col)
{
    MHD_stop_daemon(col->d);
    ig_sb_free(&col->body);
    pthread_mutex_destroy(&col->lock);
}

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("IGNIS_BUILD");
    char lib[512];
    snprintf(lib, sizeof lib, "%s/libignis-net.so", b && *b ? b : "build");
    setenv("IGNIS_NET_LIB", lib, 1);
    unsetenv("OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT");
    unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");
    unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
    setenv("OTEL_SERVICE_NAME", "view-test", 1);
    return 0;
}

static const char *const lines[] = {"main;a;b 50", "main;a;c 30", "main;d 20", NULL};

static void test_send_the_zoomed_view(void **state)
{
    (void)state;
    collector col;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", start(&col));
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
    ignis_profile *p = test_profile(lines);
    ig_err err;
    ig_viewer *v = ig_viewer_new(p, NULL, "t", &err);
    assert_non_null(v);
    ig_screen s;
    ig_screen_init(&s, 80, 24, 1);
    ig_viewer_render(v, &s);
    const char *zoom[] = {"k", "k", "\n"}; /* zoom into a (80 of 100) */
    for (size_t i = 0; i < 3; i++)
        ig_viewer_key(v, zoom[i][0] == '\n' ? IG_KEY_ENTER : zoom[i][0]);
    ig_viewer_render(v, &s);
    ig_viewer_key(v, 'E');
    char want[160];
    snprintf(want, sizeof want, "sent the view to %s/v1development/profiles", url);
    assert_string_equal(v->message, want);
    assert_int_equal(v->message_is_error, 0);
    pthread_mutex_lock(&col.lock);
    assert_int_equal(col.posts, 1);
    ignis_profile *sent = NULL;
    assert_int_equal(ig_otlp_profiles_read((const uint8_t *)col.body.data, col.body.len, &sent, &err), 0);
    pthread_mutex_unlock(&col.lock);
    assert_int_equal(ignis_profile_total(sent, 0), 80); /* the zoom, not the whole profile */
    assert_int_equal(value_of_stack(sent, "main;a;b", 0), 50);
    assert_int_equal(value_of_stack(sent, "main;a;c", 0), 30);
    assert_int_equal(value_of_stack(sent, "main;d", 0), 0);
    ignis_profile_free(sent);
    ig_viewer_free(v);
    ig_screen_free(&s);
    ignis_profile_free(p);
    stop(&col);
}

static void test_send_error_in_the_message_line(void **state)
{
    (void)state;
    collector col;
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/profiles", start(&col));
    setenv("OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT", url, 1);
    ignis_profile *p = test_profile(lines);
    ig_err err;
    ig_viewer *v = ig_viewer_new(p, NULL, "t", &err);
    ig_viewer_key(v, 'E');
    assert_int_equal(v->message_is_error, 1);
    if (!strstr(v->message, "HTTP 404: the collector has no OTLP profiles endpoint"))
        fail_msg("message: %s", v->message);
    unsetenv("OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT");
    ig_viewer_free(v);
    ignis_profile_free(p);
    stop(&col);
}

/* The key is listed where users look for keys: the '?' screen. */
static void test_help_lists_the_key(void **state)
{
    (void)state;
    ignis_profile *p = test_profile(lines);
    ig_err err;
    ig_viewer *v = ig_viewer_new(p, NULL, "t", &err);
    assert_non_null(v);
    ig_screen s;
    ig_screen_init(&s, 80, 24, 1);
    ig_viewer_key(v, '?');
    ig_viewer_render(v, &s);
    int found = 0;
    for (int r = 0; r < s.h && !found; r++) {
        char *row = ig_screen_row(&s, r);
        found = strstr(row, "  E   ") && strstr(row, "OTLP collector");
        free(row);
    }
    assert_true(found);
    ig_viewer_free(v);
    ig_screen_free(&s);
    ignis_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_the_zoomed_view),
        cmocka_unit_test(test_send_error_in_the_message_line),
        cmocka_unit_test(test_help_lists_the_key),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
