/*
 * profiler/alloc/alloc_record.h — `ignis record --alloc`.
 *
 *   ignis record --alloc [-p PID | -- CMD ARGS...] [-d SECONDS]
 *                [-o heap.pb.gz] [--sample-bytes N] [--every N]
 *
 * -- CMD: the preload route (libignis-alloc.so, byte sampling, mean
 * interval --sample-bytes, default 512 KiB).  -p PID: the attach route
 * (uprobes on the target's allocator; --every N records one allocation in
 * N per probe).  cmd/record.c calls this when --alloc is given; argv[0]
 * is "record".  Returns the exit status (0 ok, 1 error, 2 usage).
 */
#ifndef IG_ALLOC_RECORD_H
#define IG_ALLOC_RECORD_H

int ig_alloc_record_main(int argc, char **argv);

#endif
