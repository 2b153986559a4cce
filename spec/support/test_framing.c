/* Framing cases from byte literals over the in-memory transport, and the
 * fault layer over it: headers, sequence ids, the 0xFFFFFF boundary,
 * reassembly and splitting, ceilings, deadlines, short reads.  No server,
 * no socket.  Then the connection's policy over the framer (conn_io.c):
 * a login scripted from captured packets, and what each framer failure
 * becomes for the connection.
 *
 * Prints one line per case, "ok NAME" or "not ok NAME: what differed", and
 * exits 0 only when every case is ok.  spec/02-framing_spec.lua runs it and
 * turns each line into a busted test. */
#define _DEFAULT_SOURCE /* TCP_KEEPIDLE & co. on glibc */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../src/core/conn.h"
#include "../../src/core/packet.h"
#include "../../src/core/transport_mem.h"
#include "framer_cases.h"
#include "captured_packets.h"
#include "fault.h"

#define CHUNK 0xFFFFFFu

/* ---- harness ----------------------------------------------------------- */

/* One case's framer and memory transport, torn down after it. */
static myl_framer fr;
static myl_mem_transport *mem;
static myl_transport *top; /* what the framer reads: mem, or a layer over it */

static void setup(size_t chunk, myl_mem_end end)
{
    memset(&fr, 0, sizeof fr);
    mem = myl_mem_open(chunk, end);
    if (!mem) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    top = &mem->base;
    myl_framer_reset(&fr, top);
}

static void teardown(void)
{
    myl_framer_free(&fr);
    if (top) top->close(top); /* closes mem below it, if layered */
    top = NULL;
    mem = NULL;
}

static void run(const char *name, int (*fn)(void))
{
    why[0] = '\0';
    setup(0, MYL_MEM_END_CLOSED);
    int ok = fn();
    teardown();
    report(name, ok);
}

static void feed(const void *p, size_t n)
{
    if (myl_mem_feed(mem, p, n)) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
}

/* Feeds a physical header: length n, sequence id seq. */
static void feed_header(size_t n, unsigned seq)
{
    uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)seq};
    feed(h, 4);
}

/* Feeds n bytes of the pattern byte(i) = (i * 7 + salt) & 0xFF. */
static void feed_pattern(size_t n, unsigned salt)
{
    uint8_t block[4096];
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < sizeof block ? n - done : sizeof block;
        for (size_t i = 0; i < k; i++) block[i] = (uint8_t)((done + i) * 7 + salt);
        feed(block, k);
        done += k;
    }
}

/* Index of the first byte of p[0..n) off the pattern, or n. */
static size_t pattern_diff(const uint8_t *p, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(i * 7 + salt)) return i;
    return n;
}

static double deadline_in(double s) { return myl_now() + s; }

/* Replaces the memory transport the case reads from (chunking, end). */
static void use_mem(size_t chunk, myl_mem_end end)
{
    mem->chunk = chunk;
    mem->end = end;
}

/* ---- headers and sequence ids ----------------------------------------- */

static int case_header(void)
{
    static const uint8_t in[] = {0x05, 0x00, 0x00, 0x00, 'h', 'e', 'l', 'l', 'o'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 5 && memcmp(p, "hello", 5) == 0);
    EXPECT(fr.seq == 1);
    return 1;
}

static int case_header_length_little_endian(void)
{
    /* 0x000102 = 258 bytes */
    feed_header(0x000102, 0);
    feed_pattern(0x102, 3);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 258);
    EXPECT(pattern_diff(p, n, 3) == n);
    return 1;
}

static int case_empty_payload(void)
{
    static const uint8_t in[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0xFE};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 0);
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 1 && p[0] == 0xFE);
    return 1;
}

static int case_sequence_follows(void)
{
    static const uint8_t in[] = {1, 0, 0, 0, 'a', 1, 0, 0, 1, 'b', 1, 0, 0, 2, 'c'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    for (int i = 0; i < 3; i++) {
        EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
        EXPECT(n == 1 && p[0] == 'a' + i);
    }
    EXPECT(fr.seq == 3);
    return 1;
}

static int case_sequence_wrong(void)
{
    static const uint8_t in[] = {1, 0, 0, 1, 'a'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OUT_OF_ORDER);
    EXPECT(strstr(myl_framer_errmsg(&fr), "got sequence id 1, expected 0") != NULL);
    return 1;
}

static int case_sequence_error_is_sticky(void)
{
    static const uint8_t in[] = {1, 0, 0, 5, 'a', 1, 0, 0, 0, 'b'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OUT_OF_ORDER);
    fr.seq = 0; /* even a caller that fiddles with the sequence gets the failure again */
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OUT_OF_ORDER);
    EXPECT_ST(myl_framer_begin(&fr, 1), MYL_FR_OK);
    EXPECT_ST(myl_framer_send(&fr, 0), MYL_FR_OUT_OF_ORDER);
    EXPECT(mem->out.len == 0);
    myl_framer_reset(&fr, top); /* a new exchange starts clean */
    EXPECT(myl_framer_status(&fr) == MYL_FR_OK);
    return 1;
}

static int case_sequence_wraps(void)
{
    static const uint8_t in[] = {1, 0, 0, 255, 'a', 1, 0, 0, 0, 'b'};
    feed(in, sizeof in);
    fr.seq = 255;
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 1 && p[0] == 'b' && fr.seq == 1);
    return 1;
}

