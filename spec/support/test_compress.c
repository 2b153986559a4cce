/* The compressed protocol layer (src/core/compress.c) from byte literals
 * over the in-memory transport, with the framer on top as the connection
 * uses it: frames split across reads, several packets in one frame, a
 * packet over several frames, stored and compressed frames, sequence ids
 * per command, every kind of broken frame, packets of 16 MiB and more both
 * ways, and the choice of algorithm from the options.  No server, no
 * socket.
 *
 * Prints one line per case, "ok NAME" or "not ok NAME: what differed", and
 * exits 0 only when every case is ok.  spec/58-compress_spec.lua runs it
 * and turns each line into a busted test; `make test` runs it too. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "../../src/core/compress.h"
#include "../../src/core/options.h"
#include "../../src/core/packet.h"
#include "../../src/core/proto.h"
#include "../../src/core/transport_mem.h"
#include "framer_cases.h"

#define CHUNK 0xFFFFFFu

/* ---- harness ----------------------------------------------------------- */

#define EXPECT_MSG(text)                                                                   \
    do {                                                                                   \
        if (!strstr(myl_framer_errmsg(&fr), (text)))                                       \
            return fail("line %d: message \"%s\" lacks \"%s\"", __LINE__,                  \
                        myl_framer_errmsg(&fr), (text));                                   \
    } while (0)

/* One case's stack: the framer over the compression layer over memory. */
static myl_framer fr;
static myl_mem_transport *mem;
static myl_transport *top;

static void die(const char *what)
{
    fprintf(stderr, "%s\n", what);
    exit(2);
}

/* Builds the stack for a case: `algo` compresses, frames may carry
 * myl_compress_frame_bound(max_packet) bytes. */
static void stack_at_level(myl_compression algo, int level, size_t max_packet)
{
    if (top) top->close(top);
    myl_framer_free(&fr);
    memset(&fr, 0, sizeof fr);
    mem = myl_mem_open(0, MYL_MEM_END_CLOSED);
    if (!mem) die("out of memory");
    myl_error err;
    top = myl_compress_open(&mem->base, algo, level, myl_compress_frame_bound(max_packet), &err);
    if (!top) die(err.message);
    myl_framer_reset(&fr, top);
    fr.seq_checked_below = 1;
    fr.max_packet = max_packet;
}

static void stack(myl_compression algo, size_t max_packet)
{
    stack_at_level(algo, algo == MYL_COMPRESS_ZSTD ? 3 : 6, max_packet);
}

static void teardown(void)
{
    myl_framer_free(&fr);
    if (top) top->close(top);
    top = NULL;
    mem = NULL;
}

static void run(const char *name, int (*fn)(void))
{
    why[0] = '\0';
    stack(MYL_COMPRESS_ZLIB, (size_t)16 << 20);
    int ok = fn();
    teardown();
    report(name, ok);
}

static void feed(const void *p, size_t n)
{
    if (myl_mem_feed(mem, p, n)) die("out of memory");
}

static void put_u24(uint8_t *h, size_t v)
{
    h[0] = (uint8_t)v;
    h[1] = (uint8_t)(v >> 8);
    h[2] = (uint8_t)(v >> 16);
}

static size_t get_u24(const uint8_t *h)
{
    return (size_t)h[0] | ((size_t)h[1] << 8) | ((size_t)h[2] << 16);
}

/* Feeds a frame with the given header fields and payload bytes. */
static void feed_raw_frame(size_t clen, unsigned seq, size_t ulen, const void *payload, size_t n)
{
    uint8_t h[7];
    put_u24(h, clen);
    h[3] = (uint8_t)seq;
    put_u24(h + 4, ulen);
    feed(h, 7);
    if (n) feed(payload, n);
}

static void feed_stored(unsigned seq, const void *p, size_t n)
{
    feed_raw_frame(n, seq, 0, p, n);
}

/* Compresses with the library directly (not through the layer). */
static size_t squeeze(myl_compression algo, const void *p, size_t n, uint8_t **out)
{
    size_t cap = algo == MYL_COMPRESS_ZSTD ? ZSTD_compressBound(n) : compressBound((uLong)n);
    *out = malloc(cap ? cap : 1);
    if (!*out) die("out of memory");
    if (algo == MYL_COMPRESS_ZSTD) {
        size_t r = ZSTD_compress(*out, cap, p, n, 3);
        if (ZSTD_isError(r)) die("zstd failed");
        return r;
    }
    uLongf len = (uLongf)cap;
    if (compress2(*out, &len, p, (uLong)n, 6) != Z_OK) die("zlib failed");
    return (size_t)len;
}

