/*
 * tests/flame/test_svg.c — the SVG flame graph writer on small profiles
 * whose layout is known exactly.
 *
 * The default width is 1200 px with 10 px padding each side, so a frame
 * holding fraction f of the total is 1180*f px wide.  Frames are found in
 * the SVG text by their <title> (escaped name, then a newline) and their
 * rect/text attributes are parsed back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "exporters/formats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building profiles ---------------------------------------------------- */

/* Adds a sample; `stack` is root-first "main;a;b", a frame ending in
 * "_[k]" is kernel, "_[j]" JIT.  values: one per value type. */
static void add_values(ignis_profile *p, const char *stack, const int64_t *values)
{
    uint32_t locs[64];
    size_t n = 0;
    char *copy = strdup(stack), *save = NULL;
    for (char *f = strtok_r(copy, ";", &save); f; f = strtok_r(NULL, ";", &save)) {
        ignis_frame_kind kind = IGNIS_FRAME_USER;
        size_t len = strlen(f);
        if (len > 4 && !strcmp(f + len - 4, "_[k]"))
            kind = IGNIS_FRAME_KERNEL, f[len - 4] = '\0';
        else if (len > 4 && !strcmp(f + len - 4, "_[j]"))
            kind = IGNIS_FRAME_JIT, f[len - 4] = '\0';
        uint32_t fn = ignis_profile_function_named(p, f, "", 0);
        locs[n++] = ignis_profile_location_for_function(p, fn, kind);
    }
    free(copy);
    /* leaf first */
    for (size_t i = 0; i < n / 2; i++) {
        uint32_t t = locs[i];
        locs[i] = locs[n - 1 - i];
        locs[n - 1 - i] = t;
    }
    uint32_t st = ignis_profile_add_stack(p, locs, n);
    assert_true(st > 0);
    assert_int_equal(ignis_profile_add_sample(p, st, 0, values), 0);
}

static void add(ignis_profile *p, const char *stack, int64_t v)
{
    add_values(p, stack, &v);
}

static ignis_profile *new_profile(void)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    return p;
}

#define ESC_NAME "x<y>&'z\""
#define ESC_XML "x&lt;y&gt;&amp;&#39;z&quot;"

/* main 100 = a 60 + b 30 + x<y>&'z" 10 */
static ignis_profile *simple_profile(int64_t a, int64_t b, int64_t esc)
{
    ignis_profile *p = new_profile();
    add(p, "main;a", a);
    add(p, "main;b", b);
    add(p, "main;" ESC_NAME, esc);
    return p;
}

static char *render(const ignis_profile *p, const ig_write_opts *o)
{
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_err err = {{0}};
    int rc = ig_svg_write(p, o, &sb, &err);
    if (rc)
        fail_msg("ig_svg_write: %s", err.msg);
    return ig_sb_detach(&sb, NULL);
}

static ig_write_opts default_opts(void)
{
    return (ig_write_opts){.tree = {.value = -1}, .minwidth = -1};
}

/* ---- parsing frames back ---------------------------------------------------- */

typedef struct frame_info {
    double x, y, w;
    long long v;
    unsigned rgb[3];
    char label[256];
    char title[512];
    int has_label;
} frame_info;

static double attr_num(const char *from, const char *end, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *s = strstr(from, key);
    assert_non_null(s);
    assert_true(s < end);
    return strtod(s + strlen(key), NULL);
}

/* Number of frames titled `xml_name`; fills *fi from the first. */
static int find_frame(const char *svg, const char *xml_name, frame_info *fi)
{
    char key[300];
    snprintf(key, sizeof key, "<title>%s\n", xml_name);
    int count = 0;
    for (const char *s = strstr(svg, key); s; s = strstr(s + 1, key)) {
        if (count++ || !fi)
            continue;
        const char *g = s;
        while (g > svg && strncmp(g, "<g v=\"", 6))
            g--;
        const char *end = strstr(s, "</g>");
        assert_non_null(end);
        memset(fi, 0, sizeof *fi);
        fi->v = strtoll(g + 6, NULL, 10);
        const char *te = strstr(s, "</title>");
        size_t tl = (size_t)(te - (s + 7));
        snprintf(fi->title, sizeof fi->title, "%.*s", (int)tl, s + 7);
        const char *rect = strstr(s, "<rect");
        fi->x = attr_num(rect, end, "x");
        fi->y = attr_num(rect, end, "y");
        fi->w = attr_num(rect, end, "width");
        const char *fill = strstr(rect, "fill=\"#");
        assert_non_null(fill);
        assert_int_equal(sscanf(fill + 7, "%2x%2x%2x", &fi->rgb[0], &fi->rgb[1], &fi->rgb[2]), 3);
        const char *text = strstr(rect, "<text");
        if (text && text < end) {
            const char *gt = strchr(text, '>') + 1;
            const char *close = strstr(gt, "</text>");
            snprintf(fi->label, sizeof fi->label, "%.*s", (int)(close - gt), gt);
            fi->has_label = 1;
        }
    }
    return count;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
        n++;
    return n;
}

