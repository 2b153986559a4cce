#include "proto.h"

#include <string.h>

#include "rd.h"
#include "row.h"

const char *myl_type_name(unsigned type)
{
    switch (type) {
    case MYL_TYPE_DECIMAL: return "DECIMAL";
    case MYL_TYPE_TINY: return "TINY";
    case MYL_TYPE_SHORT: return "SHORT";
    case MYL_TYPE_LONG: return "LONG";
    case MYL_TYPE_FLOAT: return "FLOAT";
    case MYL_TYPE_DOUBLE: return "DOUBLE";
    case MYL_TYPE_NULL: return "NULL";
    case MYL_TYPE_TIMESTAMP: return "TIMESTAMP";
    case MYL_TYPE_LONGLONG: return "LONGLONG";
    case MYL_TYPE_INT24: return "INT24";
    case MYL_TYPE_DATE: return "DATE";
    case MYL_TYPE_TIME: return "TIME";
    case MYL_TYPE_DATETIME: return "DATETIME";
    case MYL_TYPE_YEAR: return "YEAR";
    case MYL_TYPE_NEWDATE: return "NEWDATE";
    case MYL_TYPE_VARCHAR: return "VARCHAR";
    case MYL_TYPE_BIT: return "BIT";
    case MYL_TYPE_TIMESTAMP2: return "TIMESTAMP2";
    case MYL_TYPE_DATETIME2: return "DATETIME2";
    case MYL_TYPE_TIME2: return "TIME2";
    case MYL_TYPE_JSON: return "JSON";
    case MYL_TYPE_NEWDECIMAL: return "NEWDECIMAL";
    case MYL_TYPE_ENUM: return "ENUM";
    case MYL_TYPE_SET: return "SET";
    case MYL_TYPE_TINY_BLOB: return "TINY_BLOB";
    case MYL_TYPE_MEDIUM_BLOB: return "MEDIUM_BLOB";
    case MYL_TYPE_LONG_BLOB: return "LONG_BLOB";
    case MYL_TYPE_BLOB: return "BLOB";
    case MYL_TYPE_VAR_STRING: return "VAR_STRING";
    case MYL_TYPE_STRING: return "STRING";
    case MYL_TYPE_GEOMETRY: return "GEOMETRY";
    default: return "UNKNOWN";
    }
}

int myl_parse_handshake(const uint8_t *p, size_t n, myl_handshake *hs)
{
    myl_rd r = myl_rd_init(p, n);
    memset(hs, 0, sizeof *hs);
    hs->protocol_version = myl_rd_u8(&r);
    if (hs->protocol_version != 10) return -1;
    hs->server_version = myl_rd_nulstr(&r, &hs->server_version_len);
    hs->thread_id = myl_rd_u32(&r);
    const uint8_t *part1 = myl_rd_bytes(&r, 8);
    myl_rd_skip(&r, 1); /* filler */
    hs->capabilities = myl_rd_u16(&r);
    if (r.bad) return -1;
    memcpy(hs->scramble, part1, 8);
    hs->scramble_len = 8;
    if (myl_rd_left(&r) == 0) return 0; /* pre-4.1 servers stop here */

    hs->charset = myl_rd_u8(&r);
    hs->status = myl_rd_u16(&r);
    hs->capabilities |= (uint64_t)myl_rd_u16(&r) << 16;
    unsigned auth_len = myl_rd_u8(&r);
    myl_rd_skip(&r, 6);
    uint32_t ext = myl_rd_u32(&r);
    /* MariaDB clears CLIENT_MYSQL (bit 0) and puts its own capabilities in
     * the last four filler bytes. */
    if (!(hs->capabilities & MYL_CLIENT_LONG_PASSWORD)) hs->capabilities |= (uint64_t)ext << 32;
    if (r.bad) return -1;

    if (hs->capabilities & MYL_CLIENT_SECURE_CONNECTION) {
        /* With plugin auth the length byte counts both parts and the NUL
         * (21 for the usual 20 bytes); a server without it sends 12 + NUL.
         * A shorter claim is kept as it is, for the handshake to refuse. */
        size_t part2_len = 13;
        if (hs->capabilities & MYL_CLIENT_PLUGIN_AUTH) {
            if (auth_len <= 8) return -1;
            part2_len = auth_len - 8;
        }
        if (part2_len > sizeof hs->scramble - 8) return -1;
        const uint8_t *part2 = myl_rd_bytes(&r, part2_len);
        if (!part2) return -1;
        /* The second part ends with a NUL that is not part of the scramble. */
        if (part2[part2_len - 1] == 0) part2_len--;
        memcpy(hs->scramble + 8, part2, part2_len);
        hs->scramble_len += part2_len;
    }
    if (hs->capabilities & MYL_CLIENT_PLUGIN_AUTH) {
        size_t left = myl_rd_left(&r);
        const uint8_t *z = left ? memchr(r.p, 0, left) : NULL;
        hs->auth_plugin = (const char *)r.p;
        /* Some servers omit the terminating NUL. */
        hs->auth_plugin_len = z ? (size_t)(z - r.p) : left;
        if (hs->auth_plugin_len == 0) hs->auth_plugin = NULL;
    }
    return 0;
}