static void feed_compressed(myl_compression algo, unsigned seq, const void *p, size_t n)
{
    uint8_t *z;
    size_t zn = squeeze(algo, p, n, &z);
    feed_raw_frame(zn, seq, n, z, zn);
    free(z);
}

/* An inner packet: header (length, sequence id) and payload, into b. */
static void packet(myl_buf *b, unsigned seq, const void *payload, size_t n)
{
    uint8_t h[4];
    put_u24(h, n);
    h[3] = (uint8_t)seq;
    if (myl_buf_append(b, h, 4) || (n && myl_buf_append(b, payload, n))) die("out of memory");
}

static void fill_pattern(uint8_t *p, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 7 + salt);
}

/* Bytes no compressor shrinks (a linear congruential generator). */
static void fill_noise(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
}

/* What the layer wrote, frame by frame: each header checked, the payloads
 * decompressed with the library directly and joined into `plain`.  Frame
 * i's sequence id lands in seqs[i], its fields in ulens/clens (when not
 * NULL, at most max entries).  Returns the number of frames, -1 when the
 * bytes are no whole frames. */
static int unframe(myl_compression algo, const uint8_t *p, size_t n, myl_buf *plain,
                   unsigned *seqs, size_t *clens, size_t *ulens, int max)
{
    int frames = 0;
    while (n) {
        if (n < 7) return -1;
        size_t clen = get_u24(p), ulen = get_u24(p + 4);
        if (n < 7 + clen) return -1;
        if (frames < max) {
            if (seqs) seqs[frames] = p[3];
            if (clens) clens[frames] = clen;
            if (ulens) ulens[frames] = ulen;
        }
        if (ulen == 0) {
            if (myl_buf_append(plain, p + 7, clen)) die("out of memory");
        } else {
            if (myl_buf_reserve(plain, ulen)) die("out of memory");
            size_t got;
            if (algo == MYL_COMPRESS_ZSTD) {
                got = ZSTD_decompress(plain->data + plain->len, ulen, p + 7, clen);
                if (ZSTD_isError(got)) return -1;
            } else {
                uLongf len = (uLongf)ulen;
                if (uncompress(plain->data + plain->len, &len, p + 7, (uLong)clen) != Z_OK) return -1;
                got = (size_t)len;
            }
            if (got != ulen) return -1;
            plain->len += ulen;
        }
        p += 7 + clen;
        n -= 7 + clen;
        frames++;
    }
    return frames;
}

static myl_fr_status read1(const uint8_t **p, size_t *n)
{
    return myl_framer_read(&fr, 0, p, n);
}

static myl_fr_status send_bytes(const void *p, size_t n)
{
    myl_fr_status st = myl_framer_begin(&fr, n);
    if (st) return st;
    if (n) myl_buf_put(&fr.out, p, n);
    return myl_framer_send(&fr, 0);
}

/* ---- reading frames ------------------------------------------------------ */

/* A zlib frame as a server sends it: one text row of sixty 'a's
 * (inner packet of 65 bytes, 16 compressed). */
static const uint8_t zlib_row_frame[] = {
    0x10, 0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0x78, 0x9C, 0xB3, 0x65, 0x60,
    0x60, 0xB4, 0x49, 0xA4, 0x00, 0x00, 0x00, 0xD3, 0xCC, 0x17, 0x37,
};

static int check_row(const uint8_t *p, size_t n)
{
    if (n != 61 || p[0] != 60) return 0;
    for (size_t i = 1; i < n; i++)
        if (p[i] != 'a') return 0;
    return 1;
}

static int case_literal_zlib_frame(void)
{
    feed(zlib_row_frame, sizeof zlib_row_frame);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(check_row(p, n));
    return 1;
}

static int case_literal_stored_frame(void)
{
    /* frame: 5 bytes, sequence 0, stored; inside: packet of 1 byte, 0xFE */
    static const uint8_t in[] = {0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x01, 0x00, 0x00, 0x01, 0xFE};
    feed(in, sizeof in);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(n == 1 && p[0] == 0xFE);
    return 1;
}

/* The same frames arriving one byte, then three bytes, per read. */
static int split_reads(size_t chunk)
{
    mem->chunk = chunk;
    feed(zlib_row_frame, sizeof zlib_row_frame);
    static const uint8_t stored[] = {0x05, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                     0x01, 0x00, 0x00, 0x02, 0xFE};
    feed(stored, sizeof stored);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(check_row(p, n));
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(n == 1 && p[0] == 0xFE);
    EXPECT(mem->reads >= sizeof zlib_row_frame / chunk);
    return 1;
}

static int case_frames_split_byte_by_byte(void) { return split_reads(1); }
static int case_frames_split_three_bytes_a_read(void) { return split_reads(3); }