static int case_new_command(void)
{
    fr.seq = 7;
    myl_framer_new_command(&fr);
    EXPECT(fr.seq == 0);
    EXPECT(mem->commands == 1);
    /* a command goes out with sequence 0, its answer comes back with 1 */
    EXPECT_ST(myl_framer_begin(&fr, 1), MYL_FR_OK);
    myl_buf_put_u8(&fr.out, 0x0E);
    EXPECT_ST(myl_framer_send(&fr, 0), MYL_FR_OK);
    static const uint8_t want[] = {1, 0, 0, 0, 0x0E};
    EXPECT(mem->out.len == 5 && memcmp(mem->out.data, want, 5) == 0);
    static const uint8_t ok[] = {7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
    feed(ok, sizeof ok);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 7 && p[0] == 0);
    return 1;
}

static int case_truncated_header(void)
{
    static const uint8_t in[] = {5, 0};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_CLOSED);
    EXPECT(strstr(myl_framer_errmsg(&fr), "closed by the peer") != NULL);
    return 1;
}

static int case_truncated_body(void)
{
    static const uint8_t in[] = {5, 0, 0, 0, 'a', 'b'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_CLOSED);
    return 1;
}

static int case_no_transport(void)
{
    myl_framer_reset(&fr, NULL);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_NO_TRANSPORT);
    return 1;
}

/* ---- the 0xFFFFFF boundary, reassembly, splitting ----------------------- */

static int case_exact_chunk_then_empty(void)
{
    feed_header(CHUNK, 0);
    feed_pattern(CHUNK, 1);
    feed_header(0, 1);
    static const uint8_t next[] = {1, 0, 0, 2, 'z'};
    feed(next, sizeof next);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == CHUNK);
    EXPECT(pattern_diff(p, n, 1) == n);
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 1 && p[0] == 'z');
    return 1;
}

static int case_exact_chunk_without_continuation(void)
{
    /* a full chunk promises another: the packet is not complete without it */
    feed_header(CHUNK, 0);
    feed_pattern(CHUNK, 1);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_CLOSED);
    return 1;
}

static int case_reassembly(void)
{
    /* 2 * 0xFFFFFF + 10 bytes in three chunks, the pattern running across */
    size_t total = 2 * (size_t)CHUNK + 10;
    myl_buf all = {0};
    if (myl_buf_reserve(&all, total)) return fail("out of memory");
    for (size_t i = 0; i < total; i++) all.data[i] = (uint8_t)(i * 7 + 5);
    all.len = total;
    feed_header(CHUNK, 0);
    feed(all.data, CHUNK);
    feed_header(CHUNK, 1);
    feed(all.data + CHUNK, CHUNK);
    feed_header(10, 2);
    feed(all.data + 2 * (size_t)CHUNK, 10);
    myl_buf_free(&all);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == total);
    EXPECT(pattern_diff(p, n, 5) == n);
    EXPECT(fr.seq == 3);
    return 1;
}

static int case_reassembly_checks_sequence(void)
{
    feed_header(CHUNK, 0);
    feed_pattern(CHUNK, 1);
    feed_header(3, 2); /* should be 1 */
    feed_pattern(3, 1);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OUT_OF_ORDER);
    return 1;
}

/* Checks that mem->out holds `payload_len` bytes of pattern `salt` framed
 * as chunks with sequence ids from 0. */
static int check_split(size_t payload_len, unsigned salt)
{
    const uint8_t *o = mem->out.data;
    size_t left = payload_len, at = 0, pos = 0;
    unsigned seq = 0;
    for (;;) {
        size_t n = left < CHUNK ? left : CHUNK;
        if (mem->out.len < at + 4) return fail("output ends before header %u", seq);
        size_t hl = (size_t)o[at] | ((size_t)o[at + 1] << 8) | ((size_t)o[at + 2] << 16);
        if (hl != n || o[at + 3] != seq)
            return fail("header %u: length %zu seq %u, expected %zu seq %u", seq, hl, o[at + 3],
                        n, seq);
        if (mem->out.len < at + 4 + n) return fail("output ends inside chunk %u", seq);
        for (size_t i = 0; i < n; i++)
            if (o[at + 4 + i] != (uint8_t)((pos + i) * 7 + salt))
                return fail("chunk %u byte %zu differs", seq, i);
        at += 4 + n;
        pos += n;
        left -= n;
        seq++;
        if (n < CHUNK) break;
    }
    if (at != mem->out.len) return fail("%zu bytes written after the packet", mem->out.len - at);
    if (fr.seq != seq) return fail("next sequence %u, expected %u", fr.seq, seq);
    return 1;
}

static int send_pattern(size_t n, unsigned salt)
{
    if (myl_framer_begin(&fr, n) != MYL_FR_OK) return fail("begin: %s", myl_framer_errmsg(&fr));
    for (size_t i = 0; i < n; i++) fr.out.data[fr.out.len + i] = (uint8_t)(i * 7 + salt);
    fr.out.len += n;
    myl_fr_status st = myl_framer_send(&fr, 0);
    if (st != MYL_FR_OK) return fail("send: %s", myl_framer_errmsg(&fr));
    return 1;
}

static int case_write_small(void)
{
    if (!send_pattern(5, 2)) return 0;
    EXPECT(mem->flushes == 1);
    return check_split(5, 2);
}

static int case_write_empty(void)
{
    if (!send_pattern(0, 2)) return 0;
    static const uint8_t want[] = {0, 0, 0, 0};
    EXPECT(mem->out.len == 4 && memcmp(mem->out.data, want, 4) == 0);
    return 1;
}

static int case_write_exact_chunk(void)
{
    if (!send_pattern(CHUNK, 4)) return 0;
    /* the full chunk is followed by an empty one */
    EXPECT(mem->out.len == 4 + (size_t)CHUNK + 4);
    return check_split(CHUNK, 4);
}

static int case_write_split(void)
{
    size_t n = (size_t)CHUNK + 5;
    if (!send_pattern(n, 6)) return 0;
    EXPECT(mem->out.len == 4 + (size_t)CHUNK + 4 + 5);
    EXPECT(mem->flushes == 1);
    return check_split(n, 6);
}

