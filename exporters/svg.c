/*
 * exporters/svg.c — interactive SVG flame graphs.
 *
 * The graph is drawn from the call tree of profile/tree.h.  Its nodes are
 * stored depth-first with children sorted by name, so one walk lays out
 * the whole graph: a child starts where its parent starts plus the totals
 * of its previous drawn siblings, and is as wide as its total.  Frames
 * narrower than `minwidth` pixels are not drawn; without filters the tree
 * is already built without them (ig_tree_opts.min_total, so memory follows
 * what is drawn), and the walk skips the rest without visiting their
 * subtrees.  Either way a hidden frame leaves no hole: drawn children are
 * packed from their parent's left edge, and the parent keeps its total.
 * The walk runs twice: once to measure (frames, depth, largest diff
 * delta), once to write.
 *
 * Each frame is one <g> holding a <title> (name, then the values shown as
 * a tooltip), a <rect> and, when the frame is wide enough, a <text> label
 * truncated with "..".  Text is written as well-formed XML whatever the
 * names hold: ill-formed UTF-8 and control characters become U+FFFD.
 * The <g> carries the frame's value (v), from which
 * the embedded script (exporters/svg.js: zoom, search, "Matched: X%")
 * rebuilds exact integer offsets.  Numbers are rounded to 0.1 px and
 * written without a trailing ".0" to keep big graphs small.
 *
 * Colours are a pure function of (kind, name): user frames take warm hues
 * (reds and yellows) from a hash of the name, kernel frames orange, JIT
 * frames green, inlined frames cyan.  A differential graph colours every
 * frame by the change of its share of the total between the base and the
 * new profile, from light grey towards red (grew) or blue (shrank), the
 * intensity relative to the largest change; labels on dark fills are
 * white.  Frames only in the base (removed) are drawn too, dashed, as wide
 * as their base value: a frame's width is its value plus the widths of the
 * removed frames below it, computed bottom-up (frame_widths), and <g v>
 * carries that width, so the script's zoom still adds up.
 *
 * Negative values (a diff saved as one profile, a signed counter) are
 * drawn by magnitude: a width is the larger of |total| and |self| plus its
 * children's widths, so no width is negative and no child leaves its
 * parent's box however the signs mix (a zero total with +5 and -5 below
 * is 10 wide); frames whose values sum below zero are blue, and the
 * subtitle says so.  Tooltips keep the signed values.
 *
 * Percentages are of the whole profile, before filters (pprof's rule),
 * unless the tree was built with `relative`; the subtitle lists the
 * filters and the share they kept.  The output is deterministic: same
 * input, same bytes.
 */
#include "exporters/formats.h"
#include "exporters/svg_js.h"
#include "utils/hash.h"
#include "utils/percent.h"
#include "utils/satmath.h"
#include "utils/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT_SIZE 12
#define CHAR_WIDTH 0.59 /* average glyph width / font size (Verdana) */
#define ROW_HEIGHT 16
#define RECT_HEIGHT 15
#define TEXT_DY 11.5    /* text baseline below the top of a row */
#define XPAD 10
#define YPAD_TOP 58     /* title, subtitle, buttons */
#define YPAD_BOTTOM 30  /* details line, "Matched" */
#define DEFAULT_WIDTH 1200
#define DEFAULT_MINWIDTH 0.1
#define HIGHLIGHT "#e23de2"

typedef struct svg_ctx {
    const ig_tree *tree;
    ig_strbuf *out;
    const char *type, *unit;
    int width, inverted, diff;
    double frame_w;      /* width of the frame area in px */
    double px_per_unit;  /* frame_w / total */
    double minwidth;     /* px */
    double root_y;       /* y of the root row */
    int64_t total, base_total;   /* kept by the filters (root values) */
    int64_t pct_total, base_pct_total; /* what percentages are of */
    int64_t *span;       /* per node: value plus removed frames below (layout units) */
    /* measured by the first walk */
    size_t frames;
    int64_t hidden;      /* value under frames too narrow to draw */
    uint32_t max_depth;
    size_t removed;      /* frames only in the base drawn */
    double max_delta;    /* diff: largest |share change| */
    unsigned kinds;      /* bit per IG_NODE_* kind drawn */
    size_t negative;     /* frames drawn whose total is below zero */
} svg_ctx;

