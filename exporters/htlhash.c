/*
 * exporters/htlhash.c — process.executable.build_id.htlhash, the build id
 * the OpenTelemetry profiles specification defines for every mapped file
 * (also when its GNU build id was stripped):
 *
 *   Input   = first 4096 bytes ++ last 4096 bytes (they may overlap; not
 *             padded) ++ the file length as a big-endian uint64
 *   BuildID = the first 16 bytes of SHA-256(Input), in hex
 *
 * It names the file as it is on disk now, so it is only computed for
 * profiles of this machine just recorded, and for a file that still has
 * the GNU build id the mapping recorded (when it recorded one).  SHA-256
 * comes from libcrypto (OpenSSL, which libcurl already loads into
 * libignis-net.so), the build id from elfutils.
 */
#include "exporters/net.h"

#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096

/* Whether the ELF file open on fd has this GNU build id (lowercase hex). */
static bool has_build_id(int fd, const char *want)
{
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    if (!elf)
        return false;
    const void *id = NULL;
    ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
    bool same = n > 0 && id && strlen(want) == (size_t)n * 2;
    for (ssize_t i = 0; same && i < n; i++) {
        char hex[3];
        snprintf(hex, sizeof hex, "%02x", ((const unsigned char *)id)[i]);
        same = !memcmp(hex, want + 2 * i, 2);
    }
    elf_end(elf);
    return same;
}

static bool read_at(int fd, uint8_t *buf, size_t n, off_t at)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, buf + done, n - done, at + (off_t)done);
        if (r <= 0)
            return false;
        done += (size_t)r;
    }
    return true;
}

bool ig_htlhash_file(void *ctx, const char *filename, const char *gnu_build_id, char out[33])
{
    (void)ctx;
    if (!filename || filename[0] != '/')
        return false; /* "[vdso]", "[kernel.kallsyms]", relative names */
    int fd = open(filename, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return false;
    struct stat st;
    uint8_t input[2 * PAGE + 8];
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
              (!gnu_build_id || !*gnu_build_id || has_build_id(fd, gnu_build_id));
    size_t size = ok ? (size_t)st.st_size : 0, head = size < PAGE ? size : PAGE, tail = head;
    ok = ok && read_at(fd, input, head, 0) && read_at(fd, input + head, tail, (off_t)(size - tail));
    close(fd);
    if (!ok)
        return false;
    for (int i = 0; i < 8; i++)
        input[head + tail + (size_t)i] = (uint8_t)((uint64_t)size >> (56 - 8 * i));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(input, head + tail + 8, md, &mdlen, EVP_sha256(), NULL) || mdlen < 16)
        return false;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return true;
}
