/* Protocol compression (compress.h): the choice of algorithm, and the
 * compressed protocol as a transport layer. */
#include "compress.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "buf.h"
#include "proto.h"

#define READ_CHUNK 65536
#define FLOOR_BOUND ((size_t)1 << 20) /* net_buffer_length's ceiling */
#define BOUND_SLACK ((size_t)64 << 10)
#define ZSTD_DEFAULT_LEVEL 3
#define ZLIB_DEFAULT_LEVEL 6 /* zlib's own default, which libdeflate keeps */
#define KEEP_BYTES ((size_t)4 << 20) /* buffers larger than this are freed between commands */

const char *myl_compression_name(myl_compression algo)
{
    switch (algo) {
    case MYL_COMPRESS_ZLIB: return "zlib";
    case MYL_COMPRESS_ZSTD: return "zstd";
    case MYL_COMPRESS_NONE: break;
    }
    return NULL;
}

uint64_t myl_compress_flag(myl_compression algo)
{
    switch (algo) {
    case MYL_COMPRESS_ZLIB: return MYL_CLIENT_COMPRESS;
    case MYL_COMPRESS_ZSTD: return MYL_CLIENT_ZSTD_COMPRESSION_ALGORITHM;
    case MYL_COMPRESS_NONE: break;
    }
    return 0;
}

size_t myl_compress_frame_bound(size_t max_packet)
{
    size_t b = max_packet > MYL_COMPRESS_MAX_FRAME ? MYL_COMPRESS_MAX_FRAME : max_packet;
    b += BOUND_SLACK;
    if (b < FLOOR_BOUND) b = FLOOR_BOUND;
    return b > MYL_COMPRESS_MAX_FRAME ? MYL_COMPRESS_MAX_FRAME : b;
}

/* ------------------------------------------------------------------ */
/* Negotiation */

static int name_is(const char *s, size_t n, const char *name)
{
    if (strlen(name) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != name[i]) return 0;
    return 1;
}

static int wrongly_configured(myl_error *err, const char *fmt, const char *what)
{
    char detail[200];
    snprintf(detail, sizeof detail, fmt, what);
    myl_error_set(err, MYL_CR_COMPRESSION_WRONGLY_CONFIGURED,
                  "Connection failed due to wrongly configured compression algorithm (%s)", detail);
    return -1;
}

/* Adds one name of compression_algorithms to the plan. */
static int plan_name(myl_compress_plan *plan, const char *s, size_t n, myl_error *err)
{
    myl_compression algo;
    if (name_is(s, n, "uncompressed")) {
        plan->uncompressed_ok = 1;
        return 0;
    }
    if (name_is(s, n, "zlib")) algo = MYL_COMPRESS_ZLIB;
    else if (name_is(s, n, "zstd")) algo = MYL_COMPRESS_ZSTD;
    else {
        char name[40];
        snprintf(name, sizeof name, "%.*s", (int)(n > 32 ? 32 : n), s);
        return wrongly_configured(err,
                                  "unknown algorithm '%s' in compression_algorithms: "
                                  "\"zlib\", \"zstd\" and \"uncompressed\" are known",
                                  name);
    }
    for (size_t i = 0; i < 2; i++) {
        if (plan->want[i] == algo) return 0; /* named twice: the first place counts */
        if (plan->want[i] == MYL_COMPRESS_NONE) {
            plan->want[i] = algo;
            return 0;
        }
    }
    return 0;
}