static int case_several_packets_in_one_frame(void)
{
    myl_buf b = {0};
    packet(&b, 1, "\x01", 1);
    const char *second = "second packet, long enough to be worth compressing with zlib";
    packet(&b, 2, second, strlen(second));
    packet(&b, 3, "", 0);
    feed_compressed(MYL_COMPRESS_ZLIB, 0, b.data, b.len);
    myl_buf_free(&b);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(n == 1 && p[0] == 1);
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(n == strlen(second) && memcmp(p, second, n) == 0);
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(n == 0);
    EXPECT(mem->in_pos == mem->in.len); /* one frame, all read */
    return 1;
}

/* The server renumbers the packets at each frame: their ids are not checked. */
static int case_inner_sequence_ids_followed_not_checked(void)
{
    myl_buf b = {0};
    packet(&b, 1, "a", 1);
    packet(&b, 2, "b", 1);
    feed_stored(0, b.data, b.len);
    b.len = 0;
    packet(&b, 1, "c", 1); /* a frame later, the server's packet number restarts */
    feed_stored(1, b.data, b.len);
    myl_buf_free(&b);
    const uint8_t *p;
    size_t n;
    for (int i = 0; i < 3; i++) {
        EXPECT_ST(read1(&p, &n), MYL_FR_OK);
        EXPECT(n == 1 && p[0] == 'a' + i);
    }
    EXPECT(fr.seq == 2);
    return 1;
}

static int case_packet_spanning_frames(void)
{
    uint8_t payload[300];
    fill_pattern(payload, sizeof payload, 5);
    myl_buf b = {0};
    packet(&b, 1, payload, sizeof payload);
    /* 304 bytes: 2 stored, 200 compressed, 102 stored */
    feed_stored(0, b.data, 2);
    feed_compressed(MYL_COMPRESS_ZLIB, 1, b.data + 2, 200);
    feed_stored(2, b.data + 202, b.len - 202);
    myl_buf_free(&b);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(n == sizeof payload && memcmp(p, payload, n) == 0);
    return 1;
}

static int case_empty_frames_are_skipped(void)
{
    feed_raw_frame(0, 0, 0, NULL, 0);
    feed_raw_frame(0, 1, 0, NULL, 0);
    static const uint8_t pkt[] = {0x01, 0x00, 0x00, 0x01, 0xFE};
    feed_stored(2, pkt, sizeof pkt);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(n == 1 && p[0] == 0xFE);
    return 1;
}

static int case_zstd_frames(void)
{
    stack(MYL_COMPRESS_ZSTD, (size_t)16 << 20);
    myl_buf b = {0};
    uint8_t row[500];
    fill_pattern(row, sizeof row, 9);
    packet(&b, 1, row, sizeof row);
    packet(&b, 2, "\xFE\x00\x00\x02\x00", 5);
    feed_compressed(MYL_COMPRESS_ZSTD, 0, b.data, b.len);
    myl_buf_free(&b);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(n == sizeof row && memcmp(p, row, n) == 0);
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(n == 5 && p[0] == 0xFE);
    return 1;
}

/* ---- writing frames ------------------------------------------------------ */

