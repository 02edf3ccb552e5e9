# utils/ — shared helpers (errors, buffers, files, gzip, hashing).
LIB_SRCS += utils/err.c utils/strbuf.c utils/fileio.c utils/hash.c utils/percent.c utils/utf8.c utils/mapguard.c utils/jsonbudget.c
TEST_BINS += tests/utils/test_utf8 tests/utils/test_mapguard tests/utils/test_jsonbudget tests/utils/test_fileio
# loading ignis's own plugin libraries (libignis-collect.so, libignis-net.so)
CLI_SRCS += utils/plugin.c
