/*
 * utils/jsonbudget.h — what a JSON text will cost once json-c has parsed
 * it, told before it is parsed.
 *
 * json-c builds a tree whose nodes are far larger than the text they come
 * from: an object is a hash table of 16 entries (about 640 bytes) even
 * when it is "{}", two bytes of input.  A hostile or broken input made of
 * empty objects therefore grows memory about 300 times its size (a 3 KB
 * gzip of "{}," repeated decodes to 800 MB).  Every reader of JSON that
 * comes from outside (OTLP/JSON requests and files, trace JSONL lines)
 * first scans the text once, without allocating, and refuses it when the
 * tree would exceed IG_JSON_BUDGET_FLOOR plus IG_JSON_BUDGET_PER_BYTE
 * times its size: real OTLP/JSON costs 15-25 times its size, so only
 * degenerate inputs are refused.
 */
#ifndef IG_JSONBUDGET_H
#define IG_JSONBUDGET_H

#include <stddef.h>

#include "utils/err.h"

#define IG_JSON_BUDGET_FLOOR (32u << 20)
#define IG_JSON_BUDGET_PER_BYTE 40u

/* Estimated bytes of json-c's tree for the len bytes at s (strings are
 * skipped, escapes honoured; the text need not be valid). */
size_t ig_json_tree_cost(const char *s, size_t len);

/* 0 when the tree of s fits the budget; else -1 with err set to
 * "WHAT: N objects and values in M bytes would take X MiB to parse (at
 * most Y MiB)". */
int ig_json_check_budget(const char *s, size_t len, const char *what, ig_err *err);

#endif