int myl_compress_plan_from(const myl_options *opt, myl_compress_plan *plan, myl_error *err)
{
    memset(plan, 0, sizeof *plan);
    plan->zlib_level = opt->compression_level ? opt->compression_level : -1;
    plan->zstd_level = opt->zstd_compression_level ? opt->zstd_compression_level
                                                   : ZSTD_DEFAULT_LEVEL;
    if (plan->zlib_level != -1 && (plan->zlib_level < 1 || plan->zlib_level > 9))
        return wrongly_configured(err, "%s", "compression_level must be from 1 to 9");
    if (plan->zstd_level < 1 || plan->zstd_level > 22)
        return wrongly_configured(err, "%s", "zstd_compression_level must be from 1 to 22");
    const char *list = opt->compression_algorithms;
    if (!list) {
        if (opt->compress) plan->want[0] = MYL_COMPRESS_ZLIB;
        plan->uncompressed_ok = 1;
        return 0;
    }
    size_t names = 0;
    for (const char *s = list;;) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        const char *a = s, *b = s + n;
        while (a < b && isspace((unsigned char)*a)) a++;
        while (b > a && isspace((unsigned char)b[-1])) b--;
        if (a < b) {
            if (plan_name(plan, a, (size_t)(b - a), err)) return -1;
            names++;
        }
        if (!end) break;
        s = end + 1;
    }
    if (names == 0)
        return wrongly_configured(err, "%s",
                                  "compression_algorithms names no algorithm: give \"zlib\", "
                                  "\"zstd\" or \"uncompressed\"");
    return 0;
}

int myl_compress_choose(const myl_compress_plan *plan, uint64_t server_caps,
                        myl_compression *chosen, myl_error *err)
{
    *chosen = MYL_COMPRESS_NONE;
    for (size_t i = 0; i < 2 && plan->want[i] != MYL_COMPRESS_NONE; i++) {
        if (server_caps & myl_compress_flag(plan->want[i])) {
            *chosen = plan->want[i];
            return 0;
        }
    }
    if (plan->want[0] == MYL_COMPRESS_NONE || plan->uncompressed_ok) return 0;
    char names[40];
    snprintf(names, sizeof names, "%s%s%s", myl_compression_name(plan->want[0]),
             plan->want[1] != MYL_COMPRESS_NONE ? " or " : "",
             plan->want[1] != MYL_COMPRESS_NONE ? myl_compression_name(plan->want[1]) : "");
    return wrongly_configured(err,
                              "the server offers no %s compression; add \"uncompressed\" to "
                              "compression_algorithms to allow an uncompressed connection",
                              names);
}

/* ------------------------------------------------------------------ */
/* The layer */

typedef struct compress_layer {
    myl_transport base;
    myl_compression algo;
    int level;
    size_t bound;  /* the longest frame payload accepted, compressed or not */
    uint8_t seq;   /* the frame sequence id expected next / sent next */

    /* sending */
    myl_buf pending; /* written since the last frame went out */
    myl_buf frame;   /* the frame being sent: header and payload */

    /* receiving */
    myl_buf in;        /* bytes from below; frames are parsed in place */
    size_t in_pos;     /* start of the unparsed bytes */
    myl_buf plain;     /* a compressed frame's payload, decompressed */
    const uint8_t *view; /* the current frame's bytes, stored or decompressed */
    size_t view_len, view_pos;

    z_stream inflater;
    int inflater_ready;
    struct libdeflate_compressor *deflater;
    struct libdeflate_decompressor *inflater_fast;
    ZSTD_CCtx *zc;
    ZSTD_DCtx *zd;

    int own_error; /* the last failure is this layer's (err), not the one below's */
    char err[240];
} compress_layer;

static compress_layer *layer_of(myl_transport *t) { return (compress_layer *)t; }

static myl_io_status own_failure(compress_layer *l, myl_io_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static myl_io_status own_failure(compress_layer *l, myl_io_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err, sizeof l->err, fmt, ap);
    va_end(ap);
    l->own_error = 1;
    return st;
}

static myl_io_status below_failed(compress_layer *l, myl_io_status st)
{
    l->own_error = 0;
    return st;
}

/* ---- sending ---- */

/* Compresses n bytes at p into l->frame after the header room; returns the
 * compressed length, or 0 when compression failed or did not shrink the
 * data (the frame is then sent stored: room for n - 1 bytes only).
 *
 * zlib frames are made by libdeflate: a frame is one whole zlib stream, and
 * at the default level libdeflate makes it with well under half of zlib's
 * CPU and about a tenth fewer bytes.  Its state at levels 5 to 9 takes
 * about 650 KiB against zlib's 260 KiB, made at the first compressed
 * frame a connection sends. */