static int case_write_two_full_chunks(void)
{
    size_t n = 2 * (size_t)CHUNK;
    if (!send_pattern(n, 8)) return 0;
    EXPECT(mem->out.len == 3 * 4 + n);
    return check_split(n, 8);
}

/* ---- ceilings ---------------------------------------------------------- */

static int case_ceiling_exact_is_accepted(void)
{
    fr.max_packet = 100;
    feed_header(100, 0);
    feed_pattern(100, 1);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 100);
    return 1;
}

static int case_ceiling_before_body(void)
{
    /* only the header arrives: refusing it must not wait for the body */
    fr.max_packet = 100;
    use_mem(0, MYL_MEM_END_WAIT);
    feed_header(101, 0);
    const uint8_t *p;
    size_t n;
    double t0 = myl_now();
    EXPECT_ST(myl_framer_read(&fr, deadline_in(2), &p, &n), MYL_FR_TOO_LARGE);
    EXPECT(myl_now() - t0 < 1);
    EXPECT(strstr(myl_framer_errmsg(&fr), "bigger than 'max_packet' (100 bytes)") != NULL);
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_TOO_LARGE); /* sticky */
    return 1;
}

static int case_ceiling_no_allocation(void)
{
    /* a header claiming 0xFFFFFF bytes under a 1 MiB ceiling: no 16 MiB buffer */
    fr.max_packet = 1 << 20;
    feed_header(CHUNK, 0);
    feed_pattern(1000, 1);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_TOO_LARGE);
    EXPECT(fr.in.cap < (1u << 20));
    EXPECT(fr.big.cap == 0);
    return 1;
}

static int case_ceiling_across_chunks(void)
{
    /* 0xFFFFFF + 11 bytes under a ceiling of 0xFFFFFF + 10: refused at the
     * second header, before its body (which never comes) */
    fr.max_packet = (size_t)CHUNK + 10;
    feed_header(CHUNK, 0);
    feed_pattern(CHUNK, 1);
    feed_header(11, 1);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_TOO_LARGE);
    return 1;
}

static int case_ceiling_across_chunks_exact(void)
{
    fr.max_packet = (size_t)CHUNK + 10;
    feed_header(CHUNK, 0);
    feed_pattern(CHUNK, 1);
    feed_header(10, 1);
    feed_pattern(10, 2);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == (size_t)CHUNK + 10);
    return 1;
}

static int case_ceiling_outgoing(void)
{
    fr.max_packet = 100;
    /* a hint over the ceiling is refused at once */
    EXPECT_ST(myl_framer_begin(&fr, 101), MYL_FR_TOO_LARGE);
    /* a payload that grew past it is refused before any byte is written */
    EXPECT_ST(myl_framer_begin(&fr, 10), MYL_FR_OK);
    if (myl_buf_reserve(&fr.out, 101)) return fail("out of memory");
    memset(fr.out.data + fr.out.len, 'x', 101);
    fr.out.len += 101;
    EXPECT_ST(myl_framer_send(&fr, 0), MYL_FR_TOO_LARGE);
    EXPECT(strstr(myl_framer_errmsg(&fr), "101 bytes") != NULL);
    EXPECT(mem->out.len == 0 && mem->writes == 0);
    /* not sticky: nothing was sent, the exchange is still in sync */
    EXPECT(myl_framer_status(&fr) == MYL_FR_OK);
    if (!send_pattern(100, 3)) return 0;
    return check_split(100, 3);
}

/* ---- deadlines --------------------------------------------------------- */

static int case_deadline_silent_peer(void)
{
    use_mem(0, MYL_MEM_END_WAIT);
    const uint8_t *p;
    size_t n;
    double t0 = myl_now();
    EXPECT_ST(myl_framer_read(&fr, deadline_in(0.05), &p, &n), MYL_FR_TIMEOUT);
    double took = myl_now() - t0;
    EXPECT(took >= 0.04 && took < 1.0);
    EXPECT_ST(myl_framer_read(&fr, deadline_in(5), &p, &n), MYL_FR_TIMEOUT); /* sticky */
    return 1;
}

static int case_deadline_after_header(void)
{
    use_mem(0, MYL_MEM_END_WAIT);
    feed_header(10, 0);
    feed_pattern(4, 0);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, deadline_in(0.05), &p, &n), MYL_FR_TIMEOUT);
    return 1;
}

static int case_deadline_reaches_transport(void)
{
    feed_header(1, 0);
    feed_pattern(1, 0);
    double d = deadline_in(30);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, d, &p, &n), MYL_FR_OK);
    EXPECT(mem->last_deadline == d);
    EXPECT_ST(myl_framer_begin(&fr, 0), MYL_FR_OK);
    EXPECT_ST(myl_framer_send(&fr, d + 1), MYL_FR_OK);
    EXPECT(mem->last_deadline == d + 1);
    return 1;
}

/* A peer that keeps the buffer full: every read returns a byte at once
 * (after a short pause), so the transport itself never waits and never
 * times out.  Only the framer's own check can stop it. */
typedef struct firehose {
    myl_transport base;
    size_t sent;
} firehose;

static myl_io_status hose_read(myl_transport *t, void *buf, size_t n, size_t *got,
                               double deadline)
{
    firehose *h = (firehose *)t;
    (void)n;
    (void)deadline;
    struct timespec ts = {0, 200000}; /* 0.2 ms */
    nanosleep(&ts, NULL);
    /* a header announcing 0xFFFFFE bytes, then the body byte by byte */
    static const uint8_t hdr[4] = {0xFE, 0xFF, 0xFF, 0x00};
    *(uint8_t *)buf = h->sent < 4 ? hdr[h->sent] : 'x';
    h->sent++;
    *got = 1;
    return MYL_IO_DONE;
}