static int case_small_packet_goes_stored(void)
{
    EXPECT_ST(send_bytes("\x03SELECT 1", 9), MYL_FR_OK);
    static const uint8_t want[] = {0x0D, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* frame */
                                   0x09, 0x00, 0x00, 0x00,                   /* packet */
                                   0x03, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1'};
    EXPECT(mem->out.len == sizeof want && memcmp(mem->out.data, want, sizeof want) == 0);
    EXPECT(mem->flushes == 1);
    return 1;
}

static int case_compressible_packet_goes_compressed(void)
{
    uint8_t q[1000];
    memset(q, 'x', sizeof q);
    EXPECT_ST(send_bytes(q, sizeof q), MYL_FR_OK);
    myl_buf plain = {0};
    size_t clen, ulen;
    int frames = unframe(MYL_COMPRESS_ZLIB, mem->out.data, mem->out.len, &plain, NULL, &clen, &ulen, 1);
    int ok = frames == 1 && ulen == 1004 && clen < 100 && plain.len == 1004 &&
             get_u24(plain.data) == 1000 && memcmp(plain.data + 4, q, 1000) == 0;
    myl_buf_free(&plain);
    EXPECT(ok);
    return 1;
}

/* Text as an INSERT's rows: numbers and hex strings of varying length, which
 * a deeper search compresses better. */
static void fill_rows_text(uint8_t *p, size_t n)
{
    uint32_t seed = 12345;
    size_t i = 0;
    while (i < n) {
        seed = seed * 1664525u + 1013904223u;
        char row[96];
        int len = snprintf(row, sizeof row, "(%u,'c-%u','%08x%08x'),", seed % 100000,
                           (seed >> 8) % 977, seed, seed * 2654435761u);
        for (int k = 0; k < len && i < n; k++) p[i++] = (uint8_t)row[k];
    }
}

/* The packet at `level`, compressed and read back by zlib's own inflate
 * (unframe): its compressed length, or 0 when it did not come back whole. */
static size_t compressed_at(int level, const uint8_t *q, size_t n)
{
    stack_at_level(MYL_COMPRESS_ZLIB, level, (size_t)16 << 20);
    if (send_bytes(q, n) != MYL_FR_OK) return 0;
    myl_buf plain = {0};
    size_t clen = 0, ulen = 0;
    int frames = unframe(MYL_COMPRESS_ZLIB, mem->out.data, mem->out.len, &plain, NULL, &clen,
                         &ulen, 1);
    int whole = frames == 1 && ulen == n + 4 && plain.len == n + 4 &&
                memcmp(plain.data + 4, q, n) == 0;
    myl_buf_free(&plain);
    return whole ? clen : 0;
}

static int case_level_reaches_the_compressor(void)
{
    static uint8_t q[200000];
    fill_rows_text(q, sizeof q);
    size_t fast = compressed_at(1, q, sizeof q);
    size_t usual = compressed_at(6, q, sizeof q);
    size_t best = compressed_at(9, q, sizeof q);
    if (!(fast && usual && best && best < fast && usual < fast && best <= usual &&
          best < sizeof q / 2))
        return fail("line %d: levels 1, 6, 9 made %zu, %zu, %zu bytes of %zu", __LINE__, fast,
                    usual, best, sizeof q);
    return 1;
}

static int case_incompressible_packet_goes_stored(void)
{
    uint8_t q[1000];
    fill_noise(q, sizeof q, 1);
    EXPECT_ST(send_bytes(q, sizeof q), MYL_FR_OK);
    EXPECT(mem->out.len == 7 + 4 + 1000);
    EXPECT(get_u24(mem->out.data) == 1004 && get_u24(mem->out.data + 4) == 0);
    EXPECT(memcmp(mem->out.data + 11, q, 1000) == 0);
    return 1;
}

/* libmariadb's MIN_COMPRESS_LENGTH: a 49-byte frame is stored however well
 * it would compress, a 50-byte one is compressed. */
static int case_fifty_bytes_is_the_threshold(void)
{
    uint8_t q[46];
    memset(q, 'y', sizeof q);
    EXPECT_ST(send_bytes(q, 45), MYL_FR_OK); /* 49 bytes with the packet header */
    EXPECT(mem->out.len == 7 + 49 && get_u24(mem->out.data + 4) == 0);
    size_t first = mem->out.len;
    EXPECT_ST(send_bytes(q, 46), MYL_FR_OK); /* 50 bytes */
    EXPECT(get_u24(mem->out.data + first + 4) == 50);
    EXPECT(get_u24(mem->out.data + first) < 50);
    return 1;
}

static int case_writes_wait_for_flush(void)
{
    /* the layer below sees nothing until the framer flushes at the end of
     * the packet, and then one frame */
    EXPECT(top->write(top, "\x01\x00\x00\x00", 4, 0) == MYL_IO_DONE);
    EXPECT(top->write(top, "Z", 1, 0) == MYL_IO_DONE);
    EXPECT(mem->out.len == 0 && mem->writes == 0);
    EXPECT(top->flush(top, 0) == MYL_IO_DONE);
    EXPECT(mem->writes == 1 && mem->out.len == 7 + 5 && mem->flushes == 1);
    return 1;
}

static int case_sequence_restarts_per_command(void)
{
    myl_framer_new_command(&fr);
    EXPECT_ST(send_bytes("\x0E", 1), MYL_FR_OK); /* frame 0 */
    static const uint8_t ok[] = {7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
    feed_stored(1, ok, sizeof ok); /* the answer: frame 1 */
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(n == 7 && p[0] == 0);
    EXPECT_ST(send_bytes("more", 4), MYL_FR_OK); /* same command: frame 2 */
    myl_framer_new_command(&fr);
    EXPECT_ST(send_bytes("\x0E", 1), MYL_FR_OK); /* new command: frame 0 again */
    unsigned seqs[3];
    myl_buf plain = {0};
    int frames = unframe(MYL_COMPRESS_ZLIB, mem->out.data, mem->out.len, &plain, seqs, NULL, NULL, 3);
    myl_buf_free(&plain);
    EXPECT(frames == 3 && seqs[0] == 0 && seqs[1] == 2 && seqs[2] == 0);
    EXPECT(mem->commands == 2); /* the hook reaches the layer below */
    /* the answer to the new command must be frame 1 */
    feed_stored(2, ok, sizeof ok);
    EXPECT_ST(read1(&p, &n), MYL_FR_MALFORMED);
    EXPECT_MSG("sequence id 2, expected 1");
    return 1;
}

/* ---- broken frames --------------------------------------------------------- */

static int case_wrong_frame_sequence(void)
{
    static const uint8_t pkt[] = {0x01, 0x00, 0x00, 0x01, 0xFE};
    feed_stored(3, pkt, sizeof pkt);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_MALFORMED);
    EXPECT_MSG("Malformed packet (compressed frame: sequence id 3, expected 0");
    /* sticky: the stream cannot be trusted any more */
    EXPECT_ST(read1(&p, &n), MYL_FR_MALFORMED);
    EXPECT_ST(send_bytes("x", 1), MYL_FR_MALFORMED);
    return 1;
}

/* Lengths over the bound fail on the header alone: the body is never
 * awaited (it is not even there), nothing is allocated for it. */
static int case_compressed_length_over_the_bound(void)
{
    stack(MYL_COMPRESS_ZLIB, 1024);
    feed_raw_frame(0xFFFFFF, 0, 0, NULL, 0);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_MALFORMED);
    EXPECT_MSG("16777215 bytes long, more than max_packet allows (1048576)");
    return 1;
}