static size_t squeeze(compress_layer *l, const uint8_t *p, size_t n)
{
    if (l->algo == MYL_COMPRESS_ZLIB) {
        if (!l->deflater && !(l->deflater = libdeflate_alloc_compressor(l->level))) return 0;
        return libdeflate_zlib_compress(l->deflater, p, n, l->frame.data + MYL_COMPRESS_HEADER,
                                        n - 1);
    }
    if (!l->zc && !(l->zc = ZSTD_createCCtx())) return 0;
    size_t r = ZSTD_compressCCtx(l->zc, l->frame.data + MYL_COMPRESS_HEADER, n - 1, p, n, l->level);
    return ZSTD_isError(r) ? 0 : r;
}

static void put_u24(uint8_t *h, size_t v)
{
    h[0] = (uint8_t)v;
    h[1] = (uint8_t)(v >> 8);
    h[2] = (uint8_t)(v >> 16);
}

/* Sends n bytes (at most a frame's worth) as one frame: compressed when
 * that saves something, stored otherwise. */
static myl_io_status send_frame(compress_layer *l, const uint8_t *p, size_t n, double deadline)
{
    l->frame.len = 0;
    if (myl_buf_reserve(&l->frame, MYL_COMPRESS_HEADER + n))
        return own_failure(l, MYL_IO_ERROR, "out of memory compressing a packet");
    size_t clen = n >= MYL_COMPRESS_MIN_LENGTH ? squeeze(l, p, n) : 0;
    uint8_t *h = l->frame.data;
    if (clen) {
        put_u24(h, clen);
        put_u24(h + 4, n);
    } else { /* stored */
        memcpy(h + MYL_COMPRESS_HEADER, p, n);
        put_u24(h, n);
        put_u24(h + 4, 0);
        clen = n;
    }
    h[3] = l->seq++;
    l->frame.len = MYL_COMPRESS_HEADER + clen;
    myl_io_status st = l->base.below->write(l->base.below, l->frame.data, l->frame.len, deadline);
    return st == MYL_IO_DONE ? st : below_failed(l, st);
}

/* Holds the bytes until flush; whole frames' worth go out at once, so a
 * huge packet is never copied whole. */
static myl_io_status compress_write(myl_transport *t, const void *buf, size_t n, double deadline)
{
    compress_layer *l = layer_of(t);
    const uint8_t *p = buf;
    myl_io_status st;
    if (l->pending.len) {
        size_t room = MYL_COMPRESS_MAX_FRAME - l->pending.len;
        size_t take = n < room ? n : room;
        if (myl_buf_append(&l->pending, p, take))
            return own_failure(l, MYL_IO_ERROR, "out of memory compressing a packet");
        p += take;
        n -= take;
        if (l->pending.len == MYL_COMPRESS_MAX_FRAME) {
            l->pending.len = 0;
            if ((st = send_frame(l, l->pending.data, MYL_COMPRESS_MAX_FRAME, deadline))) return st;
        }
    }
    for (; n >= MYL_COMPRESS_MAX_FRAME; p += MYL_COMPRESS_MAX_FRAME, n -= MYL_COMPRESS_MAX_FRAME)
        if ((st = send_frame(l, p, MYL_COMPRESS_MAX_FRAME, deadline))) return st;
    if (n && myl_buf_append(&l->pending, p, n))
        return own_failure(l, MYL_IO_ERROR, "out of memory compressing a packet");
    return MYL_IO_DONE;
}

static myl_io_status compress_flush(myl_transport *t, double deadline)
{
    compress_layer *l = layer_of(t);
    myl_transport *below = l->base.below;
    if (l->pending.len) {
        size_t n = l->pending.len;
        l->pending.len = 0;
        myl_io_status st = send_frame(l, l->pending.data, n, deadline);
        if (st) return st;
    }
    if (!below->flush) return MYL_IO_DONE;
    myl_io_status st = below->flush(below, deadline);
    return st == MYL_IO_DONE ? st : below_failed(l, st);
}

/* ---- receiving ---- */