static myl_io_status hose_write(myl_transport *t, const void *buf, size_t n, double deadline)
{
    (void)t, (void)buf, (void)n, (void)deadline;
    return MYL_IO_DONE;
}

static const char *hose_errmsg(const myl_transport *t)
{
    (void)t;
    return "no error";
}

static int case_deadline_busy_peer(void)
{
    firehose h;
    memset(&h, 0, sizeof h);
    h.base.read = hose_read;
    h.base.write = hose_write;
    h.base.errmsg = hose_errmsg;
    myl_framer_reset(&fr, &h.base);
    const uint8_t *p;
    size_t n;
    double t0 = myl_now();
    EXPECT_ST(myl_framer_read(&fr, deadline_in(0.3), &p, &n), MYL_FR_TIMEOUT);
    double took = myl_now() - t0;
    EXPECT(took >= 0.29 && took < 2.0);
    EXPECT(h.sent > 5); /* the data kept coming: the header and more */
    return 1;
}

/* ---- short reads, compaction, the parting packet ------------------------ */

static int case_short_reads(void)
{
    use_mem(1, MYL_MEM_END_CLOSED);
    static const uint8_t in[] = {3, 0, 0, 0, 'a', 'b', 'c', 0, 0, 0, 1, 2, 0, 0, 2, 'd', 'e'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 3 && memcmp(p, "abc", 3) == 0);
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 0);
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 2 && memcmp(p, "de", 2) == 0);
    EXPECT(mem->reads == sizeof in);
    return 1;
}

static int case_short_reads_big_packet(void)
{
    use_mem(7, MYL_MEM_END_CLOSED);
    size_t total = (size_t)CHUNK + 3;
    feed_header(CHUNK, 0);
    feed_pattern(CHUNK, 9);
    feed_header(3, 1);
    uint8_t tail[3];
    for (size_t i = 0; i < 3; i++) tail[i] = (uint8_t)(((size_t)CHUNK + i) * 7 + 9);
    feed(tail, 3);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == total);
    EXPECT(pattern_diff(p, n, 9) == n);
    return 1;
}

static int case_lazy_compaction(void)
{
    static const uint8_t in[] = {2, 0, 0, 0, 'a', 'b', 2, 0, 0, 1, 'c', 'd', 2, 0};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(p == fr.in.data + 4);
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    /* parsed in place: nothing moved while whole packets were buffered */
    EXPECT(p == fr.in.data + 10 && fr.in_pos == 12);
    static const uint8_t rest[] = {0, 2, 'e', 'f'};
    feed(rest, sizeof rest);
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    /* reading more moved the unread bytes to the front first */
    EXPECT(n == 2 && memcmp(p, "ef", 2) == 0 && p == fr.in.data + 4);
    return 1;
}

static int case_parting_packet(void)
{
    /* the peer refuses the packet, says why, and closes: the write fails,
     * the ERR it sent before is still readable (its sequence id is not
     * checked: it answers a packet that never fully arrived) */
    mem->write_limited = 1;
    mem->write_limit = 10;
    static const uint8_t err[] = {9, 0, 0, 7, 0xFF, 0x81, 0x04, 'h', 'u', 'g', 'e', '!', '!'};
    feed(err, sizeof err);
    EXPECT_ST(myl_framer_begin(&fr, 100), MYL_FR_OK);
    memset(fr.out.data + fr.out.len, 'q', 100);
    fr.out.len += 100;
    EXPECT_ST(myl_framer_send(&fr, 0), MYL_FR_CLOSED);
    EXPECT(strstr(myl_framer_errmsg(&fr), "Broken pipe") != NULL);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read_parting(&fr, deadline_in(1), &p, &n), MYL_FR_OK);
    EXPECT(n == 9 && p[0] == 0xFF && p[1] == 0x81 && p[2] == 0x04);
    /* the exchange stays failed */
    EXPECT(myl_framer_status(&fr) == MYL_FR_CLOSED);
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_CLOSED);
    return 1;
}

static int case_closed_message(void)
{
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_CLOSED);
    EXPECT(strcmp(myl_framer_errmsg(&fr), "reading: connection closed by the peer") == 0);
    return 1;
}

/* ---- the fault layer over the memory transport -------------------------- */

static void layer(fault_config cfg)
{
    top = fault_wrap(&mem->base, &cfg);
    if (!top) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    myl_framer_reset(&fr, top);
}

static int case_fault_passes_through(void)
{
    layer(fault_none());
    EXPECT(top->below == &mem->base);
    EXPECT(top->secure == mem->base.secure);
    static const uint8_t in[] = {2, 0, 0, 0, 'o', 'k'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    double d = deadline_in(30);
    EXPECT_ST(myl_framer_read(&fr, d, &p, &n), MYL_FR_OK);
    EXPECT(n == 2 && memcmp(p, "ok", 2) == 0);
    EXPECT(mem->last_deadline == d); /* the deadline went through the layer */
    myl_framer_new_command(&fr);
    EXPECT(mem->commands == 1); /* on_command reached the layer below */
    if (!send_pattern(3, 0)) return 0;
    EXPECT(mem->flushes == 1); /* so did flush */
    return check_split(3, 0);
}

static int case_fault_short_reads(void)
{
    fault_config cfg = fault_none();
    cfg.short_reads = 1;
    layer(cfg);
    static const uint8_t in[] = {4, 0, 0, 0, 'a', 'b', 'c', 'd'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 4 && memcmp(p, "abcd", 4) == 0);
    EXPECT(mem->reads == 8);
    return 1;
}

static int case_fault_drop_after(void)
{
    fault_config cfg = fault_none();
    cfg.drop_after = 6;
    layer(cfg);
    static const uint8_t in[] = {1, 0, 0, 0, 'a', 3, 0, 0, 1, 'b', 'c', 'd'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 1 && p[0] == 'a');
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_CLOSED);
    EXPECT(strstr(myl_framer_errmsg(&fr), "dropped by the fault layer") != NULL);
    EXPECT(top->below == NULL); /* the layer below was really closed */
    mem = NULL;
    return 1;
}

