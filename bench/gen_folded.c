/*
 * bench/gen_folded.c — writes the folded-stacks benchmark input to stdout.
 *
 * 200,000 distinct stacks, 30 frames deep, drawn from 20,000 function
 * names of 16 characters ("mod123_func04567"), about 100 MB.  Fully
 * deterministic (fixed xorshift seed).  Like the output of FlameGraph's
 * stackcollapse scripts, consecutive stacks are related: each stack
 * copies a prefix of the previous one and draws the rest at random (the
 * split depth is uniform in 2..29), so prefixes are shared the way they are
 * in real, sorted folded files.  Distinctness is enforced with a hash set.
 * Options: -n STACKS -d DEPTH -f FUNCTIONS.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t hash_stack(const uint32_t *f, int depth)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < depth; i++)
        h = (h ^ f[i]) * 1099511628211ULL;
    return h | 1; /* 0 marks an empty slot */
}

/* Inserts h into the open-addressing set; 0 if it was already there. */
static int insert_hash(uint64_t *set, size_t cap, uint64_t h)
{
    size_t i = h & (cap - 1);
    while (set[i]) {
        if (set[i] == h)
            return 0;
        i = (i + 1) & (cap - 1);
    }
    set[i] = h;
    return 1;
}

int main(int argc, char **argv)
{
    long nstacks = 200000, depth = 30, nfuncs = 20000;
    int c;
    while ((c = getopt(argc, argv, "n:d:f:")) != -1) {
        long v = atol(optarg);
        if (v <= 0) {
            fprintf(stderr, "gen_folded: -%c needs a positive number\n", c);
            return 2;
        }
        if (c == 'n')
            nstacks = v;
        else if (c == 'd')
            depth = v > 1000 ? 1000 : v;
        else if (c == 'f')
            nfuncs = v;
        else
            return 2;
    }
    size_t cap = 1;
    while (cap < (size_t)nstacks * 2)
        cap <<= 1;
    uint64_t *set = calloc(cap, sizeof *set);
    uint32_t *frames = calloc((size_t)depth, sizeof *frames);
    char (*names)[24] = malloc((size_t)nfuncs * sizeof *names);
    if (!set || !frames || !names)
        return 1;
    for (long i = 0; i < nfuncs; i++)
        snprintf(names[i], sizeof names[i], "mod%03ld_func%05ld", i % 1000, i % 100000);
    for (long i = 0; i < depth; i++)
        frames[i] = (uint32_t)(next_random() % (uint64_t)nfuncs);
    static char line[1 << 16];
    for (long n = 0; n < nstacks;) {
        long split = depth > 3 ? 2 + (long)(next_random() % (uint64_t)(depth - 2)) : 0;
        for (long i = split; i < depth; i++)
            frames[i] = (uint32_t)(next_random() % (uint64_t)nfuncs);
        if (!insert_hash(set, cap, hash_stack(frames, (int)depth)))
            continue;
        size_t len = 0;
        for (long i = 0; i < depth; i++) {
            size_t l = strlen(names[frames[i]]);
            memcpy(line + len, names[frames[i]], l);
            len += l;
            line[len++] = i + 1 < depth ? ';' : ' ';
        }
        len += (size_t)snprintf(line + len, sizeof line - len, "%u\n", (unsigned)(1 + next_random() % 1000));
        fwrite(line, 1, len, stdout);
        n++;
    }
    free(set);
    free(frames);
    free(names);
    return fflush(stdout) ? 1 : 0;
}
