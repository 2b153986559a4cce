/* Protocol compression: which algorithm a connection asks for, and the
 * compressed protocol as a transport layer (transport.h) stacked on the
 * layer below once the login succeeded.
 *
 * A frame is a 7-byte header -- 3 bytes little-endian payload length,
 * 1 byte sequence id, 3 bytes uncompressed length (0: the payload is stored
 * as it is) -- and the payload.  The bytes carried are the plain protocol's
 * packets, headers included; a frame may hold several packets or part of
 * one.  Frames have their own sequence ids, restarted by each command; the
 * server renumbers the packets inside at each frame, so the framer does
 * not check those (packet.h, seq_checked_below). */
#ifndef MYL_COMPRESS_H
#define MYL_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "error.h"
#include "transport.h"

/* MySQL 8.0.18+: the zstd algorithm; the handshake response then ends with
 * one byte, the zstd compression level. */
#define MYL_CLIENT_ZSTD_COMPRESSION_ALGORITHM (1ull << 26)

/* The mysql client's code for a compression request that cannot be met. */
#define MYL_CR_COMPRESSION_WRONGLY_CONFIGURED 2066

/* Payloads shorter than this are sent stored (libmariadb's
 * MIN_COMPRESS_LENGTH): compressing them costs more than it saves. */
#define MYL_COMPRESS_MIN_LENGTH 50
/* The longest frame payload, compressed or not (a 3-byte length). */
#define MYL_COMPRESS_MAX_FRAME 0xFFFFFFu
#define MYL_COMPRESS_HEADER 7

typedef enum {
    MYL_COMPRESS_NONE = 0,
    MYL_COMPRESS_ZLIB,
    MYL_COMPRESS_ZSTD,
} myl_compression;

/* "zlib", "zstd", or NULL for none. */
const char *myl_compression_name(myl_compression algo);

/* What the options ask for, before the server is heard:
 * - compression_algorithms, when given, is a comma-separated list of
 *   "zlib", "zstd" and "uncompressed" (case-insensitive, blanks around
 *   names ignored).  The algorithms are tried in the order given; without
 *   "uncompressed" in the list a server that offers none of them is refused
 *   (as the mysql client does: MySQL calls a list without "uncompressed" a
 *   demand).  The list overrides `compress`.
 * - otherwise `compress` asks for zlib, falling back to no compression when
 *   the server lacks it (the mysql client's --compress).
 * - otherwise no compression. */
typedef struct myl_compress_plan {
    myl_compression want[2]; /* in order of preference; NONE ends the list */
    int uncompressed_ok;     /* a server offering none of them is accepted */
    int zlib_level;          /* 1..9, or -1 for zlib's default */
    int zstd_level;          /* 1..22 */
} myl_compress_plan;

/* Reads the options into `plan`.  Returns 0, or -1 with error 2066 in
 * `err` for an unknown algorithm name, an empty list, or a level out of
 * range. */
int myl_compress_plan_from(const myl_options *opt, myl_compress_plan *plan, myl_error *err);

/* Picks the algorithm for a server offering `server_caps`: the first wanted
 * one the server offers (zlib: CLIENT_COMPRESS; zstd:
 * MYL_CLIENT_ZSTD_COMPRESSION_ALGORITHM), NONE when it offers none of them.
 * Only the chosen algorithm's flag is sent, so no server has to pick
 * between two.  Returns -1 with error 2066 when none is offered and the
 * plan does not accept an uncompressed connection. */
int myl_compress_choose(const myl_compress_plan *plan, uint64_t server_caps,
                        myl_compression *chosen, myl_error *err);

/* The capability flag that asks for `algo` (0 for NONE). */
uint64_t myl_compress_flag(myl_compression algo);

/* Stacks the compressed protocol over `below` (which it then owns: closing
 * the layer closes it).  `level` is the algorithm's compression level
 * (zlib: -1 for its default).  A frame declaring more than `max_payload`
 * bytes, compressed or uncompressed, is refused before anything is
 * allocated for it: the caller passes what its max_packet lets through.
 * Returns NULL with error 2008 in err when out of memory (below is then
 * left open, still the caller's).
 *
 * A frame that breaks the protocol (wrong sequence id, a length over the
 * bound, data that does not decompress to exactly the declared length)
 * makes read return MYL_IO_PROTOCOL with errmsg saying what. */
myl_transport *myl_compress_open(myl_transport *below, myl_compression algo, int level,
                                 size_t max_payload, myl_error *err);

/* The bound on a frame's payload for a connection whose packets may be
 * `max_packet` bytes.  A server sends what its write buffer holds at a
 * flush: at most net_buffer_length (1 MiB at most) or, once a large packet
 * from the client grew it, that packet with headers and alignment (64 KiB
 * of slack); never more than a frame can say. */
size_t myl_compress_frame_bound(size_t max_packet);

#endif
