/*
 * capture -- see capture.h.  libpcap's errors, and the direct reader's, are
 * logged here, once, with the source they concern; callers get a negative errno.
 *
 * The direct reader is used only when it would see the file exactly as libpcap
 * does: a regular file (the same one libpcap opened), a classic header libpcap
 * agrees with (byte order, version, snap length), and no pseudo-header libpcap
 * would rewrite in a byte-swapped file (Linux cooked captures of CAN frames).
 * Otherwise the file is read through libpcap, as before.
 */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "decode.h"
#include "log.h"
#include "savefile.h"

struct capture {
    pcap_t *pcap;             /* the handle */
    bool live;                /* interface (true) or file */
    char source[256];         /* interface or file name */
    int linktype;             /* pcap_datalink() */
    double speed;             /* replay speed, 0 flat out */
    bool paced;               /* first packet seen: pacing origin set */
    uint64_t origin_pkt_usec; /* first packet's timestamp */
    uint64_t origin_mono_usec;/* monotonic time when it was delivered */
    volatile sig_atomic_t stop; /* set by capture_stop() */
    int fd;                   /* live: selectable descriptor (non-blocking handle), else -1 */
    int timeout_ms;           /* live: longest wait in capture_next() when idle */
    struct savefile *sf;      /* file: the direct reader, or NULL for libpcap's */
    struct bpf_program prog;  /* direct reader: the compiled filter */
    bool filtering;           /* direct reader: prog is set */
};

static int errno_from_pcap(const char *msg)
{
    if (strstr(msg, "No such file") || strstr(msg, "No such device") ||
        strstr(msg, "doesn't exist"))
        return -ENOENT;
    if (strstr(msg, "ermission") || strstr(msg, "not permitted"))
        return -EPERM;
    return -EIO;
}

static int install_filter(struct capture *c, const char *filter)
{
    struct bpf_program prog;
    if (!filter || !filter[0])
        return 0;
    if (pcap_compile(c->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        log_err("capture: %s: bad filter '%s': %s", c->source, filter, pcap_geterr(c->pcap));
        return -EINVAL;
    }
    if (c->sf) {
        /* Run by capture_next() with pcap_offline_filter(), as libpcap runs it on files. */
        c->prog = prog;
        c->filtering = true;
        return 0;
    }
    int rc = 0;
    if (pcap_setfilter(c->pcap, &prog) < 0) {
        log_err("capture: %s: cannot install filter: %s", c->source, pcap_geterr(c->pcap));
        rc = -EIO;
    }
    pcap_freecode(&prog);
    return rc;
}

static int open_live(struct capture *c, const struct capture_opts *o)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    c->pcap = pcap_create(o->iface, err);
    if (!c->pcap) {
        log_err("capture: %s: %s", o->iface, err);
        return errno_from_pcap(err);
    }
    int snap = (int)(o->snaplen ? o->snaplen : CAPTURE_DEFAULT_SNAPLEN);
    if (pcap_set_snaplen(c->pcap, snap) != 0 || pcap_set_promisc(c->pcap, o->promisc) != 0 ||
        pcap_set_timeout(c->pcap, o->timeout_ms ? o->timeout_ms : CAPTURE_DEFAULT_TIMEOUT_MS) != 0 ||
        pcap_set_immediate_mode(c->pcap, o->immediate) != 0 ||
        (o->buffer_bytes && pcap_set_buffer_size(c->pcap, (int)o->buffer_bytes) != 0)) {
        log_err("capture: %s: cannot set capture options", o->iface);
        return -EIO;
    }
    int rc = pcap_activate(c->pcap);
    if (rc < 0) {
        const char *msg = pcap_geterr(c->pcap);
        log_err("capture: %s: %s%s%s", o->iface, pcap_statustostr(rc), msg[0] ? ": " : "", msg);
        if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
            return -ENODEV;
        if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED)
            return -EPERM;
        return -EIO;
    }
    if (rc > 0)
        log_warn("capture: %s: %s: %s", o->iface, pcap_statustostr(rc), pcap_geterr(c->pcap));
    /*
     * On a quiet link libpcap may block for good (TPACKET_V3 and immediate mode
     * wait for a packet, not for the timeout), and the loop would then run no
     * console command and no tick.  A non-blocking handle polled with our own
     * timeout keeps capture_next() returning at least every timeout_ms.
     */
    c->timeout_ms = o->timeout_ms ? o->timeout_ms : CAPTURE_DEFAULT_TIMEOUT_MS;
    if (pcap_setnonblock(c->pcap, 1, err) == 0)
        c->fd = pcap_get_selectable_fd(c->pcap);
    else
        log_warn("capture: %s: cannot make the handle non-blocking: %s", o->iface, err);
    return 0;
}

/* Sets c->sf when the direct reader sees the file as libpcap does; else leaves it NULL. */
static void open_direct(struct capture *c, const char *file)
{
    FILE *pf = pcap_file(c->pcap);
    struct stat st, pst;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (!pf || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fstat(fileno(pf), &pst) < 0 ||
        st.st_dev != pst.st_dev || st.st_ino != pst.st_ino) {
        close(fd);
        return;
    }
    struct savefile *sf;
    if (savefile_open(fd, 0, &sf) < 0)
        return; /* pcapng, or a variant libpcap knows better */
    const struct savefile_hdr *h = savefile_header(sf);
    int lt = pcap_datalink(c->pcap);
    if (h->swapped != (pcap_is_swapped(c->pcap) != 0) ||
        h->version_major != pcap_major_version(c->pcap) ||
        h->version_minor != pcap_minor_version(c->pcap) ||
        pcap_snapshot(c->pcap) < 0 || h->snapshot != (uint32_t)pcap_snapshot(c->pcap) ||
        (h->swapped && (lt == DLT_LINUX_SLL || lt == DLT_LINUX_SLL2))) {
        savefile_close(sf);
        return;
    }
    c->sf = sf;
}