/* Makes `need` unparsed bytes available in l->in. */
static myl_io_status fill(compress_layer *l, size_t need, double deadline)
{
    myl_transport *below = l->base.below;
    while (l->in.len - l->in_pos < need) {
        if (l->in_pos > 0) {
            memmove(l->in.data, l->in.data + l->in_pos, l->in.len - l->in_pos);
            l->in.len -= l->in_pos;
            l->in_pos = 0;
        }
        size_t want = need - l->in.len;
        if (want < READ_CHUNK) want = READ_CHUNK;
        if (myl_buf_reserve(&l->in, want))
            return own_failure(l, MYL_IO_ERROR, "out of memory reading a compressed frame");
        size_t got = 0;
        myl_io_status st =
            below->read(below, l->in.data + l->in.len, l->in.cap - l->in.len, &got, deadline);
        if (st != MYL_IO_DONE) return below_failed(l, st);
        l->in.len += got;
    }
    return MYL_IO_DONE;
}

static myl_io_status corrupt(compress_layer *l, const char *what)
{
    return own_failure(l, MYL_IO_PROTOCOL, "Malformed packet (compressed frame: %s)", what);
}

static myl_io_status wrong_length(compress_layer *l, size_t got, size_t declared)
{
    char what[120];
    if (got > declared)
        snprintf(what, sizeof what, "its data inflates to more than the %zu bytes declared",
                 declared);
    else
        snprintf(what, sizeof what, "its data inflates to %zu bytes, %zu declared", got, declared);
    return corrupt(l, what);
}

/* zlib's inflate, for what libdeflate refused: it names what is wrong
 * with the data (cut short, or where it is corrupt).  Its verdict stands,
 * so data only it accepted still reads. */
static myl_io_status inflate_zlib_stream(compress_layer *l, const uint8_t *p, size_t n,
                                         uint8_t *out, size_t ulen)
{
    z_stream *z = &l->inflater;
    if (!l->inflater_ready) {
        memset(z, 0, sizeof *z);
        if (inflateInit(z) != Z_OK)
            return own_failure(l, MYL_IO_ERROR, "out of memory starting zlib");
        l->inflater_ready = 1;
    } else if (inflateReset(z) != Z_OK) {
        return own_failure(l, MYL_IO_ERROR, "zlib could not be reset");
    }
    z->next_in = (Bytef *)(uintptr_t)p;
    z->avail_in = (uInt)n;
    z->next_out = out;
    z->avail_out = (uInt)ulen;
    int rc = inflate(z, Z_FINISH);
    if (rc == Z_BUF_ERROR && z->avail_out == 0) {
        /* The declared room is full: one byte more tells data beyond the
         * declared length from a stream that only lacks its end. */
        uint8_t extra;
        z->next_out = &extra;
        z->avail_out = 1;
        rc = inflate(z, Z_FINISH);
        if (z->avail_out == 0) return wrong_length(l, ulen + 1, ulen);
    }
    if (rc == Z_STREAM_END) {
        if (z->total_out != ulen) return wrong_length(l, (size_t)z->total_out, ulen);
        if (z->avail_in) return corrupt(l, "bytes follow the end of its zlib data");
        return MYL_IO_DONE;
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
        char what[120];
        snprintf(what, sizeof what, "corrupt zlib data: %s", z->msg ? z->msg : "invalid");
        return corrupt(l, what);
    }
    if (rc == Z_MEM_ERROR) return own_failure(l, MYL_IO_ERROR, "out of memory in zlib");
    return corrupt(l, "its zlib data is cut short"); /* Z_BUF_ERROR: the input ran out */
}

/* Decompresses n bytes at p into out, which must come to exactly `ulen`
 * bytes (out has room for that many).
 *
 * Why libdeflate: a frame is a whole zlib stream whose length is declared,
 * the case libdeflate is made for.  It inflates the same data with about
 * two thirds of zlib's instructions (no window to keep, wider Huffman
 * tables), and the frames of a compressed result are most of what it costs
 * the client. */