typedef void (*frame_fn)(svg_ctx *c, const ig_tree_node *n, int64_t offset);

/* ---- small writers -------------------------------------------------------- */

static void put_i64(ig_strbuf *sb, int64_t v)
{
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    ig_sb_append(sb, p, (size_t)(buf + sizeof buf - p));
}

/* A pixel coordinate rounded to 0.1, without a trailing ".0". */
static void put_px(ig_strbuf *sb, double x)
{
    int64_t t = llround(x * 10);
    if (t < 0) {
        ig_sb_putc(sb, '-');
        t = -t;
    }
    put_i64(sb, t / 10);
    if (t % 10) {
        ig_sb_putc(sb, '.');
        ig_sb_putc(sb, (char)('0' + t % 10));
    }
}

static void put_attr_px(ig_strbuf *sb, const char *name, double x)
{
    ig_sb_puts(sb, name);
    put_px(sb, x);
    ig_sb_putc(sb, '"');
}

static const char *node_name(const svg_ctx *c, const ig_tree_node *n)
{
    if (n->kind == IG_NODE_ROOT)
        return "all";
    const char *s = ig_tree_name(c->tree, n->name);
    return s ? s : "";
}

/* ---- colours -------------------------------------------------------------- */

static void hsl_hex(double h, double s, double l, char out[8])
{
    double c = (1 - fabs(2 * l - 1)) * s;
    double hp = fmod(h, 360) / 60;
    double x = c * (1 - fabs(fmod(hp, 2) - 1));
    double r = 0, g = 0, b = 0;
    if (hp < 1) { r = c; g = x; }
    else if (hp < 2) { r = x; g = c; }
    else if (hp < 3) { g = c; b = x; }
    else if (hp < 4) { g = x; b = c; }
    else if (hp < 5) { r = x; b = c; }
    else { r = c; b = x; }
    double m = l - c / 2;
    snprintf(out, 8, "#%02x%02x%02x", (int)lround((r + m) * 255), (int)lround((g + m) * 255),
             (int)lround((b + m) * 255));
}

/* Three numbers in [0,1) derived from a name, stable across runs. */
static void name_hash(const char *name, double v[3])
{
    uint64_t h = ig_hash_bytes(name, strlen(name), 0x1f1a7e5ULL);
    for (int i = 0; i < 3; i++)
        v[i] = (double)((h >> (i * 21)) & 0x1fffff) / (double)0x200000;
}

static void kind_colour(int kind, const char *name, char out[8])
{
    double v[3];
    name_hash(name, v);
    switch (kind) {
    case IG_NODE_ROOT:
        hsl_hex(40, 0.08, 0.78, out);
        break;
    case IG_NODE_KERNEL: /* orange, more saturated than user frames */
        hsl_hex(24 + 6 * v[0], 0.92, 0.53 + 0.05 * v[1], out);
        break;
    case IG_NODE_JIT: /* green */
        hsl_hex(95 + 35 * v[0], 0.55, 0.50 + 0.10 * v[1], out);
        break;
    case IG_NODE_INLINED: /* cyan */
        hsl_hex(178 + 17 * v[0], 0.60, 0.55 + 0.10 * v[1], out);
        break;
    default: { /* warm: reds (0..14) and yellows (44..60); orange is the kernel's */
        double h = v[0] < 0.5 ? 28 * v[0] : 44 + 32 * (v[0] - 0.5);
        hsl_hex(h, 0.72 + 0.2 * v[1], 0.58 + 0.08 * v[2], out);
    }
    }
}

/* A frame whose values sum below zero (not a diff): blues, by name. */
static void negative_colour(const char *name, char out[8])
{
    double v[3];
    name_hash(name, v);
    hsl_hex(200 + 30 * v[0], 0.55 + 0.2 * v[1], 0.62 + 0.08 * v[2], out);
}

/* Share change of a node between base and new profile, in [-1, 1]. */
static double share_delta(const svg_ctx *c, const ig_tree_node *n)
{
    double now = c->pct_total > 0 ? (double)n->total / (double)c->pct_total : 0;
    double was = c->base_pct_total > 0 ? (double)n->base_total / (double)c->base_pct_total : 0;
    return now - was;
}