static int case_fault_corrupt_at(void)
{
    fault_config cfg = fault_none();
    cfg.corrupt_at = 7;
    cfg.short_reads = 1; /* the offset counts across reads */
    layer(cfg);
    static const uint8_t in[] = {4, 0, 0, 0, 'a', 'b', 'c', 'd'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OK);
    EXPECT(n == 4 && p[0] == 'a' && p[1] == 'b' && p[2] == 'c' && p[3] == ('d' ^ 0xFF));
    return 1;
}

static int case_fault_corrupt_header(void)
{
    fault_config cfg = fault_none();
    cfg.corrupt_at = 3; /* the sequence id */
    layer(cfg);
    static const uint8_t in[] = {1, 0, 0, 0, 'a'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, 0, &p, &n), MYL_FR_OUT_OF_ORDER);
    EXPECT(strstr(myl_framer_errmsg(&fr), "got sequence id 255") != NULL);
    return 1;
}

static int case_fault_delay(void)
{
    fault_config cfg = fault_none();
    cfg.delay_ms = 30;
    layer(cfg);
    static const uint8_t in[] = {1, 0, 0, 0, 'a'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    double t0 = myl_now();
    EXPECT_ST(myl_framer_read(&fr, deadline_in(2), &p, &n), MYL_FR_OK);
    EXPECT(myl_now() - t0 >= 0.025);
    return 1;
}

static int case_fault_delay_past_deadline(void)
{
    fault_config cfg = fault_none();
    cfg.delay_ms = 5000;
    layer(cfg);
    static const uint8_t in[] = {1, 0, 0, 0, 'a'};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    double t0 = myl_now();
    EXPECT_ST(myl_framer_read(&fr, deadline_in(0.05), &p, &n), MYL_FR_TIMEOUT);
    double took = myl_now() - t0;
    EXPECT(took >= 0.04 && took < 1.0);
    return 1;
}

/* ---- the socket transport: secure or not, keepalive --------------------- */

/* The descriptor connected to `peer` (the socket transport keeps its own
 * private): found among the open descriptors by its peer address. */
static int fd_connected_to(const struct sockaddr_in *peer)
{
    for (int fd = 3; fd < 1024; fd++) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0 && sa.sin_family == AF_INET &&
            sa.sin_port == peer->sin_port && sa.sin_addr.s_addr == peer->sin_addr.s_addr)
            return fd;
    }
    return -1;
}

static int sockopt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) != 0) return -1;
    return v;
}

static int case_socket_tcp(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) != 0) {
        if (lfd >= 0) close(lfd);
        return fail("no loopback listener");
    }
    myl_connect_spec spec = {"127.0.0.1", ntohs(sa.sin_port), NULL, myl_now() + 5, NULL};
    char info[100];
    myl_error err;
    myl_transport *t = myl_socket_open(&spec, info, sizeof info, &err);
    if (!t) {
        close(lfd);
        return fail("open: %s", err.message);
    }
    int fd = fd_connected_to(&sa);
    int ok = 1;
    if (t->secure != 0) ok = fail("TCP reported secure");
    else if (t->below != NULL) ok = fail("the socket has a layer below it");
    else if (strcmp(info, "127.0.0.1 via TCP/IP") != 0) ok = fail("info '%s'", info);
    else if (fd < 0) ok = fail("the connected descriptor was not found");
    else if (sockopt(fd, SOL_SOCKET, SO_KEEPALIVE) != 1) ok = fail("keepalive off");
    else if (sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE) != 60) ok = fail("TCP_KEEPIDLE");
    else if (sockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL) != 10) ok = fail("TCP_KEEPINTVL");
    else if (sockopt(fd, IPPROTO_TCP, TCP_KEEPCNT) != 6) ok = fail("TCP_KEEPCNT");
    else if (sockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT) != 120000) ok = fail("TCP_USER_TIMEOUT");
    else if (sockopt(fd, IPPROTO_TCP, TCP_NODELAY) != 1) ok = fail("TCP_NODELAY");
    if (ok) {
        /* the peer closes without a word: reads say so, in words */
        int afd = accept(lfd, NULL, NULL);
        if (afd >= 0) close(afd);
        uint8_t b[8];
        size_t got;
        myl_io_status st = t->read(t, b, sizeof b, &got, myl_now() + 5);
        if (st != MYL_IO_CLOSED) ok = fail("read after the peer closed: status %d", (int)st);
        else if (strstr(t->errmsg(t), "closed") == NULL) ok = fail("errmsg '%s'", t->errmsg(t));
    }
    t->close(t);
    close(lfd);
    return ok;
}

static int case_socket_unix(void)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/test-framing-%ld.sock",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    unlink(sa.sun_path);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1) != 0) {
        if (lfd >= 0) close(lfd);
        return fail("no Unix listener at %s", sa.sun_path);
    }
    myl_connect_spec spec = {NULL, 0, sa.sun_path, myl_now() + 5, NULL};
    char info[100];
    myl_error err;
    myl_transport *t = myl_socket_open(&spec, info, sizeof info, &err);
    int ok = 1;
    if (!t) ok = fail("open: %s", err.message);
    else if (t->secure != 1) ok = fail("a Unix socket reported not secure");
    if (t) t->close(t);
    close(lfd);
    unlink(sa.sun_path);
    return ok;
}

