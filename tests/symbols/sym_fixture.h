/*
 * tests/symbols/sym_fixture.h — ground truth for the symbolizer tests.
 *
 * Runs a sample from samples/sym/ (built by samples/sym/build.mk) as a
 * child; it prints "NAME 0xADDR" lines for its functions and "map ..."
 * lines from its /proc/self/maps.  file offset = addr - start + pgoff,
 * computed exactly as the profiler engine does.  Source lines come from
 * the @markers in the sample's source.
 */
#ifndef TEST_SYM_FIXTURE_H
#define TEST_SYM_FIXTURE_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_MAX 64

typedef struct fx_map {
    uint64_t start, end, pgoff;
} fx_map;

typedef struct fx_sample {
    char names[FX_MAX][64];
    uint64_t addrs[FX_MAX];
    int nnames;
    fx_map maps[FX_MAX];
    int nmaps;
} fx_sample;

static const char *fx_build(void)
{
    const char *b = getenv("IGNIS_BUILD");
    return b && *b ? b : "build";
}

/* "$IGNIS_BUILD/samples/sym/NAME" into buf. */
static const char *fx_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/samples/sym/%s", fx_build(), name);
    return buf;
}

static int fx_run(const char *exe, fx_sample *s)
{
    memset(s, 0, sizeof *s);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s 10", exe);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[8192];
    while (fgets(line, sizeof line, p)) {
        fx_map m;
        char name[64];
        uint64_t a;
        if (sscanf(line, "map %" SCNx64 "-%" SCNx64 " %*s %" SCNx64, &m.start, &m.end, &m.pgoff) == 3) {
            if (s->nmaps < FX_MAX)
                s->maps[s->nmaps++] = m;
        } else if (sscanf(line, "%63s 0x%" SCNx64, name, &a) == 2 && s->nnames < FX_MAX) {
            snprintf(s->names[s->nnames], sizeof s->names[0], "%s", name);
            s->addrs[s->nnames++] = a;
        }
    }
    return pclose(p) == 0 && s->nmaps > 0 ? 0 : -1;
}

/* File offset of the named address, or UINT64_MAX. */
static uint64_t fx_offset(const fx_sample *s, const char *name)
{
    for (int i = 0; i < s->nnames; i++) {
        if (strcmp(s->names[i], name) != 0)
            continue;
        for (int j = 0; j < s->nmaps; j++)
            if (s->addrs[i] >= s->maps[j].start && s->addrs[i] < s->maps[j].end)
                return s->addrs[i] - s->maps[j].start + s->maps[j].pgoff;
    }
    return UINT64_MAX;
}

/* Line number (1-based) of the first line of file containing needle. */
static int fx_line_of(const char *file, const char *needle)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    char line[4096];
    int n = 0, found = -1;
    while (fgets(line, sizeof line, f)) {
        n++;
        if (strstr(line, needle)) {
            found = n;
            break;
        }
    }
    fclose(f);
    return found;
}

static int fx_ends_with(const char *s, const char *suffix)
{
    size_t a = s ? strlen(s) : 0, b = strlen(suffix);
    return s && a >= b && strcmp(s + a - b, suffix) == 0;
}

#endif