/* ---- tests ---------------------------------------------------------------- */

static void frames_have_widths_proportional_to_values(void **state)
{
    (void)state;
    ignis_profile *p = simple_profile(60, 30, 10);
    ig_write_opts o = default_opts();
    char *svg = render(p, &o);
    frame_info root, m, a, b, e;
    assert_int_equal(find_frame(svg, "all", &root), 1);
    assert_int_equal(find_frame(svg, "main", &m), 1);
    assert_int_equal(find_frame(svg, "a", &a), 1);
    assert_int_equal(find_frame(svg, "b", &b), 1);
    assert_int_equal(find_frame(svg, ESC_XML, &e), 1);
    assert_int_equal(root.v, 100);
    assert_int_equal(a.v, 60);
    assert_true(fabs(root.w - 1180) < 0.051);
    assert_true(fabs(m.w - 1180) < 0.051);
    assert_true(fabs(a.w - 708) < 0.051);
    assert_true(fabs(b.w - 354) < 0.051);
    assert_true(fabs(e.w - 118) < 0.051);
    /* children sorted by name, packed from the parent's left edge */
    assert_true(fabs(a.x - 10) < 0.051);
    assert_true(fabs(b.x - 718) < 0.051);
    assert_true(fabs(e.x - 1072) < 0.051);
    /* flame: deeper frames are higher up (smaller y), one row apart */
    assert_true(fabs((root.y - m.y) - 16) < 0.01);
    assert_true(fabs((m.y - a.y) - 16) < 0.01);
    assert_true(fabs(a.y - b.y) < 0.01);
    /* tooltip: value, unit and percent */
    assert_non_null(strstr(a.title, "60 samples (60.00%)"));
    assert_non_null(strstr(svg, "width=\"1200\""));
    assert_null(strstr(svg, "class=\"key\"")); /* user frames only: no key */
    free(svg);
    ignis_profile_free(p);
}

static void names_are_escaped(void **state)
{
    (void)state;
    ignis_profile *p = simple_profile(60, 30, 10);
    ig_write_opts o = default_opts();
    o.title = "A & <B>";
    char *svg = render(p, &o);
    assert_null(strstr(svg, ESC_NAME));
    assert_null(strstr(svg, "A & <B>"));
    assert_non_null(strstr(svg, "A &amp; &lt;B&gt;"));
    frame_info e;
    assert_int_equal(find_frame(svg, ESC_XML, &e), 1);
    assert_true(e.has_label); /* 118 px holds 8 characters */
    assert_string_equal(e.label, ESC_XML);
    free(svg);
    ignis_profile_free(p);
}

static void title_defaults_and_override(void **state)
{
    (void)state;
    ignis_profile *p = simple_profile(60, 30, 10);
    ig_write_opts o = default_opts();
    char *svg = render(p, &o);
    assert_non_null(strstr(svg, "<text id=\"title\" x=\"600\" y=\"24\">Flame Graph</text>"));
    free(svg);
    o.title = "CPU of checkout";
    o.width = 800;
    svg = render(p, &o);
    assert_non_null(strstr(svg, ">CPU of checkout</text>"));
    assert_non_null(strstr(svg, "width=\"800\""));
    frame_info a;
    find_frame(svg, "a", &a);
    assert_true(fabs(a.w - 780 * 0.6) < 0.051);
    free(svg);
    ignis_profile_free(p);
}

