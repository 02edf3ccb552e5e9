# utils/ — shared helpers (errors, buffers, files, gzip, hashing).
LIB_SRCS += utils/err.c utils/strbuf.c utils/fileio.c utils/hash.c utils/percent.c utils/utf8.c utils/mapguard.c
TEST_BINS += tests/utils/test_utf8 tests/utils/test_mapguard
# loading ignis's own plugin libraries (libignis-collect.so, libignis-net.so)
CLI_SRCS += utils/plugin.c