static int open_file(struct capture *c, const struct capture_opts *o)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    c->pcap = pcap_open_offline_with_tstamp_precision(o->file, PCAP_TSTAMP_PRECISION_MICRO, err);
    if (!c->pcap) {
        log_err("capture: %s: %s", o->file, err);
        return errno_from_pcap(err);
    }
    if (!o->libpcap_files && strcmp(o->file, "-") != 0)
        open_direct(c, o->file);
    log_debug("capture: %s: read %s", o->file, c->sf ? "directly" : "through libpcap");
    return 0;
}

int capture_open(const struct capture_opts *o, struct capture **out)
{
    *out = NULL;
    if ((o->iface == NULL) == (o->file == NULL))
        return -EINVAL;
    struct capture *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->live = o->iface != NULL;
    c->fd = -1;
    snprintf(c->source, sizeof(c->source), "%s", c->live ? o->iface : o->file);
    c->speed = c->live ? 0 : o->replay_speed;
    int rc = c->live ? open_live(c, o) : open_file(c, o);
    if (rc < 0)
        goto fail;
    c->linktype = pcap_datalink(c->pcap);
    if (!decode_link_is_supported(c->linktype)) {
        const char *name = pcap_datalink_val_to_name(c->linktype);
        log_err("capture: %s: link type %d (%s) is not supported", c->source, c->linktype,
                name ? name : "unknown");
        rc = -EINVAL;
        goto fail;
    }
    rc = install_filter(c, o->filter);
    if (rc < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    capture_close(c);
    return rc;
}

void capture_close(struct capture *c)
{
    if (!c)
        return;
    if (c->filtering)
        pcap_freecode(&c->prog);
    savefile_close(c->sf);
    if (c->pcap)
        pcap_close(c->pcap);
    free(c);
}

void capture_stop(struct capture *c)
{
    if (c)
        c->stop = 1;
}

/* Sleeps until the packet's paced time; false if stopped while waiting. */
static bool pace(struct capture *c, uint64_t ts)
{
    if (!c->paced) {
        c->paced = true;
        c->origin_pkt_usec = ts;
        c->origin_mono_usec = clock_mono_usec();
        return true;
    }
    if (ts <= c->origin_pkt_usec)
        return true;
    uint64_t due = c->origin_mono_usec + (uint64_t)((double)(ts - c->origin_pkt_usec) / c->speed);
    for (;;) {
        if (c->stop)
            return false;
        uint64_t now = clock_mono_usec();
        if (now >= due)
            return true;
        uint64_t wait = due - now;
        if (wait > 100000)
            wait = 100000; /* wake up to notice a stop */
        struct timespec t = {(time_t)(wait / 1000000), (long)(wait % 1000000) * 1000};
        nanosleep(&t, NULL);
    }
}

/* capture_next() for the direct reader. */
static int next_direct(struct capture *c, struct capture_pkt *out)
{
    struct savefile_rec rec;
    const uint8_t *data;
    for (;;) {
        int rc = savefile_next(c->sf, &rec, &data);
        if (rc == SAVEFILE_RECYCLE)
            return CAPTURE_RECYCLE;
        if (rc == -ENODATA)
            return rc;
        if (rc < 0) {
            log_err("capture: %s: %s", c->source, savefile_error(c->sf));
            return -EIO;
        }
        if (c->filtering) {
            struct pcap_pkthdr h;
            memset(&h, 0, sizeof(h));
            h.caplen = rec.caplen;
            h.len = rec.wirelen;
            if (!pcap_offline_filter(&c->prog, &h, data))
                continue;
        }
        out->data = data;
        out->caplen = rec.caplen;
        out->wirelen = rec.wirelen;
        out->ts_usec = rec.ts_usec;
        out->stable = true;
        if (c->speed > 0 && !pace(c, out->ts_usec))
            return -ENODATA;
        return 1;
    }
}

int capture_next(struct capture *c, struct capture_pkt *out)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    if (c->stop)
        return c->live ? 0 : -ENODATA;
    if (c->sf)
        return next_direct(c, out);
    int rc = pcap_next_ex(c->pcap, &h, &data);
    if (rc == 0 && c->fd >= 0) {
        struct pollfd pfd = {c->fd, POLLIN, 0};
        if (poll(&pfd, 1, c->timeout_ms) > 0)
            rc = pcap_next_ex(c->pcap, &h, &data);
    }
    if (rc == 1) {
        out->data = data;
        out->caplen = h->caplen;
        out->wirelen = h->len;
        out->ts_usec = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        out->stable = false;
        if (c->speed > 0 && !pace(c, out->ts_usec))
            return -ENODATA;
        return 1;
    }
    if (rc == 0)
        return 0;
    if (rc == PCAP_ERROR_BREAK)
        return c->live ? 0 : -ENODATA;
    log_err("capture: %s: %s", c->source, pcap_geterr(c->pcap));
    return -EIO;
}

int capture_linktype(const struct capture *c)
{
    return c->linktype;
}

bool capture_is_live(const struct capture *c)
{
    return c->live;
}

bool capture_is_direct(const struct capture *c)
{
    return c->sf != NULL;
}

const char *capture_source(const struct capture *c)
{
    return c->source;
}

int capture_stats(struct capture *c, struct capture_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!c->live)
        return -ENOTSUP;
    struct pcap_stat st;
    if (pcap_stats(c->pcap, &st) < 0)
        return -EIO;
    out->received = st.ps_recv;
    out->dropped = (uint64_t)st.ps_drop + st.ps_ifdrop;
    return 0;
}