/* A frame only in the base of a diff. */
static int removed(const svg_ctx *c, const ig_tree_node *n)
{
    return c->diff && n->total == 0 && n->base_total > 0;
}

static void diff_colour(const svg_ctx *c, const ig_tree_node *n, char out[8])
{
    /* from a light grey (lightness varied by name, so that neighbours with
     * no change stay apart) towards red or blue */
    double v[3];
    name_hash(node_name(c, n), v);
    double grey = 216 + 14 * v[0];
    double d = share_delta(c, n);
    double k = c->max_delta > 0 ? fabs(d) / c->max_delta : 0;
    double hi = grey + (255 - grey) * k, lo = grey + (40 - grey) * k;
    int r = (int)lround(d > 0 ? hi : lo), b = (int)lround(d < 0 ? hi : lo), g = (int)lround(lo);
    if (d == 0)
        r = g = b = (int)lround(grey);
    snprintf(out, 8, "#%02x%02x%02x", r, g, b);
}

/* Whether a fill is dark enough to want white text. */
static int is_dark(const char *fill)
{
    unsigned r, g, b;
    if (sscanf(fill, "#%2x%2x%2x", &r, &g, &b) != 3)
        return 0;
    return 0.299 * r + 0.587 * g + 0.114 * b < 90;
}

/* ---- text ------------------------------------------------------------------ */

/* Appends s as XML character data: &, <, >, " and ' escaped; ill-formed
 * UTF-8, control characters and U+FFFE/U+FFFF (which XML 1.0 does not
 * allow, or which would act in a tooltip) as U+FFFD.  Names come from
 * binaries and files, so any byte may appear; the document must parse. */
static void put_text(ig_strbuf *sb, const char *s)
{
    size_t n = strlen(s), run = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = ig_utf8_next(s + i, n - i, &cp);
        const char *rep = NULL;
        switch (cp) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            if (cp == IG_UTF8_INVALID || (ig_utf8_is_control(cp) && cp != '\t') || cp == 0xfffe || cp == 0xffff)
                rep = IG_UTF8_REPLACEMENT;
        }
        if (rep) {
            ig_sb_append(sb, s + run, i - run);
            ig_sb_puts(sb, rep);
            run = i + len;
        }
        i += len;
    }
    ig_sb_append(sb, s + run, n - run);
}

/* Characters of s as put_text() writes them (an ill-formed sequence is one). */
static size_t utf8_len(const char *s)
{
    size_t n = 0, len = strlen(s);
    uint32_t cp;
    for (size_t i = 0; i < len; n++)
        i += ig_utf8_next(s + i, len - i, &cp);
    return n;
}

/* Byte length of the first `chars` characters of s. */
static size_t utf8_prefix(const char *s, size_t chars)
{
    size_t i = 0, len = strlen(s);
    uint32_t cp;
    for (; i < len && chars; chars--)
        i += ig_utf8_next(s + i, len - i, &cp);
    return i;
}

/* Writes the label that fits in w pixels (same rule as label() in svg.js);
 * returns 0 when nothing fits. */
static int put_label(ig_strbuf *sb, const char *name, double w)
{
    double fit = floor((w - 6) / (FONT_SIZE * CHAR_WIDTH));
    if (fit < 3)
        return 0;
    size_t n = (size_t)fit;
    if (utf8_len(name) <= n) {
        put_text(sb, name);
        return 1;
    }
    size_t bytes = utf8_prefix(name, n - 2);
    char *cut = ig_xmalloc(bytes + 3);
    memcpy(cut, name, bytes);
    memcpy(cut + bytes, "..", 3);
    put_text(sb, cut);
    free(cut);
    return 1;
}

/* v's share of total, pprof's rule (utils/percent.h). */
static double pct(int64_t v, int64_t total) { return ig_percent(v, total); }

