/*
 * utils/mapguard.h — read-only file mappings that survive their file
 * shrinking.
 *
 * ignis maps files it only reads: the ELF files of a profiled process
 * (unwind tables, build ids), its own cache entries and input profiles.
 * When such a file is truncated while it is mapped — a library rebuilt in
 * place under a running service, a profile overwritten by another tool —
 * every read of a page past the new end raises SIGBUS, and a profiler
 * must not die of what its target's files do.
 *
 * Each such mapping is registered here.  Once the command has called
 * ig_mapguard_install(), a SIGBUS whose address lies in a registered
 * mapping is answered by putting a page of zeros in place of the vanished
 * one, so the read that faulted sees zeros and goes on; the readers
 * already treat every byte they map as hostile (bounds and encodings are
 * checked), so zeros end in "no unwind info" or "not an ELF", never in a
 * crash.  Each such page is counted, per registration
 * (ig_mapguard_faults: did this file change while I read it?) and for the
 * whole program (ig_mapguard_pages: did any?), so a command can say that a
 * file changed under it.  A SIGBUS anywhere else is passed to the handler
 * that was there before, or gets the default action.
 *
 * The library never installs the handler itself: a program that links
 * libignis keeps its own signal dispositions; only the ignis command opts
 * in (cmd/main.c).  Registration is lock-free for the handler (a fixed
 * table of atomic slots; writers take a mutex), so it is safe from any
 * thread.
 */
#ifndef IG_MAPGUARD_H
#define IG_MAPGUARD_H

#include <stddef.h>
#include <stdint.h>

/* Installs the SIGBUS handler once (idempotent, thread-safe).  Returns 0,
 * or -1 when sigaction fails. */
int ig_mapguard_install(void);

/* Unblocks SIGBUS in the calling thread (one system call).  A fault with
 * SIGBUS blocked never reaches the handler: the kernel ends the process
 * on the spot, silently ("Bus error").  So code that reads registered
 * mappings from inside a library that blocks every signal around its
 * callbacks calls this first: libunwind's register-state cache lock does
 * so around the unwind-table reads it asks ignis for (profiler/unwind.c).
 * The library restores the mask it saved, which is how SIGBUS gets
 * blocked again, if it was. */
void ig_mapguard_unblock(void);

/* Registers the read-only mapping [addr, addr + len).  Returns 0, or -1
 * when the table is full (the mapping then stays unguarded). */
int ig_mapguard_add(const void *addr, size_t len);

/* Forgets the mapping that starts at addr (before it is unmapped). */
void ig_mapguard_remove(const void *addr);

/* Pages replaced by zeros since the program started, in every mapping. */
uint64_t ig_mapguard_pages(void);

/* Pages replaced by zeros in the mapping registered at addr, since it was
 * registered; 0 when none is registered there.  A fault in any other
 * mapping, on any thread, never changes it. */
uint64_t ig_mapguard_faults(const void *addr);

#endif
