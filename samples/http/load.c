/*
 * samples/http/load.c — a bounded load driver for the sample frontend.
 *
 * Sends COUNT sequential GET requests to a 127.0.0.1 URL over one
 * kept-alive libcurl handle (every K-th with fail=1 when --fail-every K,
 * every S-th with slow=1 when --slow-every S),
 * and prints "requests N ok N errors N max_ms X".  It refuses any host
 * other than 127.0.0.1 and more than a million requests.
 *
 *   usage: sample-load --url http://127.0.0.1:PORT/hello --count N [--fail-every K] [--slow-every S]
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

static long int_arg(const char *flag, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < lo || n > hi) {
        fprintf(stderr, "sample-load: %s: expected an integer in %ld..%ld, got '%s'\n", flag, lo, hi, v);
        exit(2);
    }
    return n;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    long count = 0, fail_every = 0, slow_every = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = int_arg("--count", argv[++i], 1, 1000000);
        else if (!strcmp(argv[i], "--fail-every") && i + 1 < argc)
            fail_every = int_arg("--fail-every", argv[++i], 0, 1000000);
        else if (!strcmp(argv[i], "--slow-every") && i + 1 < argc)
            slow_every = int_arg("--slow-every", argv[++i], 0, 1000000);
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: sample-load --url http://127.0.0.1:PORT/PATH --count N [--fail-every K] [--slow-every S]\n");
            return 0;
        } else {
            fprintf(stderr, "sample-load: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!url || strncmp(url, "http://127.0.0.1:", 17) || !count) {
        fprintf(stderr, "sample-load: --url http://127.0.0.1:PORT/... and --count N are required\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    long ok = 0, errors = 0;
    double max_ms = 0;
    for (long i = 1; i <= count; i++) {
        char full[1024];
        bool fail = fail_every && i % fail_every == 0;
        bool slow = slow_every && i % slow_every == 0;
        snprintf(full, sizeof full, "%s%sitems=%ld%s%s", url, strchr(url, '?') ? "&" : "?", i % 10 + 1,
                 fail ? "&fail=1" : "", slow ? "&slow=1" : "");
        curl_easy_setopt(curl, CURLOPT_URL, full);
        double t0 = now_ms();
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        double dt = now_ms() - t0;
        if (dt > max_ms)
            max_ms = dt;
        if (status == 200 || (fail && status == 502))
            ok++;
        else
            errors++;
    }
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    printf("requests %ld ok %ld errors %ld max_ms %.1f\n", count, ok, errors, max_ms);
    return errors ? 1 : 0;
}