/* "1.50s cpu" / "1234 samples" */
static void put_value(const svg_ctx *c, int64_t v)
{
    char buf[64];
    ig_format_value(v, c->unit, buf, sizeof buf);
    ig_sb_puts(c->out, buf);
    if (c->type && *c->type) {
        ig_sb_putc(c->out, ' ');
        put_text(c->out, c->type);
    }
}

static void put_tooltip(const svg_ctx *c, const ig_tree_node *n)
{
    ig_strbuf *sb = c->out;
    put_text(sb, node_name(c, n));
    ig_sb_putc(sb, '\n');
    if (c->diff) {
        ig_sb_puts(sb, "new: ");
        put_value(c, n->total);
        ig_sb_printf(sb, " (%.2f%%), base: ", pct(n->total, c->pct_total));
        put_value(c, n->base_total);
        int64_t delta = ig_sat_sub(n->total, n->base_total);
        ig_sb_printf(sb, " (%.2f%%)\ndelta: %s", pct(n->base_total, c->base_pct_total),
                     delta > 0 ? "+" : delta < 0 ? "-" : "");
        put_value(c, ig_sat_abs(delta));
        ig_sb_printf(sb, " (%+.2f points of the total)", 100 * share_delta(c, n));
        if (removed(c, n))
            ig_sb_puts(sb, " [removed: only in the base]");
        return;
    }
    put_value(c, n->total);
    ig_sb_printf(sb, " (%.2f%%)", pct(n->total, c->pct_total));
    if (n->self > 0 && n->self != n->total) {
        ig_sb_puts(sb, ", self ");
        put_value(c, n->self);
        ig_sb_printf(sb, " (%.2f%%)", pct(n->self, c->pct_total));
    }
    if (n->kind == IG_NODE_KERNEL)
        ig_sb_puts(sb, " [kernel]");
    else if (n->kind == IG_NODE_JIT)
        ig_sb_puts(sb, " [jit]");
    else if (n->kind == IG_NODE_INLINED)
        ig_sb_puts(sb, " [inlined]");
    uint32_t module = ig_tree_node_module(c->tree, n);
    if (module && ig_tree_name(c->tree, module)[0]) {
        ig_sb_puts(sb, " in ");
        put_text(sb, ig_tree_name(c->tree, module));
    }
}

/* ---- the walk -------------------------------------------------------------- */

typedef struct walk_entry {
    const ig_tree_node *node;
    uint32_t next_child;  /* next child to look at, 0 = done */
    int64_t offset;       /* where the node starts (value units) */
    int64_t child_offset; /* where the next drawn child starts */
} walk_entry;

static int64_t width_of(const svg_ctx *c, const ig_tree_node *n)
{
    return c->span[n - ig_tree_node_at(c->tree, 0)];
}

static int drawn(const svg_ctx *c, const ig_tree_node *n)
{
    int64_t w = width_of(c, n);
    return w > 0 && (double)w * c->px_per_unit >= c->minwidth;
}

/* A node's own value, the part no child covers: its self value, or for a
 * removed frame its base self value. */
static int64_t own_value(const svg_ctx *c, const ig_tree_node *n)
{
    return removed(c, n) ? n->base_self : n->self;
}

/* Each node's width in value units, by magnitude (as a differential flame
 * graph draws): the larger of |total| and |own value| plus the widths of
 * its children; a removed frame's total is its base value.  In a profile
 * whose values are all positive that is the total (plus the removed frames
 * below), as before.  With negative values (a diff written as one profile,
 * a signed counter) a total can be smaller than its children's magnitudes
 * (+100 and -90 under a frame of 10) or zero or negative; this rule keeps
 * every width >= 0, never below |total|, and every child inside its
 * parent's box.  Nodes are in pre-order, so a backward pass sees children
 * first: w[] sums the children's widths until the node itself is reached. */
static int64_t *frame_widths(const svg_ctx *c)
{
    size_t n = ig_tree_size(c->tree);
    const ig_tree_node *nodes = ig_tree_node_at(c->tree, 0);
    int64_t *w = ig_xcalloc(n, sizeof *w);
    for (size_t i = n; i-- > 0;) {
        const ig_tree_node *nd = &nodes[i];
        int64_t total = ig_sat_abs(removed(c, nd) ? nd->base_total : nd->total);
        int64_t packed = ig_sat_add(ig_sat_abs(own_value(c, nd)), w[i]);
        w[i] = total > packed ? total : packed;
        if (i)
            w[nd->parent] = ig_sat_add(w[nd->parent], w[i]);
    }
    return w;
}