static void inverted_puts_root_on_top(void **state)
{
    (void)state;
    ignis_profile *p = simple_profile(60, 30, 10);
    ig_write_opts o = default_opts();
    o.inverted = 1;
    char *svg = render(p, &o);
    frame_info root, m, a;
    find_frame(svg, "all", &root);
    find_frame(svg, "main", &m);
    find_frame(svg, "a", &a);
    assert_true(root.y < m.y && m.y < a.y);
    assert_true(fabs((a.y - root.y) - 32) < 0.01);
    assert_non_null(strstr(svg, ">Icicle Graph</text>"));
    free(svg);
    ignis_profile_free(p);
}

static void diff_colours_growth_red_and_shrink_blue(void **state)
{
    (void)state;
    ignis_profile *now = simple_profile(60, 30, 10);
    ignis_profile *base = new_profile();
    /* base: a 30%, b 60%, x 10% (of 200 samples) */
    add(base, "main;a", 60);
    add(base, "main;b", 120);
    add(base, "main;" ESC_NAME, 20);
    ig_write_opts o = default_opts();
    o.diff_base = base;
    char *svg = render(now, &o);
    frame_info a, b, e, m;
    find_frame(svg, "a", &a);
    find_frame(svg, "b", &b);
    find_frame(svg, ESC_XML, &e);
    find_frame(svg, "main", &m);
    /* widths come from the new profile */
    assert_true(fabs(a.w - 708) < 0.051);
    /* a grew from 30% to 60%: full red, the strongest change */
    assert_int_equal(a.rgb[0], 255);
    assert_int_equal(a.rgb[1], 40);
    assert_int_equal(a.rgb[2], 40);
    /* b shrank from 60% to 30%: full blue */
    assert_int_equal(b.rgb[0], 40);
    assert_int_equal(b.rgb[1], 40);
    assert_int_equal(b.rgb[2], 255);
    /* labels on the dark blue are white, on the red black */
    assert_non_null(strstr(svg, "<g v=\"30\" class=\"w\"><title>b\n"));
    assert_non_null(strstr(svg, "<g v=\"60\"><title>a\n"));
    /* unchanged share: neutral grey, not red or blue */
    assert_true(e.rgb[0] == e.rgb[2] && e.rgb[0] > 200);
    assert_true(m.rgb[0] == m.rgb[2]);
    /* tooltip shows both values and the delta */
    assert_non_null(strstr(a.title, "new: 60 samples (60.00%), base: 60 samples (30.00%)"));
    assert_non_null(strstr(b.title, "new: 30 samples (30.00%), base: 120 samples (60.00%)"));
    assert_non_null(strstr(b.title, "delta: -90 samples (-30.00 points"));
    assert_non_null(strstr(svg, ">Differential Flame Graph</text>"));
    free(svg);

    /* intensity is relative to the largest change: a +5 points is a
     * lighter red than b's -10 points is blue */
    ignis_profile *now2 = simple_profile(35, 50, 15);
    svg = render(now2, &o);
    frame_info a2, b2;
    find_frame(svg, "a", &a2);
    find_frame(svg, "b", &b2);
    assert_true(a2.rgb[0] > a2.rgb[1] + 60 && a2.rgb[1] == a2.rgb[2]); /* red */
    assert_true(a2.rgb[1] > 100 && a2.rgb[1] < 180);                   /* but pale */
    assert_int_equal(b2.rgb[2], 255);                                   /* full blue */
    assert_int_equal(b2.rgb[0], 40);
    free(svg);
    ignis_profile_free(now2);
    ignis_profile_free(now);
    ignis_profile_free(base);
}

static void minwidth_hides_narrow_frames_and_keeps_total(void **state)
{
    (void)state;
    ignis_profile *p = new_profile();
    add(p, "main;big", 99990);
    add(p, "main;tiny;deeper", 10); /* 0.118 px at 1180 px */
    ig_write_opts o = default_opts();
    char *svg = render(p, &o);
    frame_info t, root;
    assert_int_equal(find_frame(svg, "tiny", &t), 1); /* default 0.1 px keeps it */
    assert_int_equal(find_frame(svg, "deeper", NULL), 1);
    assert_null(strstr(svg, "hidden)"));
    free(svg);

    o.minwidth = 1;
    svg = render(p, &o);
    assert_int_equal(find_frame(svg, "tiny", NULL), 0);
    assert_int_equal(find_frame(svg, "deeper", NULL), 0);
    assert_int_equal(find_frame(svg, "big", NULL), 1);
    assert_int_equal(find_frame(svg, "all", &root), 1);
    assert_int_equal(root.v, 100000);
    assert_true(fabs(root.w - 1180) < 0.051);
    assert_non_null(strstr(svg, "3 frames (narrower than 1px hidden)"));
    free(svg);

    /* the same with a filter (the tree keeps everything, the walk prunes) */
    o.tree.ignore = "^nothing$";
    svg = render(p, &o);
    assert_int_equal(find_frame(svg, "tiny", NULL), 0);
    assert_int_equal(find_frame(svg, "big", NULL), 1);
    free(svg);
    ignis_profile_free(p);
}