/* ---- the connection's policy over the framer ----------------------------- */

/* An opener handing the connection a memory transport that already holds a
 * captured greeting and the OK of the login; the case then feeds more. */
static myl_mem_transport *scripted;

static myl_transport *open_scripted(void *ud, const myl_connect_spec *spec, char *info,
                                    size_t infolen, myl_error *err)
{
    (void)spec;
    const int *greeting_len = ud;
    snprintf(info, infolen, "scripted");
    myl_mem_transport *m = myl_mem_open(0, MYL_MEM_END_WAIT);
    if (!m) {
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return NULL;
    }
    size_t n = *greeting_len >= 0 ? (size_t)*greeting_len : sizeof greeting;
    uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), 0};
    static const uint8_t login_ok[] = {7, 0, 0, 2, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
    if (myl_mem_feed(m, h, 4) || myl_mem_feed(m, greeting, sizeof greeting) ||
        myl_mem_feed(m, login_ok, sizeof login_ok)) {
        m->base.close(&m->base);
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return NULL;
    }
    scripted = m;
    return &m->base;
}

static myl_conn *conn;

/* Connects over the scripted transport; greeting_len < 0: the greeting's
 * true length in its header. */
static int scripted_connect(size_t max_packet, double read_timeout, int greeting_len)
{
    static int len_arg;
    len_arg = greeting_len;
    myl_options o;
    memset(&o, 0, sizeof o);
    o.user = "u";
    o.password = "p";
    o.protocol = MYL_PROTOCOL_TCP;
    o.host = "scripted";
    o.connect_timeout = 5;
    o.read_timeout = read_timeout;
    o.write_timeout = 5;
    o.max_packet = max_packet;
    o.open_transport = open_scripted;
    o.open_ud = &len_arg;
    conn = myl_conn_new();
    if (!conn) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    scripted = NULL;
    return myl_connect(conn, &o);
}

static int conn_done(int ok)
{
    myl_conn_free(conn); /* closes (and frees) the scripted transport */
    conn = NULL;
    scripted = NULL;
    return ok;
}

#define EXPECT_CONN(cond)                                                                  \
    do {                                                                                   \
        if (!(cond))                                                                       \
            return conn_done(fail("line %d: %s (error %d: %s)", __LINE__, #cond,           \
                                  myl_conn_error(conn)->code, myl_conn_error(conn)->message)); \
    } while (0)