/* Calls fn for every node that is drawn, depth-first, with its offset.
 * Drawn children are packed from their parent's left edge: a hidden
 * sibling leaves no hole, exactly as when the tree itself pruned it
 * (ig_tree_opts.min_total), so both ways give the same picture. */
static void walk(svg_ctx *c, frame_fn fn)
{
    const ig_tree_node *root = ig_tree_node_at(c->tree, 0);
    size_t cap = 64, sp = 0;
    walk_entry *st = ig_xmalloc(cap * sizeof *st);
    c->hidden = 0;
    fn(c, root, 0);
    st[sp++] = (walk_entry){root, root->first_child, 0, 0};
    while (sp) {
        walk_entry *top = &st[sp - 1];
        if (!top->next_child) {
            /* what neither self nor a drawn child covers was hidden */
            const ig_tree_node *nd = top->node;
            int64_t covered = ig_sat_add(ig_sat_abs(own_value(c, nd)), ig_sat_sub(top->child_offset, top->offset));
            c->hidden = ig_sat_add(c->hidden, ig_sat_sub(width_of(c, nd), covered));
            sp--;
            continue;
        }
        const ig_tree_node *n = ig_tree_node_at(c->tree, top->next_child);
        int64_t offset = top->child_offset;
        top->next_child = n->next_sibling;
        if (!drawn(c, n))
            continue;
        top->child_offset = ig_sat_add(top->child_offset, width_of(c, n));
        fn(c, n, offset);
        if (sp == cap) {
            cap *= 2;
            st = ig_xrealloc(st, cap * sizeof *st);
        }
        st[sp++] = (walk_entry){n, n->first_child, offset, offset};
    }
    free(st);
}

static void measure_frame(svg_ctx *c, const ig_tree_node *n, int64_t offset)
{
    (void)offset;
    c->frames++;
    c->removed += removed(c, n);
    c->kinds |= 1u << n->kind;
    c->negative += !c->diff && n->total < 0;
    if (n->depth > c->max_depth)
        c->max_depth = n->depth;
    if (c->diff) {
        double d = fabs(share_delta(c, n));
        if (d > c->max_delta)
            c->max_delta = d;
    }
}

static void write_frame(svg_ctx *c, const ig_tree_node *n, int64_t offset)
{
    ig_strbuf *sb = c->out;
    double x = XPAD + (double)offset * c->px_per_unit;
    double w = (double)width_of(c, n) * c->px_per_unit;
    double y = c->inverted ? c->root_y + n->depth * ROW_HEIGHT : c->root_y - n->depth * ROW_HEIGHT;
    char fill[8];
    if (c->diff && n->kind != IG_NODE_ROOT)
        diff_colour(c, n, fill);
    else if (!c->diff && n->total < 0)
        negative_colour(node_name(c, n), fill);
    else
        kind_colour(n->kind, node_name(c, n), fill);

    ig_sb_puts(sb, "<g v=\"");
    put_i64(sb, width_of(c, n));
    ig_sb_puts(sb, removed(c, n) ? (is_dark(fill) ? "\" class=\"w rm\"><title>" : "\" class=\"rm\"><title>")
                                 : is_dark(fill) ? "\" class=\"w\"><title>" : "\"><title>");
    put_tooltip(c, n);
    ig_sb_puts(sb, "</title><rect");
    put_attr_px(sb, " x=\"", x);
    put_attr_px(sb, " y=\"", y);
    put_attr_px(sb, " width=\"", w);
    ig_sb_printf(sb, " height=\"%d\" fill=\"%s\"/>", RECT_HEIGHT, fill);
    size_t mark = sb->len;
    ig_sb_puts(sb, "<text");
    put_attr_px(sb, " x=\"", x + 3);
    put_attr_px(sb, " y=\"", y + TEXT_DY);
    ig_sb_putc(sb, '>');
    if (put_label(sb, node_name(c, n), w))
        ig_sb_puts(sb, "</text>");
    else
        sb->len = mark, sb->data[mark] = '\0';
    ig_sb_puts(sb, "</g>\n");
}