static int case_declared_length_over_the_bound(void)
{
    stack(MYL_COMPRESS_ZSTD, (size_t)4 << 20);
    feed_raw_frame(20, 0, 0xFFFFFF, NULL, 0);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_MALFORMED);
    EXPECT_MSG("declares 16777215 bytes uncompressed, more than max_packet allows (4259840)");
    return 1;
}

static int case_bound_follows_max_packet(void)
{
    EXPECT(myl_compress_frame_bound(1024) == (size_t)1 << 20);
    EXPECT(myl_compress_frame_bound((size_t)2 << 20) == ((size_t)2 << 20) + 65536);
    EXPECT(myl_compress_frame_bound((size_t)16 << 20) == 0xFFFFFF);
    EXPECT(myl_compress_frame_bound((size_t)1 << 30) == 0xFFFFFF);
    /* a frame exactly at the bound is accepted */
    stack(MYL_COMPRESS_ZLIB, 1024);
    size_t len = (size_t)1 << 20;
    uint8_t *big = malloc(len);
    if (!big) die("out of memory");
    fill_noise(big, len, 3);
    put_u24(big, 1000);
    big[3] = 1;
    feed_stored(0, big, len);
    free(big);
    fr.max_packet = 0;
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_OK);
    EXPECT(n == 1000);
    return 1;
}

static int case_corrupt_zlib_data(void)
{
    uint8_t junk[40];
    fill_noise(junk, sizeof junk, 7);
    feed_raw_frame(sizeof junk, 0, 65, junk, sizeof junk);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_MALFORMED);
    EXPECT_MSG("corrupt zlib data");
    return 1;
}

static int with_declared(size_t ulen, const char *msg)
{
    uint8_t f[sizeof zlib_row_frame];
    memcpy(f, zlib_row_frame, sizeof f);
    put_u24(f + 4, ulen);
    feed(f, sizeof f);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_MALFORMED);
    EXPECT_MSG(msg);
    return 1;
}

static int case_inflates_to_more_than_declared(void)
{
    return with_declared(64, "inflates to more than the 64 bytes declared");
}

static int case_inflates_to_less_than_declared(void)
{
    return with_declared(66, "inflates to 65 bytes, 66 declared");
}

static int case_zlib_data_cut_short(void)
{
    uint8_t f[sizeof zlib_row_frame];
    memcpy(f, zlib_row_frame, sizeof f);
    put_u24(f, 0x10 - 4);
    feed(f, sizeof f - 4);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_MALFORMED);
    EXPECT_MSG("cut short");
    return 1;
}

static int case_bytes_after_the_zlib_data(void)
{
    uint8_t f[sizeof zlib_row_frame + 1];
    memcpy(f, zlib_row_frame, sizeof zlib_row_frame);
    put_u24(f, 0x11);
    f[sizeof f - 1] = 0;
    feed(f, sizeof f);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_MALFORMED);
    EXPECT_MSG("bytes follow the end of its zlib data");
    return 1;
}

static int zstd_declared(size_t extra_declared, int shrink, const char *msg)
{
    stack(MYL_COMPRESS_ZSTD, (size_t)16 << 20);
    uint8_t row[200];
    fill_pattern(row, sizeof row, 2);
    uint8_t *z;
    size_t zn = squeeze(MYL_COMPRESS_ZSTD, row, sizeof row, &z);
    feed_raw_frame(zn, 0, sizeof row + extra_declared - (size_t)shrink, z, zn);
    free(z);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_MALFORMED);
    EXPECT_MSG(msg);
    return 1;
}