static int case_conn_login(void)
{
    EXPECT_CONN(scripted_connect(0, 0, -1) == 0);
    EXPECT_CONN(myl_conn_state(conn) == MYL_STATE_READY);
    EXPECT_CONN(strcmp(myl_server_version(conn), "10.11.19-MariaDB-0+deb12u1") == 0);
    /* the handshake response went out with sequence id 1 */
    EXPECT_CONN(scripted->out.len > 4 && scripted->out.data[3] == 1);
    /* a command starts at sequence 0 and tells the transport */
    size_t before = scripted->out.len, commands = scripted->commands;
    static const uint8_t ok[] = {7, 0, 0, 1, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
    myl_mem_feed(scripted, ok, sizeof ok);
    EXPECT_CONN(myl_ping(conn) == 0);
    EXPECT_CONN(scripted->commands == commands + 1);
    static const uint8_t ping[] = {1, 0, 0, 0, 0x0E};
    EXPECT_CONN(scripted->out.len == before + 5 &&
                memcmp(scripted->out.data + before, ping, 5) == 0);
    return conn_done(1);
}

static int case_conn_handshake_ceiling(void)
{
    /* a greeting claiming 70000 bytes: over the 64 KiB allowed before login */
    EXPECT_CONN(scripted_connect(0, 0, 70000) == -1);
    EXPECT_CONN(myl_conn_error(conn)->code == 2020);
    EXPECT_CONN(strcmp(myl_conn_error(conn)->message,
                       "Got packet bigger than 'max_packet' (65536 bytes)") == 0);
    return conn_done(1);
}

static int case_conn_result_ceiling(void)
{
    EXPECT_CONN(scripted_connect(1000, 0, -1) == 0);
    uint8_t h[4] = {0xE9, 0x03, 0x00, 1}; /* 1001 bytes */
    myl_mem_feed(scripted, h, 4);
    EXPECT_CONN(myl_send_query(conn, "SELECT 1", 8, conn) == 0);
    myl_columns *cols = NULL;
    EXPECT_CONN(myl_read_head(conn, conn, &cols) == -1);
    EXPECT_CONN(myl_conn_error(conn)->code == 2020);
    EXPECT_CONN(strcmp(myl_conn_error(conn)->message,
                       "Got packet bigger than 'max_packet' (1000 bytes)") == 0);
    EXPECT_CONN(myl_conn_state(conn) == MYL_STATE_BROKEN);
    EXPECT_CONN(myl_ping(conn) == -1 && myl_conn_error(conn)->code == 2006);
    return conn_done(1);
}

static int case_conn_statement_ceiling(void)
{
    EXPECT_CONN(scripted_connect(1000, 0, -1) == 0);
    size_t before = scripted->out.len;
    char sql[1000];
    memset(sql, ' ', sizeof sql); /* 1 + 1000 bytes with the command byte */
    EXPECT_CONN(myl_send_query(conn, sql, sizeof sql, conn) == -1);
    EXPECT_CONN(myl_conn_error(conn)->code == 2020);
    EXPECT_CONN(myl_conn_state(conn) == MYL_STATE_READY);
    EXPECT_CONN(scripted->out.len == before); /* not a byte sent */
    EXPECT_CONN(myl_send_query(conn, sql, sizeof sql - 1, conn) == 0); /* exactly 1000 */
    return conn_done(1);
}

static int case_conn_parting_error(void)
{
    EXPECT_CONN(scripted_connect(0, 0, -1) == 0);
    /* the server takes 10 more bytes, answers 1153 and closes */
    scripted->write_limited = 1;
    scripted->write_limit = scripted->out.len + 10;
    static const uint8_t err1153[] = {
        0x36, 0, 0, 1, 0xFF, 0x81, 0x04, '#', '0', '8', 'S', '0', '1', 'G', 'o', 't', ' ',
        'a', ' ', 'p', 'a', 'c', 'k', 'e', 't', ' ', 'b', 'i', 'g', 'g', 'e', 'r', ' ', 't',
        'h', 'a', 'n', ' ', '\'', 'm', 'a', 'x', '_', 'a', 'l', 'l', 'o', 'w', 'e', 'd', '_',
        'p', 'a', 'c', 'k', 'e', 't', '\''};
    myl_mem_feed(scripted, err1153, sizeof err1153);
    char sql[200];
    memset(sql, 'x', sizeof sql);
    double t0 = myl_now();
    EXPECT_CONN(myl_send_query(conn, sql, sizeof sql, conn) == -1);
    EXPECT_CONN(myl_now() - t0 < 1);
    EXPECT_CONN(myl_conn_error(conn)->code == 1153);
    EXPECT_CONN(strcmp(myl_conn_error(conn)->sqlstate, "08S01") == 0);
    EXPECT_CONN(myl_conn_state(conn) == MYL_STATE_BROKEN);
    return conn_done(1);
}

static int case_conn_write_closed_silently(void)
{
    EXPECT_CONN(scripted_connect(0, 0, -1) == 0);
    /* the peer closed without a word: the parting wait is short, the
     * error is the lost connection */
    scripted->write_limited = 1;
    scripted->write_limit = scripted->out.len;
    double t0 = myl_now();
    EXPECT_CONN(myl_send_query(conn, "SELECT 1", 8, conn) == -1);
    double took = myl_now() - t0;
    EXPECT_CONN(took >= 0.9 && took < 2.5);
    EXPECT_CONN(myl_conn_error(conn)->code == 2013);
    EXPECT_CONN(myl_conn_state(conn) == MYL_STATE_BROKEN);
    return conn_done(1);
}

static int case_conn_out_of_order(void)
{
    EXPECT_CONN(scripted_connect(0, 0, -1) == 0);
    static const uint8_t ok[] = {7, 0, 0, 5, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
    myl_mem_feed(scripted, ok, sizeof ok);
    EXPECT_CONN(myl_ping(conn) == -1);
    EXPECT_CONN(myl_conn_error(conn)->code == 2027);
    EXPECT_CONN(strstr(myl_conn_error(conn)->message, "got sequence id 5, expected 1") != NULL);
    EXPECT_CONN(myl_conn_state(conn) == MYL_STATE_BROKEN);
    return conn_done(1);
}

static int case_conn_read_timeout(void)
{
    EXPECT_CONN(scripted_connect(0, 0.1, -1) == 0);
    double t0 = myl_now();
    EXPECT_CONN(myl_ping(conn) == -1);
    double took = myl_now() - t0;
    EXPECT_CONN(took >= 0.09 && took < 1.0);
    EXPECT_CONN(myl_conn_error(conn)->code == 2013);
    EXPECT_CONN(strstr(myl_conn_error(conn)->message, "timed out") != NULL);
    EXPECT_CONN(myl_conn_state(conn) == MYL_STATE_BROKEN);
    return conn_done(1);
}

static int case_conn_max_packet_option(void)
{
    myl_conn *c = myl_conn_new();
    myl_options o;
    memset(&o, 0, sizeof o);
    o.max_packet = (size_t)1024 * 1024 * 1024 + 1;
    o.open_transport = open_scripted;
    int rc = myl_connect(c, &o);
    int code = myl_conn_error(c)->code;
    int named = strstr(myl_conn_error(c)->message, "max_packet") != NULL;
    myl_conn_free(c);
    EXPECT(rc == -1 && code == 2000 && named);
    return 1;
}

/* ---- response ownership ---------------------------------------------------- */

static int feed_packet(uint8_t seq, const uint8_t *payload, size_t n)
{
    uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), seq};
    return myl_mem_feed(scripted, h, 4) == 0 && myl_mem_feed(scripted, payload, n) == 0;
}

/* `SELECT id` answered by two rows: column count (and, as the captured
 * MariaDB greeting offers the metadata cache the client asks for, the
 * byte saying the definitions follow), definition, rows, the end of the
 * rows (an OK with the 0xFE header under DEPRECATE_EOF). */
