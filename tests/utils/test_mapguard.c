/*
 * tests/utils/test_mapguard.c — a registered read-only file mapping whose
 * file shrinks reads zeros past the new end, and each such page is
 * counted, for its own registration and for the program (a fault in one
 * mapping leaves another's count alone); an unregistered one still dies
 * of SIGBUS (checked in a child),
 * so the handler hides nothing it was not asked to; a fault with SIGBUS
 * blocked is fatal whatever the handler, unless ig_mapguard_unblock ran.  cmocka puts its own
 * SIGBUS handler around each test, so every case runs in a child that
 * starts from the default disposition and installs the guard itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "utils/mapguard.h"

#define PAGES 4

/* A file of PAGES pages of 0xab, mapped read-only (NULL on failure);
 * *fd stays open. */
static const volatile unsigned char *mapped_file(int *fd)
{
    char path[] = "/tmp/ignis-mapguard.XXXXXX";
    *fd = mkstemp(path);
    if (*fd < 0)
        return NULL;
    unlink(path);
    unsigned char page[4096];
    memset(page, 0xab, sizeof page);
    for (int i = 0; i < PAGES; i++)
        if (write(*fd, page, sizeof page) != (ssize_t)sizeof page)
            return NULL;
    void *m = mmap(NULL, PAGES * 4096, PROT_READ, MAP_PRIVATE, *fd, 0);
    return m == MAP_FAILED ? NULL : m;
}

/* Runs fn in a child with SIGBUS at its default action, the guard
 * installed; returns the child's wait status. */