static int case_zstd_inflates_to_more_than_declared(void)
{
    return zstd_declared(0, 1, "inflates to more than the 199 bytes declared");
}

static int case_zstd_inflates_to_less_than_declared(void)
{
    return zstd_declared(1, 0, "inflates to 200 bytes, 201 declared");
}

static int case_corrupt_zstd_data(void)
{
    stack(MYL_COMPRESS_ZSTD, (size_t)16 << 20);
    uint8_t junk[40];
    fill_noise(junk, sizeof junk, 11);
    feed_raw_frame(sizeof junk, 0, 100, junk, sizeof junk);
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_MALFORMED);
    EXPECT_MSG("corrupt zstd data");
    return 1;
}

static int case_failures_below_pass_through(void)
{
    feed_raw_frame(10, 0, 0, "abc", 3); /* then the peer closes */
    const uint8_t *p;
    size_t n;
    EXPECT_ST(read1(&p, &n), MYL_FR_CLOSED);
    EXPECT_MSG("closed by the peer");
    return 1;
}

static int case_deadline_passes_down(void)
{
    mem->end = MYL_MEM_END_WAIT;
    double deadline = myl_now() + 0.05;
    const uint8_t *p;
    size_t n;
    EXPECT_ST(myl_framer_read(&fr, deadline, &p, &n), MYL_FR_TIMEOUT);
    EXPECT(mem->last_deadline == deadline);
    myl_framer_reset(&fr, top);
    fr.seq_checked_below = 1;
    EXPECT_ST(myl_framer_begin(&fr, 1), MYL_FR_OK);
    myl_buf_put_u8(&fr.out, 1);
    EXPECT_ST(myl_framer_send(&fr, deadline + 1), MYL_FR_OK);
    EXPECT(mem->last_deadline == deadline + 1);
    return 1;
}

/* ---- packets of 16 MiB and more ------------------------------------------- */

/* Sends `len` bytes through one stack, checks the frames it wrote, reads
 * them back through a second stack. */
static int big_round_trip(myl_compression algo, size_t len, int noise)
{
    stack(algo, (size_t)64 << 20);
    uint8_t *payload = malloc(len);
    if (!payload) die("out of memory");
    if (noise) fill_noise(payload, len, 5);
    else fill_pattern(payload, len, 4);
    int ok = 0;
    myl_buf plain = {0};
    unsigned seqs[8];
    size_t ulens[8], clens[8];
    if (myl_framer_begin(&fr, len) != MYL_FR_OK) goto done;
    myl_buf_put(&fr.out, payload, len);
    if (myl_framer_send(&fr, 0) != MYL_FR_OK) {
        fail("send: %s", myl_framer_errmsg(&fr));
        goto done;
    }
    int frames = unframe(algo, mem->out.data, mem->out.len, &plain, seqs, clens, ulens, 8);
    /* the logical packet as plain framing: 0xFFFFFF chunk, then the rest */
    size_t total = len + 4 * (len / CHUNK + 1);
    if (frames != (int)((total + CHUNK - 1) / CHUNK) || plain.len != total) {
        fail("%d frames carrying %zu bytes, expected %zu bytes", frames, plain.len, total);
        goto done;
    }
    for (int i = 0; i < frames && i < 8; i++) {
        size_t carried = ulens[i] ? ulens[i] : clens[i];
        if (seqs[i] != (unsigned)i || (i < frames - 1 && carried != CHUNK) ||
            (noise && ulens[i] != 0) ||
            (!noise && ulens[i] == 0 && clens[i] >= MYL_COMPRESS_MIN_LENGTH)) {
            fail("frame %d: sequence %u, %zu bytes, declared %zu", i, seqs[i], clens[i], ulens[i]);
            goto done;
        }
    }
    if (get_u24(plain.data) != CHUNK || plain.data[3] != 0 ||
        memcmp(plain.data + 4, payload, CHUNK) != 0 || plain.data[4 + CHUNK + 3] != 1) {
        fail("the uncompressed stream is not the packet's plain framing");
        goto done;
    }
    /* back through a reading stack */
    myl_buf wire = mem->out;
    memset(&mem->out, 0, sizeof mem->out);
    stack(algo, (size_t)64 << 20);
    mem->chunk = 100000; /* frames arrive in pieces */
    mem->in = wire;
    const uint8_t *p;
    size_t n;
    myl_fr_status st = myl_framer_read(&fr, 0, &p, &n);
    if (st != MYL_FR_OK) {
        fail("read: %s", myl_framer_errmsg(&fr));
        goto done;
    }
    ok = n == len && memcmp(p, payload, len) == 0;
    if (!ok) {
        fail("read back %zu bytes, not the %zu sent", n, len);
        goto done;
    }
    /* the next command, once the layer gave its big buffers back */
    myl_framer_new_command(&fr);
    st = send_bytes("\x0E", 1);
    ok = st == MYL_FR_OK && mem->out.len == 12 && mem->out.data[3] == 0;
    if (!ok) {
        fail("the command after the big packet: %s, %zu bytes written", status_name(st),
             mem->out.len);
        goto done;
    }
    static const uint8_t pkt[] = {0x01, 0x00, 0x00, 0x01, 0xFE};
    feed_stored(1, pkt, sizeof pkt);
    st = myl_framer_read(&fr, 0, &p, &n);
    ok = st == MYL_FR_OK && n == 1 && p[0] == 0xFE;
    if (!ok)
        fail("the answer after the big packet: %s, %zu bytes (%s)", status_name(st), n,
             myl_framer_errmsg(&fr));
done:
    myl_buf_free(&plain);
    free(payload);
    return ok;
}

