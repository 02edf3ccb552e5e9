/*
 * viewer/cxxname.c — folding template and parameter lists of C++ names.
 *
 * One left-to-right pass with a bracket depth: at depth 0 an opening '<'
 * (that is not part of an operator name) or a '(' that follows a name
 * character starts a fold; everything up to the matching closer is
 * replaced by the fold mark.  Brackets of other kinds inside a fold are
 * counted, so "f<(anonymous namespace)::X>" folds once.  An unbalanced
 * name (a truncated symbol) ends the fold at the end of the string.
 */
#include "viewer/cxxname.h"

#include <string.h>

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '>' || c == ']';
}

/* Length of an operator spelled at s ("operator<<", "operator()"...), or 0. */
static size_t operator_len(const char *s)
{
    static const char *const ops[] = {"operator<=>", "operator<<=", "operator>>=", "operator<<", "operator>>",
                                      "operator<=", "operator>=", "operator->*", "operator->", "operator()",
                                      "operator<", "operator>", NULL};
    for (int i = 0; ops[i]; i++)
        if (!strncmp(s, ops[i], strlen(ops[i])))
            return strlen(ops[i]);
    return 0;
}

static int is_open(char c) { return c == '<' || c == '(' || c == '[' || c == '{'; }
static int is_close(char c) { return c == '>' || c == ')' || c == ']' || c == '}'; }

/* End (one past the closer) of the bracket group opened at s[0]. */
static const char *group_end(const char *s)
{
    int depth = 0;
    for (const char *p = s; *p; p++) {
        size_t op = operator_len(p);
        if (op) {
            p += op - 1;
            continue;
        }
        if (!strncmp(p, "->", 2)) { /* a trailing return type's arrow is no closer */
            p++;
            continue;
        }
        if (is_open(*p))
            depth++;
        else if (is_close(*p) && --depth == 0)
            return p + 1;
    }
    return s + strlen(s);
}

/* Length of the code point sequence a lead byte starts. */
static size_t seq_len(unsigned char c)
{
    return c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
}

const char *ig_short_name(const char *name, char *out, size_t cap, int utf8)
{
    const char *mark = utf8 ? "\xe2\x80\xa6" : "..";
    size_t n = 0;
    int cut = 0;
    if (!cap)
        return out;
#define PUT(c)                                                                                                 \
    do {                                                                                                       \
        if (n + 1 < cap)                                                                                       \
            out[n++] = (c);                                                                                    \
        else                                                                                                   \
            cut = 1;                                                                                           \
    } while (0)
    int callable = 0; /* just after an operator name: its '(' is a parameter list */
    for (const char *p = name; *p;) {
        size_t op = operator_len(p);
        if (op) {
            for (size_t i = 0; i < op; i++)
                PUT(p[i]);
            p += op;
            callable = 1;
            continue;
        }
        int fold = 0;
        if (*p == '<')
            fold = 1;
        else if (*p == '(' && (callable || (p > name && name_char(p[-1]))) &&
                 strncmp(p, "(anonymous namespace)", 21))
            fold = 1;
        callable = 0;
        if (*p == '{' || (*p == '(' && !fold)) { /* kept whole: lambdas, (anonymous namespace) */
            const char *end = group_end(p);
            while (p < end)
                PUT(*p++);
            continue;
        }
        if (!fold) {
            PUT(*p++);
            continue;
        }
        const char *end = group_end(p);
        char close = end > p && is_close(end[-1]) ? end[-1] : (*p == '<' ? '>' : ')');
        PUT(*p);
        if (end - p > 2) /* "()" and "<>" stay as they are */
            for (const char *m = mark; *m; m++)
                PUT(*m);
        PUT(close);
        p = end;
    }
#undef PUT
    if (cut) { /* drop a code point whose bytes did not all fit */
        size_t i = n;
        while (i > 0 && ((unsigned char)out[i - 1] & 0xc0) == 0x80)
            i--;
        if (i > 0 && n - (i - 1) < seq_len((unsigned char)out[i - 1]))
            n = i - 1;
    }
    out[n] = 0;
    return out;
}