static void labels_are_truncated_to_fit(void **state)
{
    (void)state;
    ignis_profile *p = new_profile();
    add(p, "main;a_really_quite_long_function_name_for_a_narrow_frame", 5);
    add(p, "main;z", 95);
    ig_write_opts o = default_opts();
    char *svg = render(p, &o);
    frame_info f, z;
    find_frame(svg, "a_really_quite_long_function_name_for_a_narrow_frame", &f);
    /* 59 px: floor((59 - 6) / 7.08) = 7 characters */
    assert_true(f.has_label);
    assert_string_equal(f.label, "a_rea..");
    find_frame(svg, "z", &z);
    assert_string_equal(z.label, "z");
    free(svg);
    ignis_profile_free(p);
}

static void colours_follow_kind_and_name(void **state)
{
    (void)state;
    ignis_profile *p = new_profile();
    add(p, "main;work;do_syscall_64_[k]", 40);
    add(p, "main;Interpreter::run_[j]", 30);
    add(p, "other;work", 30);
    /* an inlined frame: a location whose lines are (inlined callee, caller) */
    uint32_t f_in = ignis_profile_function_named(p, "inlined_helper", "", 0);
    uint32_t f_out = ignis_profile_function_named(p, "caller_fn", "", 0);
    uint32_t f_main = ignis_profile_function_named(p, "main", "", 0);
    ignis_line lines[2] = {{f_in, 10, 0}, {f_out, 20, 0}};
    ignis_location loc = {.lines = lines, .nlines = 2, .address = 0x1234};
    uint32_t locs[2] = {ignis_profile_add_location(p, &loc),
                        ignis_profile_location_for_function(p, f_main, IGNIS_FRAME_USER)};
    int64_t v = 20;
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, locs, 2), 0, &v);

    ig_write_opts o = default_opts();
    char *svg = render(p, &o);
    frame_info k, j, i, w1, w2, user;
    assert_int_equal(find_frame(svg, "do_syscall_64", &k), 1);
    assert_int_equal(find_frame(svg, "Interpreter::run", &j), 1);
    assert_int_equal(find_frame(svg, "inlined_helper", &i), 1);
    assert_int_equal(find_frame(svg, "caller_fn", &user), 1);
    assert_int_equal(find_frame(svg, "work", &w1), 2);
    /* kernel: orange (red high, green mid, blue low) */
    assert_true(k.rgb[0] > 220 && k.rgb[1] > 90 && k.rgb[1] < 170 && k.rgb[2] < 60);
    assert_non_null(strstr(k.title, "[kernel]"));
    /* jit: green */
    assert_true(j.rgb[1] > j.rgb[0] && j.rgb[1] > j.rgb[2]);
    /* inlined: cyan (green and blue above red) */
    assert_true(i.rgb[1] > i.rgb[0] + 40 && i.rgb[2] > i.rgb[0] + 40);
    assert_non_null(strstr(i.title, "[inlined]"));
    /* user: warm (red dominant, blue lowest) */
    assert_true(user.rgb[0] >= user.rgb[1] && user.rgb[1] >= user.rgb[2]);
    /* a key to the kinds present */
    assert_non_null(strstr(svg, "class=\"key\">user</text>"));
    assert_non_null(strstr(svg, "class=\"key\">kernel</text>"));
    assert_non_null(strstr(svg, "class=\"key\">JIT</text>"));
    assert_non_null(strstr(svg, "class=\"key\">inlined</text>"));
    /* the same name has the same colour wherever it appears */
    const char *second = strstr(strstr(svg, "<title>work\n") + 1, "<title>work\n");
    unsigned rgb[3];
    sscanf(strstr(second, "fill=\"#") + 7, "%2x%2x%2x", &rgb[0], &rgb[1], &rgb[2]);
    assert_memory_equal(rgb, w1.rgb, sizeof rgb);
    (void)w2;
    free(svg);
    ignis_profile_free(p);
}