static int case_big_packet_zlib(void) { return big_round_trip(MYL_COMPRESS_ZLIB, (size_t)20 << 20, 0); }
static int case_big_packet_zstd(void) { return big_round_trip(MYL_COMPRESS_ZSTD, (size_t)20 << 20, 0); }
static int case_big_incompressible_packet(void)
{
    return big_round_trip(MYL_COMPRESS_ZLIB, (size_t)17 << 20, 1);
}
static int case_packet_of_exactly_one_chunk(void)
{
    return big_round_trip(MYL_COMPRESS_ZSTD, CHUNK, 0);
}

/* ---- choosing the algorithm ------------------------------------------------ */

static myl_options opts;
static myl_compress_plan plan;
static myl_error err;

static int plan_for(int compress, const char *list)
{
    myl_options_init(&opts);
    opts.compress = compress;
    opts.compression_algorithms = list;
    memset(&err, 0, sizeof err);
    return myl_compress_plan_from(&opts, &plan, &err);
}

static myl_compression choose(uint64_t server_caps, int *rc)
{
    myl_compression chosen = MYL_COMPRESS_ZSTD;
    *rc = myl_compress_choose(&plan, server_caps, &chosen, &err);
    return chosen;
}

#define BOTH (MYL_CLIENT_COMPRESS | MYL_CLIENT_ZSTD_COMPRESSION_ALGORITHM)

static int case_no_compression_by_default(void)
{
    int rc;
    EXPECT(plan_for(0, NULL) == 0);
    EXPECT(choose(BOTH, &rc) == MYL_COMPRESS_NONE && rc == 0);
    EXPECT(plan.zstd_level == 3 && plan.zlib_level == -1);
    return 1;
}

static int case_compress_asks_for_zlib_and_falls_back(void)
{
    int rc;
    EXPECT(plan_for(1, NULL) == 0);
    EXPECT(choose(BOTH, &rc) == MYL_COMPRESS_ZLIB && rc == 0);
    EXPECT(choose(MYL_CLIENT_ZSTD_COMPRESSION_ALGORITHM, &rc) == MYL_COMPRESS_NONE && rc == 0);
    EXPECT(myl_compress_flag(MYL_COMPRESS_ZLIB) == MYL_CLIENT_COMPRESS);
    EXPECT(myl_compress_flag(MYL_COMPRESS_ZSTD) == (1ull << 26));
    return 1;
}

static int case_list_order_is_preference(void)
{
    int rc;
    EXPECT(plan_for(0, " zstd , ZLIB") == 0);
    EXPECT(choose(BOTH, &rc) == MYL_COMPRESS_ZSTD && rc == 0);
    EXPECT(choose(MYL_CLIENT_COMPRESS, &rc) == MYL_COMPRESS_ZLIB && rc == 0);
    EXPECT(plan_for(0, "zlib,zstd") == 0);
    EXPECT(choose(BOTH, &rc) == MYL_COMPRESS_ZLIB && rc == 0);
    return 1;
}

static int case_list_without_uncompressed_is_a_demand(void)
{
    int rc;
    EXPECT(plan_for(1, "zstd") == 0);
    choose(MYL_CLIENT_COMPRESS, &rc);
    EXPECT(rc == -1 && err.code == 2066);
    if (!strstr(err.message, "the server offers no zstd compression") ||
        !strstr(err.message, "uncompressed"))
        return fail("message: %s", err.message);
    EXPECT(plan_for(0, "zstd,uncompressed") == 0);
    EXPECT(choose(MYL_CLIENT_COMPRESS, &rc) == MYL_COMPRESS_NONE && rc == 0);
    return 1;
}