static int in_child(int (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL);
        if (ig_mapguard_install() != 0)
            _exit(100);
        _exit(fn());
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

/* The checks of a child: a failed one exits with its line number. */
#define CHECK(c) do { if (!(c)) return __LINE__ % 256 ? __LINE__ % 256 : 1; } while (0)

static int read_past_the_cut(void)
{
    int fd;
    const volatile unsigned char *m = mapped_file(&fd);
    CHECK(m && ig_mapguard_add((const void *)m, PAGES * 4096) == 0);
    CHECK(m[3 * 4096] == 0xab);
    CHECK(ig_mapguard_pages() == 0);
    CHECK(ftruncate(fd, 4096) == 0);
    CHECK(m[0] == 0xab);         /* still in the file */
    CHECK(m[2 * 4096 + 7] == 0); /* vanished: zeros, no SIGBUS */
    CHECK(m[3 * 4096] == 0);
    CHECK(m[3 * 4096 + 1] == 0); /* the same page: counted once */
    CHECK(ig_mapguard_pages() == 2);
    CHECK(ig_mapguard_faults((const void *)m) == 2);
    ig_mapguard_remove((const void *)m);
    CHECK(ig_mapguard_faults((const void *)m) == 0); /* forgotten */
    munmap((void *)m, PAGES * 4096);
    return 0;
}

/* Two guarded mappings, A's file cut: A's faults count for A (and the
 * program), never for B; a fresh registration in A's slot starts at 0. */
static int faults_per_mapping(void)
{
    int fa, fb;
    const volatile unsigned char *a = mapped_file(&fa), *b = mapped_file(&fb);
    CHECK(a && b);
    CHECK(ig_mapguard_add((const void *)a, PAGES * 4096) == 0);
    CHECK(ig_mapguard_add((const void *)b, PAGES * 4096) == 0);
    CHECK(ftruncate(fa, 4096) == 0);
    CHECK(a[2 * 4096] == 0 && a[3 * 4096] == 0);
    CHECK(b[3 * 4096] == 0xab);
    CHECK(ig_mapguard_faults((const void *)a) == 2);
    CHECK(ig_mapguard_faults((const void *)b) == 0);
    CHECK(ig_mapguard_pages() == 2);
    CHECK(ig_mapguard_faults((const void *)(a + 4096)) == 0); /* asked by start address only */
    CHECK(ftruncate(fb, 4096) == 0);
    CHECK(b[3 * 4096] == 0);
    CHECK(ig_mapguard_faults((const void *)b) == 1);
    CHECK(ig_mapguard_faults((const void *)a) == 2);
    CHECK(ig_mapguard_pages() == 3);
    ig_mapguard_remove((const void *)a);
    int fc;
    const volatile unsigned char *c = mapped_file(&fc);
    CHECK(c && ig_mapguard_add((const void *)c, PAGES * 4096) == 0); /* takes A's slot */
    CHECK(ig_mapguard_faults((const void *)c) == 0);
    CHECK(ig_mapguard_faults((const void *)b) == 1);
    return 0;
}

static void faults_count_per_mapping(void **state)
{
    (void)state;
    int status = in_child(faults_per_mapping);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void shrunk_pages_read_as_zeros(void **state)
{
    (void)state;
    int status = in_child(read_past_the_cut);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static int read_unguarded(void)
{
    int fd;
    const volatile unsigned char *m = mapped_file(&fd);
    CHECK(m);
    ig_mapguard_add((const void *)m, PAGES * 4096);
    ig_mapguard_remove((const void *)m); /* forgotten before the cut */
    CHECK(ftruncate(fd, 4096) == 0);
    return m[3 * 4096] + 50; /* SIGBUS, with the default action */
}

static void unregistered_mappings_still_fault(void **state)
{
    (void)state;
    int status = in_child(read_unguarded);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGBUS);
}

/* A registered page read with every signal blocked (as inside
 * libunwind's cache lock): the kernel would end the process on the spot;
 * after ig_mapguard_unblock the guard answers it, and only SIGBUS was
 * unblocked. */
static int read_blocked(void)
{
    int fd;
    const volatile unsigned char *m = mapped_file(&fd);
    CHECK(m && ig_mapguard_add((const void *)m, PAGES * 4096) == 0);
    CHECK(ftruncate(fd, 4096) == 0);
    sigset_t all, now;
    sigfillset(&all);
    CHECK(pthread_sigmask(SIG_SETMASK, &all, NULL) == 0);
    ig_mapguard_unblock();
    CHECK(m[3 * 4096] == 0);
    CHECK(ig_mapguard_faults((const void *)m) == 1);
    CHECK(pthread_sigmask(SIG_SETMASK, NULL, &now) == 0);
    CHECK(!sigismember(&now, SIGBUS) && sigismember(&now, SIGUSR1) && sigismember(&now, SIGINT));
    return 0;
}

static int read_blocked_without_unblock(void)
{
    int fd;
    const volatile unsigned char *m = mapped_file(&fd);
    CHECK(m && ig_mapguard_add((const void *)m, PAGES * 4096) == 0);
    CHECK(ftruncate(fd, 4096) == 0);
    sigset_t bus;
    sigemptyset(&bus);
    sigaddset(&bus, SIGBUS);
    CHECK(pthread_sigmask(SIG_BLOCK, &bus, NULL) == 0);
    return m[3 * 4096] + 50; /* SIGBUS blocked: the kernel's default action */
}

static void faults_with_sigbus_blocked(void **state)
{
    (void)state;
    int status = in_child(read_blocked_without_unblock);
    assert_true(WIFSIGNALED(status)); /* why ig_mapguard_unblock exists */
    assert_int_equal(WTERMSIG(status), SIGBUS);
    status = in_child(read_blocked);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void bad_registrations_are_refused(void **state)
{
    (void)state;
    assert_int_equal(ig_mapguard_add(NULL, 4096), -1);
    assert_int_equal(ig_mapguard_add((const void *)4096, 0), -1);
    assert_int_equal(ig_mapguard_add((const void *)UINTPTR_MAX, 2), -1); /* wraps */
    ig_mapguard_remove(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shrunk_pages_read_as_zeros),
        cmocka_unit_test(faults_count_per_mapping),
        cmocka_unit_test(unregistered_mappings_still_fault),
        cmocka_unit_test(faults_with_sigbus_blocked),
        cmocka_unit_test(bad_registrations_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
