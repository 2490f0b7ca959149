/*
 * fuzz_savefile -- classic pcap files as the direct reader reads them: the header
 * and record parsers over the whole input, and the chunked reader over the same
 * bytes (an in-memory file, read a few bytes at a time so that records straddle
 * chunks).  Both must see the same records and the same end; a difference
 * aborts.
 */
#include "fuzz.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "savefile.h"

/* What a whole read saw. */
struct tally {
    size_t count; /* records */
    uint64_t sum; /* of their fields and bytes */
    int end;      /* -ENODATA or -EIO */
};

static void add(struct tally *t, const struct savefile_rec *rec, const uint8_t *data)
{
    t->count++;
    t->sum = t->sum * 31 + rec->ts_usec + rec->caplen * 7u + rec->wirelen * 13u;
    for (uint32_t i = 0; i < rec->caplen; i++)
        t->sum = t->sum * 3 + data[i];
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    if (size > (64u << 10))
        return 0;
    struct tally a = {0, 0, 0}, b = {0, 0, 0};
    struct rd r = rd_make(data, size);
    struct savefile_hdr h;
    int hrc = savefile_parse_header(&r, &h);
    if (hrc == 0) {
        for (;;) {
            struct savefile_rec rec;
            const uint8_t *p;
            enum savefile_rc rc = savefile_parse_record(&r, &h, &rec, &p);
            if (rc != SAVEFILE_OK) {
                a.end = rc == SAVEFILE_SHORT && rd_left(&r) == 0 ? -ENODATA : -EIO;
                break;
            }
            add(&a, &rec, p);
        }
    }
    int fd = (int)syscall(SYS_memfd_create, "fuzz_savefile", 0);
    if (fd < 0)
        return 0;
    if ((size && write(fd, data, size) != (ssize_t)size) || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return 0;
    }
    struct savefile *sf;
    int orc = savefile_open(fd, 1 + size % 61, &sf);
    if ((orc == 0) != (hrc == 0))
        abort();
    if (orc < 0)
        return 0;
    for (;;) {
        struct savefile_rec rec;
        const uint8_t *p;
        int rc = savefile_next(sf, &rec, &p);
        if (rc == SAVEFILE_RECYCLE)
            continue;
        if (rc != 1) {
            b.end = rc;
            break;
        }
        add(&b, &rec, p);
    }
    savefile_close(sf);
    if (a.count != b.count || a.sum != b.sum || a.end != b.end)
        abort();
    return 0;
}