static void output_is_deterministic(void **state)
{
    (void)state;
    ignis_profile *p = simple_profile(60, 30, 10);
    ig_write_opts o = default_opts();
    char *s1 = render(p, &o), *s2 = render(p, &o);
    assert_string_equal(s1, s2);
    /* and self-contained: no external references */
    assert_null(strstr(s1, "href"));
    assert_null(strstr(s1, "http://www.w3.org/1999/xlink"));
    assert_int_equal(count_of(s1, "<script"), 1);
    assert_int_equal(count_of(s1, "]]>"), 1); /* only the end of the script's CDATA */
    free(s1);
    free(s2);
    ignis_profile_free(p);
}

static void chosen_value_sets_widths(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_profile_add_value_type(p, "cpu", "nanoseconds");
    int64_t va[2] = {75, 1000000000}, vb[2] = {25, 3000000000};
    add_values(p, "main;a", va);
    add_values(p, "main;b", vb);
    ig_write_opts o = default_opts();
    o.tree.value = 0;
    char *svg = render(p, &o);
    frame_info a;
    find_frame(svg, "a", &a);
    assert_true(fabs(a.w - 1180 * 0.75) < 0.051);
    free(svg);
    o.tree.value = 1;
    svg = render(p, &o);
    find_frame(svg, "a", &a);
    assert_true(fabs(a.w - 1180 * 0.25) < 0.051);
    assert_non_null(strstr(a.title, "1s cpu (25.00%)"));
    assert_non_null(strstr(svg, "cpu (nanoseconds)"));
    free(svg);
    ignis_profile_free(p);
}

static void reverse_merges_from_the_leaf(void **state)
{
    (void)state;
    ignis_profile *p = new_profile();
    add(p, "main;a;leaf", 30);
    add(p, "main;b;leaf", 20);
    add(p, "main;b", 50);
    ig_write_opts o = default_opts();
    o.tree.reverse = 1;
    char *svg = render(p, &o);
    frame_info leaf, b;
    /* leaf is a child of the root once, holding both its callers */
    assert_int_equal(find_frame(svg, "leaf", &leaf), 1);
    assert_int_equal(leaf.v, 50);
    assert_int_equal(find_frame(svg, "b", &b), 2); /* as a leaf and as leaf's caller */
    assert_int_equal(find_frame(svg, "main", NULL), 3);
    free(svg);
    ignis_profile_free(p);
}

static void focus_filters_and_bad_regex_fails(void **state)
{
    (void)state;
    ignis_profile *p = simple_profile(60, 30, 10);
    ig_write_opts o = default_opts();
    o.tree.focus = "^b$";
    char *svg = render(p, &o);
    frame_info root, b;
    find_frame(svg, "all", &root);
    assert_int_equal(root.v, 30);
    assert_int_equal(find_frame(svg, "a", NULL), 0);
    find_frame(svg, "b", &b);
    assert_true(fabs(b.w - 1180) < 0.051);
    free(svg);

    o.tree.focus = "^nothing$";
    svg = render(p, &o);
    assert_non_null(strstr(svg, ">No samples</text>"));
    assert_int_equal(find_frame(svg, "main", NULL), 0);
    free(svg);

    o.tree.focus = "(unclosed";
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_err err = {{0}};
    assert_int_equal(ig_svg_write(p, &o, &sb, &err), -1);
    assert_non_null(strstr(err.msg, "--focus"));
    assert_null(strchr(err.msg, '\n'));
    ig_sb_free(&sb);
    ignis_profile_free(p);
}

static void frames_are_depth_first_with_compact_numbers(void **state)
{
    (void)state;
    ignis_profile *p = simple_profile(60, 30, 10);
    ig_write_opts o = default_opts();
    char *svg = render(p, &o);
    const char *order[] = {"<title>all\n", "<title>main\n", "<title>a\n", "<title>b\n", "<title>" ESC_XML "\n"};
    const char *prev = svg;
    for (size_t i = 0; i < 5; i++) {
        const char *s = strstr(svg, order[i]);
        assert_non_null(s);
        assert_true(s > prev);
        prev = s;
    }
    assert_null(strstr(strstr(svg, "<g id=\"frames\">"), ".0\""));
    assert_int_equal(count_of(svg, "<g v="), 5);
    free(svg);
    ignis_profile_free(p);
}

