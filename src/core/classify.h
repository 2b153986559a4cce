/* The one place that decides what a packet is, from its first byte(s) and
 * what the connection is waiting for.  Pure: no I/O, no state. */
#ifndef MYL_CLASSIFY_H
#define MYL_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* What the connection waits for. */
typedef enum {
    MYL_WAIT_GREETING,    /* the server's first packet */
    MYL_WAIT_AUTH,        /* a reply during authentication */
    MYL_WAIT_OK,          /* the reply to a simple command (ping, init_db, ...) */
    MYL_WAIT_RESULT,      /* the head of a command's next result */
    MYL_WAIT_COLUMN,      /* a column definition */
    MYL_WAIT_COLUMNS_END, /* the EOF after the column definitions (no DEPRECATE_EOF) */
    MYL_WAIT_ROW,         /* a text row, or the end of the rows */
    MYL_WAIT_INFILE_DONE, /* the verdict after LOCAL INFILE data */
    MYL_WAIT_PREPARE,     /* the reply to COM_STMT_PREPARE */
} myl_wait;

typedef enum {
    MYL_PKT_MALFORMED = 0, /* nothing this packet may be here */
    MYL_PKT_GREETING,      /* protocol v10 handshake */
    MYL_PKT_OK,            /* 0x00 OK */
    MYL_PKT_ERR,           /* 0xFF ERR */
    MYL_PKT_EOF,           /* the end of rows or columns: a classic EOF, or an OK
                              with the 0xFE header under DEPRECATE_EOF */
    MYL_PKT_AUTH_SWITCH,   /* 0xFE plugin name, plugin data */
    MYL_PKT_OLD_AUTH,      /* 0xFE alone: a switch to mysql_old_password */
    MYL_PKT_AUTH_MORE,     /* 0x01 AuthMoreData */
    MYL_PKT_LOCAL_INFILE,  /* 0xFB file name */
    MYL_PKT_RESULT_SET,    /* a column count */
    MYL_PKT_COLUMN,        /* a column definition */
    MYL_PKT_ROW,           /* a text or binary row */
    MYL_PKT_PREPARE_OK,    /* 0x00 statement id, counts (COM_STMT_PREPARE's OK) */
} myl_pkt;

/* Inline: it runs once per row. */
static inline myl_pkt myl_classify(myl_wait wait, const uint8_t *p, size_t n, uint64_t caps)
{
    if (n == 0) return MYL_PKT_MALFORMED; /* no packet of the protocol is empty */
    uint8_t h = p[0];
    /* An ERR can come instead of anything: a server refuses, a statement
     * fails, a row cannot be produced.  (A row never starts with 0xFF: that
     * is not a length-encoded value.) */
    if (h == 0xFF) return MYL_PKT_ERR;
    switch (wait) {
    case MYL_WAIT_GREETING:
        /* Protocol version 10; anything else is not a MySQL server (or one
         * older than 3.21). */
        return h == 10 ? MYL_PKT_GREETING : MYL_PKT_MALFORMED;
    case MYL_WAIT_AUTH:
        if (h == 0x00) return MYL_PKT_OK;
        if (h == 0xFE) return n == 1 ? MYL_PKT_OLD_AUTH : MYL_PKT_AUTH_SWITCH;
        if (h == 0x01) return MYL_PKT_AUTH_MORE;
        return MYL_PKT_MALFORMED;
    case MYL_WAIT_OK:
        if (h == 0x00) return MYL_PKT_OK;
        /* Old servers answer some commands with an EOF packet. */
        if (myl_is_eof_packet(p, n)) return MYL_PKT_EOF;
        return MYL_PKT_MALFORMED;
    case MYL_WAIT_RESULT:
        if (h == 0x00) return MYL_PKT_OK;
        if (h == 0xFB) return MYL_PKT_LOCAL_INFILE;
    {
        /* A column count: a length-encoded integer filling the packet, but
         * for MariaDB's metadata byte after it when that was negotiated. */
        size_t extra = caps & MYL_MARIADB_CLIENT_CACHE_METADATA ? 1 : 0;
        if (h < 0xFB) return n == 1 + extra ? MYL_PKT_RESULT_SET : MYL_PKT_MALFORMED;
        if (h == 0xFC) return n == 3 + extra ? MYL_PKT_RESULT_SET : MYL_PKT_MALFORMED;
        if (h == 0xFD) return n == 4 + extra ? MYL_PKT_RESULT_SET : MYL_PKT_MALFORMED;
        if (h == 0xFE) return n == 9 + extra ? MYL_PKT_RESULT_SET : MYL_PKT_MALFORMED;
        return MYL_PKT_MALFORMED;
    }
    case MYL_WAIT_COLUMN:
        return MYL_PKT_COLUMN; /* its decoder checks the rest */
    case MYL_WAIT_COLUMNS_END:
        return myl_is_eof_packet(p, n) ? MYL_PKT_EOF : MYL_PKT_MALFORMED;
    case MYL_WAIT_ROW:
        /* 0xFE starts the end of the rows, or a row whose first value is
         * 16 MiB or longer (8-byte length): such a row is a packet of at
         * least 0xFFFFFF bytes, an end packet is far shorter. */
        if (h == 0xFE && n < MYL_MAX_CHUNK) {
            if (caps & MYL_CLIENT_DEPRECATE_EOF) return MYL_PKT_EOF;
            return myl_is_eof_packet(p, n) ? MYL_PKT_EOF : MYL_PKT_MALFORMED;
        }
        return MYL_PKT_ROW;
    case MYL_WAIT_INFILE_DONE:
        return h == 0x00 ? MYL_PKT_OK : MYL_PKT_MALFORMED;
    case MYL_WAIT_PREPARE:
        /* 0x00, id (4), columns (2), parameters (2), 0x00, warnings (2) */
        return h == 0x00 && n >= 12 ? MYL_PKT_PREPARE_OK : MYL_PKT_MALFORMED;
    }
    return MYL_PKT_MALFORMED;
}


/* A short name of what was expected, for error messages ("result set
 * head", "text row", ...). */
const char *myl_wait_name(myl_wait wait);

#endif
