/*
 * bare_loop -- the benchmark's baseline: read a capture with pcap_next_ex and
 * touch every captured byte (a checksum nothing can optimise away), nothing else.
 * `make bench` divides the sensor's packets per second by this loop's.
 *
 * Usage: bare_loop FILE   prints "packets N bytes N seconds S pps P sum X"
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    if (argc != 2) {
        fprintf(stderr, "usage: bare_loop FILE\n");
        return 2;
    }
    double t0 = now();
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "bare_loop: %s\n", err);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned long long packets = 0, bytes = 0;
    unsigned sum = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        for (unsigned i = 0; i < h->caplen; i++)
            sum += d[i];
        packets++;
        bytes += h->caplen;
    }
    pcap_close(p);
    double s = now() - t0;
    printf("packets %llu bytes %llu seconds %.3f pps %.0f sum %u\n", packets, bytes, s,
           (double)packets / s, sum);
    return 0;
}
