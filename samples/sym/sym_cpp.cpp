/*
 * samples/sym/sym_cpp.cpp — C++ names for the symbolizer tests: a function
 * template inside nested namespaces and a static member function.  Prints
 * their runtime addresses and its /proc/self/maps lines (like
 * sym_inline.c) so the tests can check the demangled names.  Built as a
 * non-PIE executable (code at 0x400000 + offset).
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace ignis_sample {
namespace detail {
template <typename T> __attribute__((noinline)) T scale(T v, int k)
{
    __asm__ volatile("" : "+r"(v));
    return v * k + 1;
}
} // namespace detail

struct Widget {
    __attribute__((noinline)) static int spin(int base, int n);
};

int Widget::spin(int base, int n)
{
    int acc = base;
    for (int i = 0; i < n; i++)
        acc = (int)detail::scale<long>(acc, i);
    return acc;
}
} // namespace ignis_sample

static void print_maps()
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    char line[8192];
    while (fgets(line, sizeof line, f))
        if (strstr(line, exe))
            printf("map %s", line);
    fclose(f);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100;
    printf("scale %p\n", (void *)&ignis_sample::detail::scale<long>);
    printf("spin %p\n", (void *)&ignis_sample::Widget::spin);
    print_maps();
    printf("result %d\n", ignis_sample::Widget::spin(3, n));
    return 0;
}
