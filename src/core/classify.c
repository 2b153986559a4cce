#include "classify.h"

#include "proto.h"

myl_pkt myl_classify(myl_wait wait, const uint8_t *p, size_t n, uint64_t caps)
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
        /* A column count: a length-encoded integer filling the packet. */
        if (h < 0xFB) return n == 1 ? MYL_PKT_RESULT_SET : MYL_PKT_MALFORMED;
        if (h == 0xFC) return n == 3 ? MYL_PKT_RESULT_SET : MYL_PKT_MALFORMED;
        if (h == 0xFD) return n == 4 ? MYL_PKT_RESULT_SET : MYL_PKT_MALFORMED;
        if (h == 0xFE) return n == 9 ? MYL_PKT_RESULT_SET : MYL_PKT_MALFORMED;
        return MYL_PKT_MALFORMED;
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
    }
    return MYL_PKT_MALFORMED;
}

const char *myl_wait_name(myl_wait wait)
{
    switch (wait) {
    case MYL_WAIT_GREETING: return "server greeting";
    case MYL_WAIT_AUTH: return "authentication reply";
    case MYL_WAIT_OK: return "OK packet";
    case MYL_WAIT_RESULT: return "result head";
    case MYL_WAIT_COLUMN: return "column definition";
    case MYL_WAIT_COLUMNS_END: return "end of column definitions";
    case MYL_WAIT_ROW: return "text row";
    case MYL_WAIT_INFILE_DONE: return "reply to LOCAL INFILE data";
    }
    return "packet";
}
