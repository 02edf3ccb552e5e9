/*
 * viewer/cxxname.h — long C++ names folded for display.
 *
 * "std::vector<int, std::allocator<int> >::push_back(int const&)" reads
 * as "std::vector<…>::push_back()": template argument lists and parameter
 * lists are folded (one level shows their brackets, the inside becomes an
 * ellipsis), the rest is kept, so a name stays recognisable in a narrow
 * frame.  "(anonymous namespace)", lambdas ("{lambda(int)#1}") and the
 * operators <, <<, <=, <=>, >, >>, ->, () keep their characters.  Names
 * that are not C++ come back unchanged.
 */
#ifndef IG_VIEWER_CXXNAME_H
#define IG_VIEWER_CXXNAME_H

#include <stddef.h>

/* Writes the folded form of name into out (cap bytes, NUL-terminated,
 * cut on a code point boundary when it does not fit); returns out.
 * utf8: use "…" for the fold, else "..". */
const char *ig_short_name(const char *name, char *out, size_t cap, int utf8);

#endif