int myl_parse_ok(const uint8_t *p, size_t n, uint64_t caps, myl_ok *ok)
{
    myl_rd r = myl_rd_init(p, n);
    uint8_t h = myl_rd_u8(&r);
    if (h != 0x00 && h != 0xFE) return -1;
    ok->affected_rows = myl_rd_lenenc(&r, NULL);
    ok->insert_id = myl_rd_lenenc(&r, NULL);
    ok->status = myl_rd_u16(&r);
    ok->warnings = myl_rd_u16(&r);
    if (r.bad) return -1;
    ok->info = NULL;
    ok->info_len = 0;
    ok->state = NULL;
    ok->state_len = 0;
    if (myl_rd_left(&r) == 0) return 0;
    /* The info message is a length-encoded string (servers send it so even
     * without session tracking); a peer that sends the bare text gets it
     * taken as the rest of the packet. */
    myl_rd probe = r;
    size_t len;
    const uint8_t *s = myl_rd_lenenc_str(&probe, &len);
    if (!probe.bad) {
        ok->info = (const char *)s;
        ok->info_len = len;
        if ((caps & MYL_CLIENT_SESSION_TRACK) && (ok->status & MYL_STATUS_SESSION_STATE_CHANGED)) {
            size_t slen;
            const uint8_t *st = myl_rd_lenenc_str(&probe, &slen);
            if (!probe.bad) {
                ok->state = st;
                ok->state_len = slen;
            }
        }
    } else if (!(caps & MYL_CLIENT_SESSION_TRACK)) {
        ok->info = (const char *)r.p;
        ok->info_len = myl_rd_left(&r);
    } else {
        return -1;
    }
    return 0;
}

int myl_parse_err(const uint8_t *p, size_t n, myl_err *err)
{
    myl_rd r = myl_rd_init(p, n);
    if (myl_rd_u8(&r) != 0xFF) return -1;
    err->code = myl_rd_u16(&r);
    if (r.bad) return -1;
    memcpy(err->sqlstate, "HY000", 6);
    if (myl_rd_left(&r) >= 6 && r.p[0] == '#') {
        memcpy(err->sqlstate, r.p + 1, 5);
        err->sqlstate[5] = '\0';
        r.p += 6;
    }
    err->message = (const char *)r.p;
    err->message_len = myl_rd_left(&r);
    return 0;
}

int myl_parse_eof(const uint8_t *p, size_t n, unsigned *warnings, unsigned *status)
{
    myl_rd r = myl_rd_init(p, n);
    if (myl_rd_u8(&r) != 0xFE) return -1;
    *warnings = 0;
    *status = 0;
    if (myl_rd_left(&r) >= 4) { /* PROTOCOL_41 */
        *warnings = myl_rd_u16(&r);
        *status = myl_rd_u16(&r);
    }
    return r.bad ? -1 : 0;
}

int myl_parse_coldef(const uint8_t *p, size_t n, myl_coldef *c)
{
    myl_rd r = myl_rd_init(p, n);
    c->catalog = myl_rd_lenenc_str(&r, &c->catalog_len);
    c->db = myl_rd_lenenc_str(&r, &c->db_len);
    c->table = myl_rd_lenenc_str(&r, &c->table_len);
    c->org_table = myl_rd_lenenc_str(&r, &c->org_table_len);
    c->name = myl_rd_lenenc_str(&r, &c->name_len);
    c->org_name = myl_rd_lenenc_str(&r, &c->org_name_len);
    uint64_t fixed = myl_rd_lenenc(&r, NULL);
    if (r.bad || fixed < 12 || fixed > myl_rd_left(&r)) return -1;
    const uint8_t *end_fixed = r.p + fixed;
    c->charset = myl_rd_u16(&r);
    c->length = myl_rd_u32(&r);
    c->type = myl_rd_u8(&r);
    c->flags = myl_rd_u16(&r);
    c->decimals = myl_rd_u8(&r);
    if (r.bad) return -1;
    r.p = end_fixed; /* two filler bytes, and room for later extensions */
    return 0;
}

int myl_check_text_row(const uint8_t *p, size_t n, size_t ncols)
{
    myl_row_iter it;
    myl_row_begin(&it, p, n);
    for (size_t i = 0; i < ncols; i++) {
        const uint8_t *v;
        size_t len;
        if (myl_row_next(&it, &v, &len) == MYL_ROW_BAD) return -1;
    }
    return myl_row_done(&it) ? 0 : -1;
}
