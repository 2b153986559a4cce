/* The framer: MySQL packets over a transport.  A physical packet is a
 * 3-byte little-endian length, a 1-byte sequence id and the payload; a
 * logical packet of 0xFFFFFF bytes or more travels as full 0xFFFFFF chunks
 * followed by a shorter one (possibly empty).  Only the framer knows about
 * headers, sequence ids, splitting and reassembly.
 *
 * The framer has its own state and a sticky status: after a failure that
 * loses sync with the peer (a timeout, a closed transport, a wrong sequence
 * id, a packet over the ceiling, no memory) every later read or send returns
 * that same status until myl_framer_reset.  It never decides what a failure
 * means for a connection: its caller does. */
#ifndef MYL_PACKET_H
#define MYL_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "transport.h"

typedef enum {
    MYL_FR_OK = 0,
    MYL_FR_TIMEOUT = MYL_IO_TIMEOUT,   /* the deadline passed */
    MYL_FR_CLOSED = MYL_IO_CLOSED,     /* the peer closed the transport */
    MYL_FR_IO_ERROR = MYL_IO_ERROR,    /* the transport failed: see errmsg */
    MYL_FR_OUT_OF_ORDER = -4,          /* a header carried the wrong sequence id */
    MYL_FR_TOO_LARGE = -5,             /* a logical packet longer than max_packet */
    MYL_FR_NOMEM = -6,
    MYL_FR_NO_TRANSPORT = -7,          /* t is NULL */
    MYL_FR_MALFORMED = -8,             /* a layer below saw its protocol broken (a
                                          corrupt compressed frame): see errmsg */
} myl_fr_status;

#define MYL_FRAMER_ERRMSG_SIZE 200

typedef struct myl_framer {
    myl_transport *t; /* borrowed: the owner opens and closes it */
    myl_buf in;       /* bytes received; packets are returned in place */
    size_t in_pos;    /* start of the unconsumed bytes */
    myl_buf big;      /* reassembly of packets split over 0xFFFFFF chunks */
    myl_buf out;      /* outgoing payload, 4 header bytes reserved in front */
    uint8_t seq;      /* the sequence id expected next / sent next */
    /* 1 when a layer below numbers its own frames (the compressed
     * protocol): the server renumbers the packets inside at each frame, so
     * their sequence ids are followed, not checked.  Reset clears it. */
    int seq_checked_below;
    size_t max_packet; /* longest logical packet accepted or sent; 0: no limit */
    myl_fr_status status; /* sticky: MYL_FR_OK until a failure that loses sync */
    char errmsg[MYL_FRAMER_ERRMSG_SIZE]; /* the last failure, in words */
} myl_framer;

/* Starts a new exchange over `t` (may be NULL for now): no unread bytes,
 * sequence 0, status OK.  Buffers already allocated are kept.  A zeroed
 * struct is a valid framer without a transport. */
void myl_framer_reset(myl_framer *fr, myl_transport *t);
/* Frees the buffers (the transport is not the framer's). */
void myl_framer_free(myl_framer *fr);
/* Gives back buffers a huge packet grew beyond `keep` bytes, when nothing
 * unread is in them. */
void myl_framer_shrink(myl_framer *fr, size_t keep);

/* A new command starts: the sequence restarts at 0 and the transport's
 * on_command hook runs (layers with sequences of their own reset them). */
void myl_framer_new_command(myl_framer *fr);

/* Reads one logical packet.  The payload stays valid until the next read or
 * reset.  Refuses a packet longer than max_packet from its header(s), before
 * reading or allocating its body.  The deadline is checked before every
 * transport read, so a peer that keeps the socket full is cut off too. */
myl_fr_status myl_framer_read(myl_framer *fr, double deadline, const uint8_t **payload,
                              size_t *len);

/* After a send failed because the peer went away (MYL_FR_CLOSED or
 * MYL_FR_IO_ERROR): reads one packet the peer sent before that, usually an
 * ERR saying why, whatever its sequence id.  The framer's sticky status is
 * left as the failed send set it. */
myl_fr_status myl_framer_read_parting(myl_framer *fr, double deadline, const uint8_t **payload,
                                      size_t *len);

/* Starts an outgoing payload in fr->out; append with myl_buf_put* (room for
 * size_hint bytes is reserved).  A hint over max_packet is refused with
 * MYL_FR_TOO_LARGE, which is not sticky: nothing was sent. */
myl_fr_status myl_framer_begin(myl_framer *fr, size_t size_hint);

/* Sends fr->out's payload as one logical packet, split into chunks, then
 * flushes the transport.  A payload over max_packet is refused before any
 * byte is written (MYL_FR_TOO_LARGE, not sticky). */
myl_fr_status myl_framer_send(myl_framer *fr, double deadline);

/* 1 when the next logical packet is already in fr->in in full (one
 * physical packet: a split one never counts), so reading it will not wait
 * on the transport; 0 otherwise, and after a failure. */
int myl_framer_packet_buffered(const myl_framer *fr);

myl_fr_status myl_framer_status(const myl_framer *fr);
const char *myl_framer_errmsg(const myl_framer *fr);

#endif