/* ---- mixed signs: geometry invariants ---------------------------------------- */

typedef struct rect_row {
    double x, y, w;
    long long v;
} rect_row;

/* Every frame's <g v> and rect, in document order (depth-first). */
static size_t parse_frames(const char *svg, rect_row *out, size_t cap)
{
    const char *at = strstr(svg, "<g id=\"frames\">");
    assert_non_null(at);
    const char *stop = strstr(at, "</g>\n<script");
    assert_non_null(stop);
    size_t n = 0;
    for (const char *g = strstr(at, "<g v=\""); g && g < stop; g = strstr(g + 1, "<g v=\"")) {
        const char *end = strstr(g, "</g>");
        const char *rect = strstr(g, "<rect");
        assert_true(n < cap);
        out[n].v = strtoll(g + 6, NULL, 10);
        out[n].x = attr_num(rect, end, "x");
        out[n].y = attr_num(rect, end, "y");
        out[n].w = attr_num(rect, end, "width");
        n++;
    }
    return n;
}

/* The invariants of any flame graph: widths finite, >= 0, within the
 * frame area; each frame inside the one it stands on (the closest
 * earlier frame one row down), siblings not overlapping.  Coordinates
 * are rounded to 0.1 px, hence the tolerance. */
static void check_geometry(const char *svg)
{
    assert_null(strstr(svg, "nan"));
    assert_null(strstr(svg, "inf\""));
    assert_null(strstr(svg, "width=\"-"));
    rect_row f[64];
    size_t n = parse_frames(svg, f, 64);
    assert_true(n > 0);
    const double eps = 0.11;
    for (size_t i = 0; i < n; i++) {
        assert_true(isfinite(f[i].w) && isfinite(f[i].x));
        assert_true(f[i].v >= 0);
        assert_true(f[i].w >= 0);
        assert_true(f[i].x >= 10 - eps && f[i].x + f[i].w <= 1190 + eps);
        if (i == 0)
            continue;
        size_t p = i;
        while (p-- > 0 && fabs(f[p].y - (f[i].y + 16)) > 0.01)
            ;
        assert_true(p < i); /* it has a parent row */
        assert_true(f[i].x >= f[p].x - eps);
        assert_true(f[i].x + f[i].w <= f[p].x + f[p].w + eps);
        assert_true(f[i].v <= f[p].v);
        for (size_t s = p + 1; s < i; s++) /* an earlier sibling ends where this starts or before */
            if (fabs(f[s].y - f[i].y) < 0.01)
                assert_true(f[s].x + f[s].w <= f[i].x + eps);
    }
}

static double frame_width(const char *svg, const char *name, long long *v, unsigned rgb[3])
{
    frame_info fi;
    assert_int_equal(find_frame(svg, name, &fi), 1);
    if (v)
        *v = fi.v;
    if (rgb)
        memcpy(rgb, fi.rgb, sizeof fi.rgb);
    return fi.w;
}

/* main 10 = a +100, b -90: drawn by magnitude, 190 wide; b is blue. */
static void mixed_signs_are_drawn_by_magnitude(void **state)
{
    (void)state;
    ignis_profile *p = new_profile();
    add(p, "main;a", 100);
    add(p, "main;b", -90);
    ig_write_opts o = default_opts();
    char *svg = render(p, &o);
    check_geometry(svg);
    long long v;
    unsigned rgb[3];
    assert_true(fabs(frame_width(svg, "all", &v, NULL) - 1180) < 0.051);
    assert_int_equal(v, 190);
    assert_true(fabs(frame_width(svg, "main", &v, NULL) - 1180) < 0.051);
    assert_true(fabs(frame_width(svg, "a", &v, rgb) - 1180 * 100.0 / 190) < 0.051);
    assert_true(rgb[0] > rgb[2]); /* warm */
    assert_true(fabs(frame_width(svg, "b", &v, rgb) - 1180 * 90.0 / 190) < 0.051);
    assert_int_equal(v, 90);
    assert_true(rgb[2] > rgb[0]); /* blue: below zero */
    frame_info b;
    find_frame(svg, "b", &b);
    assert_non_null(strstr(b.title, "-90 samples")); /* the tooltip keeps the sign */
    assert_non_null(strstr(svg, "widths by magnitude"));
    free(svg);
    ignis_profile_free(p);
}