/* ---- document -------------------------------------------------------------- */

static const char svg_style[] =
    "<style>\n"
    "text{font-family:Verdana,\"DejaVu Sans\",sans-serif;font-size:12px;fill:#000}\n"
    "#title{font-size:17px;font-weight:bold;text-anchor:middle}\n"
    "#sub{fill:#555;text-anchor:middle}.key{fill:#555;font-size:11px}\n"
    "#search,#matched{text-anchor:end}\n"
    ".btn{fill:#1d4f91;cursor:pointer}.btn:hover{text-decoration:underline}\n"
    "#frames g{cursor:pointer}#frames text{pointer-events:none}\n"
    "#frames g:hover rect{stroke:#222;stroke-width:.8}\n"
    ".fade{opacity:.45}.hide{display:none}.w text{fill:#fff}\n"
    ".rm rect{stroke:#1d4f91;stroke-width:.8;stroke-dasharray:3,2}\n"
    "</style>\n";

static const char *default_title(const ig_write_opts *o)
{
    if (o->diff_base)
        return "Differential Flame Graph";
    return o->inverted ? "Icicle Graph" : "Flame Graph";
}

/* " · focus=RE, ... kept X (Y%) of Z" when filters are set. */
static void write_filters(svg_ctx *c, const ig_tree_opts *t)
{
    const struct { const char *name, *re; } res[] = {
        {"focus", t->focus}, {"ignore", t->ignore}, {"thread", t->thread}, {"show_from", t->root},
        {"hide", t->hide}, {"show", t->show}, {"prune_from", t->prune_from}};
    int n = 0;
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++)
        if (res[i].re && *res[i].re) {
            ig_sb_puts(c->out, n++ ? ", " : " \xc2\xb7 ");
            ig_sb_printf(c->out, "%s=", res[i].name);
            put_text(c->out, res[i].re);
        }
    for (int ignore = 0; ignore < 2; ignore++)
        for (const char *const *l = ignore ? t->tagignore : t->tagfocus; l && *l; l++) {
            ig_sb_puts(c->out, n++ ? ", " : " \xc2\xb7 ");
            ig_sb_puts(c->out, ignore ? "tagignore=" : "tagfocus=");
            put_text(c->out, *l);
        }
    if (!n)
        return;
    char kept[64], all[64];
    /* of absolute values, as percentages (utils/percent.h) */
    int64_t kept_v = ig_tree_pct_total_kept(c->tree), all_v = ig_tree_pct_total_all(c->tree);
    ig_format_value(kept_v, c->unit, kept, sizeof kept);
    ig_format_value(all_v, c->unit, all, sizeof all);
    ig_sb_puts(c->out, " kept ");
    put_text(c->out, kept);
    ig_sb_printf(c->out, " (%.2f%%) of ", pct(kept_v, all_v));
    put_text(c->out, all);
}

static void write_subtitle(svg_ctx *c, const ig_write_opts *o)
{
    ig_strbuf *sb = c->out;
    put_text(sb, c->type && *c->type ? c->type : "value");
    if (c->unit && *c->unit) {
        ig_sb_puts(sb, " (");
        put_text(sb, c->unit);
        ig_sb_putc(sb, ')');
    }
    ig_sb_puts(sb, " \xc2\xb7 total ");
    char buf[64];
    ig_format_value(c->total, c->unit, buf, sizeof buf);
    put_text(sb, buf);
    if (c->diff) {
        ig_format_value(c->base_total, c->unit, buf, sizeof buf);
        ig_sb_puts(sb, ", base ");
        put_text(sb, buf);
        if (o->tree.normalize)
            ig_sb_puts(sb, " (normalized)");
        ig_sb_puts(sb, " \xc2\xb7 red grew, blue shrank");
        if (c->removed)
            ig_sb_puts(sb, ", dashed only in the base");
    }
    if (c->negative)
        ig_sb_puts(sb, " \xc2\xb7 widths by magnitude, blue sums below zero");
    write_filters(c, &o->tree);
    if (o->tree.reverse)
        ig_sb_puts(sb, " \xc2\xb7 callers (reversed)");
    ig_sb_printf(sb, " \xc2\xb7 %zu frames", c->frames);
    if (c->hidden > 0)
        ig_sb_printf(sb, " (narrower than %gpx hidden)", c->minwidth);
}