static myl_io_status inflate_zlib(compress_layer *l, const uint8_t *p, size_t n, uint8_t *out,
                                  size_t ulen)
{
    if (!l->inflater_fast && !(l->inflater_fast = libdeflate_alloc_decompressor()))
        return own_failure(l, MYL_IO_ERROR, "out of memory starting to inflate");
    size_t used = 0, got = 0;
    switch (libdeflate_zlib_decompress_ex(l->inflater_fast, p, n, out, ulen, &used, &got)) {
    case LIBDEFLATE_SUCCESS:
        if (got != ulen) return wrong_length(l, got, ulen);
        if (used != n) return corrupt(l, "bytes follow the end of its zlib data");
        return MYL_IO_DONE;
    case LIBDEFLATE_INSUFFICIENT_SPACE:
        return wrong_length(l, ulen + 1, ulen);
    default: /* LIBDEFLATE_BAD_DATA; SHORT_OUTPUT cannot come with `got` asked for */
        return inflate_zlib_stream(l, p, n, out, ulen);
    }
}

static myl_io_status inflate_zstd(compress_layer *l, const uint8_t *p, size_t n, uint8_t *out,
                                  size_t ulen)
{
    if (!l->zd && !(l->zd = ZSTD_createDCtx()))
        return own_failure(l, MYL_IO_ERROR, "out of memory starting zstd");
    size_t r = ZSTD_decompressDCtx(l->zd, out, ulen, p, n);
    if (ZSTD_isError(r)) {
        if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
            return wrong_length(l, ulen + 1, ulen);
        char what[120];
        snprintf(what, sizeof what, "corrupt zstd data: %s", ZSTD_getErrorName(r));
        return corrupt(l, what);
    }
    if (r != ulen) return wrong_length(l, r, ulen);
    return MYL_IO_DONE;
}

/* Reads the next frame: its payload (still compressed unless *ulen is 0,
 * which means stored) stays in l->in until the next read from below.
 * Every length is checked against the bound before anything is read or
 * allocated for it. */
static myl_io_status next_frame(compress_layer *l, double deadline, const uint8_t **payload,
                                size_t *clen_out, size_t *ulen_out)
{
    myl_io_status st = fill(l, MYL_COMPRESS_HEADER, deadline);
    if (st) return st;
    const uint8_t *h = l->in.data + l->in_pos;
    size_t clen = (size_t)h[0] | ((size_t)h[1] << 8) | ((size_t)h[2] << 16);
    size_t ulen = (size_t)h[4] | ((size_t)h[5] << 8) | ((size_t)h[6] << 16);
    char what[160];
    if (h[3] != l->seq) {
        snprintf(what, sizeof what, "sequence id %u, expected %u: packets out of order", h[3],
                 l->seq);
        return corrupt(l, what);
    }
    if (clen > l->bound) {
        snprintf(what, sizeof what, "%zu bytes long, more than max_packet allows (%zu)", clen,
                 l->bound);
        return corrupt(l, what);
    }
    if (ulen > l->bound) {
        snprintf(what, sizeof what, "declares %zu bytes uncompressed, more than max_packet "
                 "allows (%zu)", ulen, l->bound);
        return corrupt(l, what);
    }
    if ((st = fill(l, MYL_COMPRESS_HEADER + clen, deadline))) return st;
    l->seq = (uint8_t)(l->seq + 1);
    *payload = l->in.data + l->in_pos + MYL_COMPRESS_HEADER;
    l->in_pos += MYL_COMPRESS_HEADER + clen;
    *clen_out = clen;
    *ulen_out = ulen;
    return MYL_IO_DONE;
}

static myl_io_status decompress(compress_layer *l, const uint8_t *p, size_t clen, uint8_t *out,
                                size_t ulen)
{
    return l->algo == MYL_COMPRESS_ZLIB ? inflate_zlib(l, p, clen, out, ulen)
                                        : inflate_zstd(l, p, clen, out, ulen);
}

/* A compressed frame that fits the caller's room is decompressed straight
 * into it; only one that does not goes through l->plain and is handed out
 * from there, a piece per read.  Stored frames are served from l->in. */