/* A frame whose own value is negative while its children add up to more
 * than its total: main self -50, a +40, b +30 (total 20). */
static void children_larger_than_the_parent_total_fit(void **state)
{
    (void)state;
    ignis_profile *p = new_profile();
    add(p, "main", -50);
    add(p, "main;a", 40);
    add(p, "main;b;c", 30);
    add(p, "main;b;d", -35);
    ig_write_opts o = default_opts();
    char *svg = render(p, &o);
    check_geometry(svg);
    long long v;
    frame_width(svg, "main", &v, NULL);
    assert_int_equal(v, 50 + 40 + 65);
    frame_width(svg, "b", &v, NULL);
    assert_int_equal(v, 65);
    free(svg);
    ignis_profile_free(p);
}

/* Zero total (+5, -5) and a negative total: still drawn, still inside. */
static void zero_and_negative_totals_are_drawn(void **state)
{
    (void)state;
    ignis_profile *p = new_profile();
    add(p, "main;a", 5);
    add(p, "main;b", -5);
    ig_write_opts o = default_opts();
    char *svg = render(p, &o);
    check_geometry(svg);
    assert_null(strstr(svg, "No samples"));
    assert_true(fabs(frame_width(svg, "a", NULL, NULL) - 590) < 0.051);
    free(svg);
    ignis_profile_free(p);

    p = new_profile();
    add(p, "main;a", -30);
    add(p, "main;b", -10);
    svg = render(p, &o);
    check_geometry(svg);
    long long v;
    assert_true(fabs(frame_width(svg, "all", &v, NULL) - 1180) < 0.051);
    assert_int_equal(v, 40);
    assert_true(fabs(frame_width(svg, "a", NULL, NULL) - 885) < 0.051);
    assert_true(fabs(frame_width(svg, "b", NULL, NULL) - 295) < 0.051);
    free(svg);
    ignis_profile_free(p);

    p = new_profile(); /* all zero: nothing to draw */
    add(p, "main;a", 0);
    svg = render(p, &o);
    assert_non_null(strstr(svg, "No samples"));
    free(svg);
    ignis_profile_free(p);
}

/* A big negative frame is not pruned as "narrow" by its signed sum. */
static void negative_frames_are_not_pruned(void **state)
{
    (void)state;
    ignis_profile *p = new_profile();
    add(p, "main;a", 1000000);
    add(p, "main;b", -400000);
    for (int i = 0; i < 20; i++) {
        char st[32];
        snprintf(st, sizeof st, "main;t%d", i);
        add(p, st, 1);
    }
    ig_write_opts o = default_opts();
    char *svg = render(p, &o);
    check_geometry(svg);
    long long v;
    assert_true(fabs(frame_width(svg, "b", &v, NULL) - 1180 * 400000.0 / 1400020) < 0.051);
    free(svg);
    ignis_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_have_widths_proportional_to_values),
        cmocka_unit_test(names_are_escaped),
        cmocka_unit_test(title_defaults_and_override),
        cmocka_unit_test(inverted_puts_root_on_top),
        cmocka_unit_test(diff_colours_growth_red_and_shrink_blue),
        cmocka_unit_test(minwidth_hides_narrow_frames_and_keeps_total),
        cmocka_unit_test(labels_are_truncated_to_fit),
        cmocka_unit_test(colours_follow_kind_and_name),
        cmocka_unit_test(output_is_deterministic),
        cmocka_unit_test(chosen_value_sets_widths),
        cmocka_unit_test(reverse_merges_from_the_leaf),
        cmocka_unit_test(focus_filters_and_bad_regex_fails),
        cmocka_unit_test(frames_are_depth_first_with_compact_numbers),
        cmocka_unit_test(mixed_signs_are_drawn_by_magnitude),
        cmocka_unit_test(children_larger_than_the_parent_total_fit),
        cmocka_unit_test(zero_and_negative_totals_are_drawn),
        cmocka_unit_test(negative_frames_are_not_pruned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