/* A key to the frame colours, under "Reset Zoom", when the graph mixes
 * kinds (user, kernel, JIT, inlined) and is wide enough to hold it. */
static void write_legend(svg_ctx *c)
{
    static const struct { int kind; const char *label; } keys[] = {
        {IG_NODE_USER, "user"}, {IG_NODE_KERNEL, "kernel"}, {IG_NODE_JIT, "JIT"}, {IG_NODE_INLINED, "inlined"}};
    unsigned mixed = c->kinds & ~(1u << IG_NODE_ROOT);
    if (c->diff || c->width < 900 || !(mixed & (mixed - 1)))
        return;
    int x = XPAD;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!(mixed & (1u << keys[i].kind)))
            continue;
        char fill[8], fill2[8];
        if (keys[i].kind == IG_NODE_USER) { /* reds and yellows: half each */
            hsl_hex(6, 0.8, 0.62, fill);
            hsl_hex(50, 0.8, 0.62, fill2);
        } else {
            kind_colour(keys[i].kind, keys[i].label, fill);
            memcpy(fill2, fill, sizeof fill);
        }
        ig_sb_printf(c->out, "<rect x=\"%d\" y=\"33\" width=\"5\" height=\"10\" fill=\"%s\"/>"
                             "<rect x=\"%d\" y=\"33\" width=\"5\" height=\"10\" fill=\"%s\"/>"
                             "<text x=\"%d\" y=\"42\" class=\"key\">%s</text>\n",
                     x, fill, x + 5, fill2, x + 14, keys[i].label);
        x += 24 + (int)(strlen(keys[i].label) * 7);
    }
}

static void write_document(svg_ctx *c, const ig_write_opts *o)
{
    ig_strbuf *sb = c->out;
    int rows = c->span[0] > 0 ? (int)c->max_depth + 1 : 1;
    int height = YPAD_TOP + rows * ROW_HEIGHT + YPAD_BOTTOM;
    c->root_y = c->inverted ? YPAD_TOP : YPAD_TOP + (rows - 1) * ROW_HEIGHT;

    ig_sb_printf(sb,
                 "<?xml version=\"1.0\" standalone=\"no\"?>\n"
                 "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "xmlns=\"http://www.w3.org/2000/svg\">\n",
                 c->width, height, c->width, height);
    ig_sb_puts(sb, svg_style);
    ig_sb_puts(sb, "<defs><linearGradient id=\"bg\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
                   "<stop offset=\"5%\" stop-color=\"#f7f7f4\"/>"
                   "<stop offset=\"95%\" stop-color=\"#e9e9df\"/></linearGradient></defs>\n"
                   "<rect width=\"100%\" height=\"100%\" fill=\"url(#bg)\"/>\n");
    ig_sb_printf(sb, "<text id=\"title\" x=\"%d\" y=\"24\">", c->width / 2);
    put_text(sb, o->title ? o->title : default_title(o));
    ig_sb_printf(sb, "</text>\n<text id=\"sub\" x=\"%d\" y=\"42\">", c->width / 2);
    write_subtitle(c, o);
    ig_sb_printf(sb, "</text>\n<text id=\"reset\" class=\"btn hide\" x=\"%d\" y=\"24\">Reset Zoom</text>\n"
                     "<text id=\"search\" class=\"btn\" x=\"%d\" y=\"24\">Search</text>\n"
                     "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n"
                     "<text id=\"matched\" x=\"%d\" y=\"%d\"></text>\n",
                 XPAD, c->width - XPAD, XPAD, height - 10, c->width - XPAD, height - 10);
    write_legend(c);
    ig_sb_puts(sb, "<g id=\"frames\">\n");
    if (c->span[0] > 0)
        walk(c, write_frame);
    else
        ig_sb_printf(sb, "<text x=\"%d\" y=\"%d\" style=\"text-anchor:middle\">No samples</text>\n",
                     c->width / 2, YPAD_TOP + 12);
    ig_sb_puts(sb, "</g>\n<script type=\"text/ecmascript\"><![CDATA[\nvar C={W:");
    put_px(sb, c->frame_w);
    ig_sb_printf(sb, ",x:%d,h:%d,ty:%g,r0:", XPAD, ROW_HEIGHT, TEXT_DY);
    put_px(sb, c->root_y);
    ig_sb_printf(sb, ",fs:%d,tot:", FONT_SIZE);
    put_i64(sb, c->span[0]);
    ig_sb_puts(sb, ",hl:\"" HIGHLIGHT "\"};\n");
    ig_sb_puts(sb, ig_svg_js);
    ig_sb_puts(sb, "]]></script>\n</svg>\n");
}