static int feed_two_rows(void)
{
    static const uint8_t count[] = {1, 1}, row1[] = {1, '1'}, row2[] = {1, '2'};
    static const uint8_t end[] = {0xFE, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
    return feed_packet(1, count, sizeof count) && feed_packet(2, coldef_id, sizeof coldef_id) &&
           feed_packet(3, row1, 2) && feed_packet(4, row2, 2) && feed_packet(5, end, sizeof end);
}

static int case_conn_ownership(void)
{
    static const uint8_t ping_ok[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
    int a, b; /* two readers: their addresses are the owner tokens */
    const uint8_t *p;
    size_t n;
    myl_columns *cols = NULL;
    EXPECT_CONN(scripted_connect(0, 5, -1) == 0);
    EXPECT_CONN(feed_two_rows());
    EXPECT_CONN(myl_send_query(conn, "SELECT id", 9, &a) == 0);
    EXPECT_CONN(myl_response_owner(conn) == &a);
    /* another reader, and any other command, get 2014; nothing is consumed */
    EXPECT_CONN(myl_read_head(conn, &b, &cols) == -1 && myl_conn_error(conn)->code == 2014);
    EXPECT_CONN(myl_ping(conn) == -1 && myl_conn_error(conn)->code == 2014);
    EXPECT_CONN(myl_conn_state(conn) == MYL_STATE_HEAD);
    EXPECT_CONN(myl_read_head(conn, &a, &cols) == 1 && cols && cols->n == 1);
    myl_columns_free(cols);
    EXPECT_CONN(myl_read_row(conn, &b, &p, &n) == -1 && myl_conn_error(conn)->code == 2014);
    EXPECT_CONN(myl_read_row(conn, &a, &p, &n) == 1 && n == 2 && p[1] == '1');
    /* the owner goes away: the next command discards the rest first */
    myl_abandon(conn, &b); /* not the owner: no effect */
    EXPECT_CONN(myl_response_owner(conn) == &a);
    myl_abandon(conn, &a);
    EXPECT_CONN(myl_response_owner(conn) == NULL);
    EXPECT_CONN(feed_packet(1, ping_ok, sizeof ping_ok));
    EXPECT_CONN(myl_ping(conn) == 0);
    EXPECT_CONN(myl_conn_state(conn) == MYL_STATE_READY);
    /* a finished response belongs to nobody: reading it gives nothing */
    EXPECT_CONN(myl_read_row(conn, &a, &p, &n) == 0);
    return conn_done(1);
}

int main(void)
{
    static const struct { const char *name; int (*fn)(void); } cases[] = {
        {"header, length and payload", case_header},
        {"header, the length is little-endian", case_header_length_little_endian},
        {"header, an empty payload", case_empty_payload},
        {"sequence, ids follow 0, 1, 2", case_sequence_follows},
        {"sequence, a wrong id is out of order", case_sequence_wrong},
        {"sequence, the failure is sticky until reset", case_sequence_error_is_sticky},
        {"sequence, 255 is followed by 0", case_sequence_wraps},
        {"sequence, a new command restarts at 0 and tells the transport", case_new_command},
        {"truncated header, closed", case_truncated_header},
        {"truncated body, closed", case_truncated_body},
        {"no transport", case_no_transport},
        {"exactly 0xFFFFFF bytes then an empty packet", case_exact_chunk_then_empty},
        {"0xFFFFFF bytes without the continuation is incomplete",
         case_exact_chunk_without_continuation},
        {"reassembly over three chunks", case_reassembly},
        {"reassembly checks every chunk's sequence id", case_reassembly_checks_sequence},
        {"write, a small packet, then flush", case_write_small},
        {"write, an empty packet", case_write_empty},
        {"write, exactly 0xFFFFFF bytes adds an empty packet", case_write_exact_chunk},
        {"write, 0xFFFFFF + 5 bytes in two chunks", case_write_split},
        {"write, two full chunks and an empty one", case_write_two_full_chunks},
        {"ceiling, a packet of exactly max_packet is read", case_ceiling_exact_is_accepted},
        {"ceiling, refused from the header, before the body", case_ceiling_before_body},
        {"ceiling, no buffer for the refused body", case_ceiling_no_allocation},
        {"ceiling, counted across continuation chunks", case_ceiling_across_chunks},
        {"ceiling, exactly max_packet across chunks is read", case_ceiling_across_chunks_exact},
        {"ceiling, outgoing refused before writing, not sticky", case_ceiling_outgoing},
        {"deadline, a peer that never sends", case_deadline_silent_peer},
        {"deadline, a body that never completes", case_deadline_after_header},
        {"deadline, passed to the transport unchanged", case_deadline_reaches_transport},
        {"deadline, a peer that keeps the buffer full is cut off", case_deadline_busy_peer},
        {"short reads of 1 byte", case_short_reads},
        {"short reads of 7 bytes across a split packet", case_short_reads_big_packet},
        {"compaction is lazy", case_lazy_compaction},
        {"after a failed write the peer's parting ERR is readable", case_parting_packet},
        {"a closed transport says so", case_closed_message},
        {"fault layer, passes reads, deadlines, flush and on_command through",
         case_fault_passes_through},
        {"fault layer, short reads", case_fault_short_reads},
        {"fault layer, drop after N bytes", case_fault_drop_after},
        {"fault layer, corrupt byte K in a payload", case_fault_corrupt_at},
        {"fault layer, corrupt byte K in a header", case_fault_corrupt_header},
        {"fault layer, delayed reads", case_fault_delay},
        {"fault layer, a delay past the deadline times out", case_fault_delay_past_deadline},
        {"socket, TCP is not secure; keepalive and user timeout tuned", case_socket_tcp},
        {"socket, a Unix socket is secure", case_socket_unix},
        {"connection, a scripted login; a command starts at sequence 0", case_conn_login},
        {"connection, the pending response is its owner's; 2014 for others; abandoned, it is discarded", case_conn_ownership},
        {"connection, 64 KiB ceiling before login gives 2020", case_conn_handshake_ceiling},
        {"connection, a result over max_packet gives 2020 and breaks it",
         case_conn_result_ceiling},
        {"connection, a statement over max_packet gives 2020, nothing sent, still usable",
         case_conn_statement_ceiling},
        {"connection, a failed write reports the server's parting ERR",
         case_conn_parting_error},
        {"connection, a write to a silent closed peer gives 2013 after a short wait",
         case_conn_write_closed_silently},
        {"connection, out of order gives 2027 and breaks it", case_conn_out_of_order},
        {"connection, read timeout gives 2013 and breaks it", case_conn_read_timeout},
        {"connection, max_packet over 1 GiB is refused with 2000", case_conn_max_packet_option},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run(cases[i].name, cases[i].fn);
    fprintf(stderr, "%d cases, %d failed\n", ncases, nfailed);
    return nfailed ? 1 : 0;
}
