/*
 * samples/alloc/allocexc.cc — C++ under the heap shim: throws and catches
 * 10000 exceptions (each allocated by __cxa_allocate_exception through
 * malloc) while allocating strings, so a test can check that the shim's
 * unwinder (libunwind, loaded RTLD_LOCAL) leaves the C++ exception
 * machinery alone and that allocations made before the shim's
 * constructor do not skew its sampling.  Exit 0 when every throw was
 * caught.
 */
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

int main()
{
    int caught = 0;
    for (int i = 0; i < 10000; i++) {
        try {
            std::vector<std::string> v(10, std::string(100, 'x'));
            throw std::runtime_error("e" + std::to_string(i) + v[i % 10]);
        } catch (const std::exception &e) {
            caught++;
        }
    }
    std::printf("caught %d\n", caught);
    return caught == 10000 ? 0 : 1;
}