/* The smallest total worth keeping while the tree is built, so memory
 * stays proportional to what is drawn.  Filters shrink the total by an
 * unknown amount, so with filters the tree keeps everything and only the
 * walk prunes.  In a diff, a frame pruned here but large enough in the
 * base is drawn as removed: its new value, under the threshold, is less
 * than minwidth.  Rounded down: the walk makes the exact decision. */
static int64_t prune_threshold(const ignis_profile *p, const ig_write_opts *o)
{
    const ig_tree_opts *t = &o->tree;
    if (t->focus || t->ignore || t->thread || t->root || t->hide || t->show || t->prune_from || t->tagfocus ||
        t->tagignore)
        return 0;
    int vi = t->value < 0 ? ignis_profile_default_value(p) : t->value;
    if (vi < 0 || (size_t)vi >= ignis_profile_num_values(p))
        return 0;
    /* the tree prunes by signed sums: a large negative frame would go */
    for (size_t i = 0, n = ignis_profile_num_samples(p); i < n; i++)
        if (ignis_profile_sample(p, i).values[vi] < 0)
            return 0;
    int width = o->width ? o->width : DEFAULT_WIDTH;
    double minwidth = o->minwidth < 0 ? DEFAULT_MINWIDTH : o->minwidth;
    double frame_w = width > 2 * XPAD ? width - 2 * XPAD : 1;
    double v = floor(minwidth * (double)ignis_profile_total(p, (size_t)vi) / frame_w);
    return v > 0 ? (int64_t)v : 0;
}

int ig_svg_write(const ignis_profile *p, const ig_write_opts *o, ig_strbuf *out, ig_err *err)
{
    ig_write_opts defaults = {.tree = {.value = -1}, .minwidth = -1};
    if (!o)
        o = &defaults;
    if (o->width < 0 || o->width > 1000000)
        return ig_err_set(err, "--width: %d is out of range", o->width);
    ig_tree_opts topts = o->tree;
    if (!topts.min_total)
        topts.min_total = prune_threshold(p, o);
    ig_tree *t = ig_tree_build(p, &topts, err);
    if (!t)
        return -1;
    if (o->diff_base && ig_tree_add_base(t, o->diff_base, err) < 0) {
        ig_tree_free(t);
        return -1;
    }
    svg_ctx c = {.tree = t, .out = out, .inverted = o->inverted, .diff = o->diff_base != NULL};
    c.type = ig_tree_value_type(t);
    c.unit = ig_tree_value_unit(t);
    c.width = o->width ? o->width : DEFAULT_WIDTH;
    c.frame_w = c.width > 2 * XPAD ? c.width - 2 * XPAD : 1;
    c.minwidth = o->minwidth < 0 ? DEFAULT_MINWIDTH : o->minwidth;
    c.total = ig_tree_total(t);
    c.base_total = ig_tree_node_at(t, 0)->base_total;
    c.pct_total = ig_tree_pct_total(t);
    c.base_pct_total = ig_tree_base_pct_total(t);
    c.span = frame_widths(&c);
    c.px_per_unit = c.span[0] > 0 ? c.frame_w / (double)c.span[0] : 0;
    if (c.span[0] > 0)
        walk(&c, measure_frame);
    write_document(&c, o); /* the subtitle uses the measured counts */
    free(c.span);
    ig_tree_free(t);
    return 0;
}