static int case_uncompressed_alone_overrides_compress(void)
{
    int rc;
    EXPECT(plan_for(1, "uncompressed") == 0);
    EXPECT(choose(BOTH, &rc) == MYL_COMPRESS_NONE && rc == 0);
    return 1;
}

static int case_unknown_algorithm_is_refused(void)
{
    EXPECT(plan_for(0, "zlib,lz4") == -1 && err.code == 2066);
    if (!strstr(err.message, "unknown algorithm 'lz4'")) return fail("message: %s", err.message);
    EXPECT(plan_for(0, " , ") == -1 && err.code == 2066);
    EXPECT(plan_for(0, "") == -1 && err.code == 2066);
    return 1;
}

static int case_levels_from_the_options(void)
{
    EXPECT(plan_for(1, NULL) == 0);
    opts.compression_level = 9;
    opts.zstd_compression_level = 22;
    EXPECT(myl_compress_plan_from(&opts, &plan, &err) == 0);
    EXPECT(plan.zlib_level == 9 && plan.zstd_level == 22);
    opts.zstd_compression_level = 23;
    EXPECT(myl_compress_plan_from(&opts, &plan, &err) == -1 && err.code == 2066);
    return 1;
}

/* ---- main ------------------------------------------------------------------- */

int main(void)
{
    run("a zlib frame as a server sends it", case_literal_zlib_frame);
    run("a stored frame", case_literal_stored_frame);
    run("frames split across reads, one byte at a time", case_frames_split_byte_by_byte);
    run("frames split across reads, three bytes at a time", case_frames_split_three_bytes_a_read);
    run("several packets in one frame", case_several_packets_in_one_frame);
    run("packet sequence ids inside frames are followed, not checked",
        case_inner_sequence_ids_followed_not_checked);
    run("a packet spanning three frames, stored and compressed", case_packet_spanning_frames);
    run("empty frames are skipped", case_empty_frames_are_skipped);
    run("zstd frames", case_zstd_frames);
    run("a small packet goes out stored, byte for byte", case_small_packet_goes_stored);
    run("a compressible packet goes out compressed", case_compressible_packet_goes_compressed);
    run("a packet that does not shrink goes out stored", case_incompressible_packet_goes_stored);
    run("the level reaches the compressor; zlib reads what it makes",
        case_level_reaches_the_compressor);
    run("frames under 50 bytes are stored, 50 bytes are compressed",
        case_fifty_bytes_is_the_threshold);
    run("writes wait for the flush at the end of the packet", case_writes_wait_for_flush);
    run("frame sequence ids restart with each command", case_sequence_restarts_per_command);
    run("a frame out of sequence is malformed, and stays so", case_wrong_frame_sequence);
    run("a compressed length over the bound fails on the header",
        case_compressed_length_over_the_bound);
    run("a declared uncompressed length over the bound fails on the header",
        case_declared_length_over_the_bound);
    run("the bound follows max_packet; a frame at the bound passes", case_bound_follows_max_packet);
    run("corrupt zlib data", case_corrupt_zlib_data);
    run("zlib data inflating to more than declared", case_inflates_to_more_than_declared);
    run("zlib data inflating to less than declared", case_inflates_to_less_than_declared);
    run("zlib data cut short", case_zlib_data_cut_short);
    run("bytes after the zlib data", case_bytes_after_the_zlib_data);
    run("corrupt zstd data", case_corrupt_zstd_data);
    run("zstd data inflating to more than declared", case_zstd_inflates_to_more_than_declared);
    run("zstd data inflating to less than declared", case_zstd_inflates_to_less_than_declared);
    run("failures of the layer below pass through", case_failures_below_pass_through);
    run("deadlines pass down unchanged", case_deadline_passes_down);
    run("a 20 MiB packet both ways, zlib", case_big_packet_zlib);
    run("a 20 MiB packet both ways, zstd", case_big_packet_zstd);
    run("a 17 MiB packet that does not compress goes in stored frames",
        case_big_incompressible_packet);
    run("a packet of exactly 0xFFFFFF bytes", case_packet_of_exactly_one_chunk);
    run("no compression unless asked", case_no_compression_by_default);
    run("compress = true asks for zlib and falls back", case_compress_asks_for_zlib_and_falls_back);
    run("compression_algorithms is in order of preference", case_list_order_is_preference);
    run("a list without \"uncompressed\" is a demand", case_list_without_uncompressed_is_a_demand);
    run("\"uncompressed\" alone turns compression off", case_uncompressed_alone_overrides_compress);
    run("an unknown algorithm or an empty list is refused", case_unknown_algorithm_is_refused);
    run("compression levels come from the options", case_levels_from_the_options);
    printf("%d cases, %d not ok\n", ncases, nfailed);
    return nfailed ? 1 : 0;
}