static myl_io_status compress_read(myl_transport *t, void *buf, size_t n, size_t *got,
                                   double deadline)
{
    compress_layer *l = layer_of(t);
    while (l->view_pos == l->view_len) { /* empty frames are skipped, within the deadline */
        if (deadline > 0 && myl_now() >= deadline)
            return own_failure(l, MYL_IO_TIMEOUT, "timed out");
        const uint8_t *payload = NULL;
        size_t clen = 0, ulen = 0;
        myl_io_status st = next_frame(l, deadline, &payload, &clen, &ulen);
        if (st) return st;
        l->view_pos = 0;
        if (ulen == 0) { /* stored */
            l->view = payload;
            l->view_len = clen;
            continue;
        }
        l->view_len = 0;
        if (ulen <= n) {
            if ((st = decompress(l, payload, clen, buf, ulen))) return st;
            *got = ulen;
            return MYL_IO_DONE;
        }
        l->plain.len = 0;
        if (myl_buf_reserve(&l->plain, ulen))
            return own_failure(l, MYL_IO_ERROR, "out of memory decompressing a frame");
        if ((st = decompress(l, payload, clen, l->plain.data, ulen))) return st;
        l->view = l->plain.data;
        l->view_len = ulen;
    }
    size_t left = l->view_len - l->view_pos;
    if (n > left) n = left;
    memcpy(buf, l->view + l->view_pos, n);
    l->view_pos += n;
    *got = n;
    return MYL_IO_DONE;
}

/* ---- the rest of the table ---- */

/* Frees a buffer a huge packet grew beyond `keep` bytes; the caller knows
 * nothing waits in it. */
static void shrink(myl_buf *b, size_t keep)
{
    if (b->cap > keep) myl_buf_free(b);
}

static void compress_on_command(myl_transport *t)
{
    compress_layer *l = layer_of(t);
    l->seq = 0;
    /* between commands: the last response was read (or the connection is
     * dropped), so only unparsed input must be kept */
    if (l->view_pos == l->view_len) {
        if (l->in_pos == l->in.len) {
            l->in.len = l->in_pos = 0;
            shrink(&l->in, KEEP_BYTES);
            l->view = NULL;
            l->view_len = l->view_pos = 0;
        }
        shrink(&l->plain, KEEP_BYTES);
    }
    if (l->pending.len == 0) shrink(&l->pending, KEEP_BYTES);
    shrink(&l->frame, KEEP_BYTES);
    myl_transport_pass_on_command(t);
}

static const char *compress_errmsg(const myl_transport *t)
{
    const compress_layer *l = (const compress_layer *)t;
    if (l->own_error) return l->err;
    return l->base.below->errmsg(l->base.below);
}

static void free_layer(compress_layer *l)
{
    myl_buf_free(&l->pending);
    myl_buf_free(&l->frame);
    myl_buf_free(&l->in);
    myl_buf_free(&l->plain);
    libdeflate_free_compressor(l->deflater);
    if (l->inflater_ready) inflateEnd(&l->inflater);
    libdeflate_free_decompressor(l->inflater_fast);
    ZSTD_freeCCtx(l->zc);
    ZSTD_freeDCtx(l->zd);
    free(l);
}

static void compress_close(myl_transport *t)
{
    compress_layer *l = layer_of(t);
    myl_transport *below = l->base.below;
    free_layer(l);
    if (below) below->close(below);
}

myl_transport *myl_compress_open(myl_transport *below, myl_compression algo, int level,
                                 size_t max_payload, myl_error *err)
{
    compress_layer *l = calloc(1, sizeof *l);
    if (!l) {
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return NULL;
    }
    l->base.read = compress_read;
    l->base.write = compress_write;
    l->base.flush = compress_flush;
    l->base.on_command = compress_on_command;
    l->base.errmsg = compress_errmsg;
    l->base.close = compress_close;
    l->base.secure = below->secure; /* compressing hides nothing and protects nothing */
    l->base.below = below;
    l->algo = algo == MYL_COMPRESS_ZSTD ? MYL_COMPRESS_ZSTD : MYL_COMPRESS_ZLIB;
    if (l->algo == MYL_COMPRESS_ZLIB) l->level = level >= 1 && level <= 9 ? level : ZLIB_DEFAULT_LEVEL;
    else l->level = level >= 1 && level <= 22 ? level : ZSTD_DEFAULT_LEVEL;
    l->bound = max_payload > MYL_COMPRESS_MAX_FRAME ? MYL_COMPRESS_MAX_FRAME : max_payload;
    return &l->base;
}
