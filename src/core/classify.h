/* The one place that decides what a packet is, from its first byte(s) and
 * what the connection is waiting for.  Pure: no I/O, no state. */
#ifndef MYL_CLASSIFY_H
#define MYL_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

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
    MYL_PKT_ROW,           /* a text row */
} myl_pkt;

myl_pkt myl_classify(myl_wait wait, const uint8_t *p, size_t n, uint64_t caps);

/* A short name of what was expected, for error messages ("result set
 * head", "text row", ...). */
const char *myl_wait_name(myl_wait wait);

#endif
