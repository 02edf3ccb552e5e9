/*
 * samples/cpu/cpu_shrink_lib.c — libcpu_shrink.so for cpu_shrink: two
 * functions that spin on registers and their caller's flag only, so the
 * library's code runs on after its file was cut short past its text.
 * shrink_after runs only after the cut, at addresses the profiler has not
 * unwound before, so it must read the library's (vanished) unwind tables.
 */
__attribute__((noinline)) static unsigned long shrink_leaf(unsigned long x)
{
    for (int i = 0; i < 1000000; i++)
        x = x * 6364136223846793005ul + 1442695040888963407ul;
    return x;
}

__attribute__((noinline)) static unsigned long after_leaf(unsigned long x)
{
    for (int i = 0; i < 1000000; i++)
        x = x * 2862933555777941757ul + 3037000493ul;
    return x;
}

void shrink_before(volatile int *stop)
{
    unsigned long x = 1;
    while (!*stop)
        x = shrink_leaf(x);
    __asm__ volatile("" : : "r"(x));
}

void shrink_after(volatile int *stop)
{
    unsigned long x = 1;
    while (!*stop)
        x = after_leaf(x);
    __asm__ volatile("" : : "r"(x));
}
