/* MySQL/MariaDB client/server protocol: constants and pure decoders.
 *
 * Every function here works over (const uint8_t *p, size_t n) holding one
 * complete packet payload; none does I/O.  A decoder returns 0 on success
 * and -1 when the payload is malformed (a length passing the end, a missing
 * terminator, bytes left over where none may be). */
#ifndef MYL_PROTO_H
#define MYL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MYL_MAX_CHUNK 0xFFFFFFu /* largest payload of one physical packet */

/* Capability flags (low 32 bits: MySQL; high 32 bits: MariaDB extensions). */
#define MYL_CLIENT_LONG_PASSWORD (1ull << 0) /* CLIENT_MYSQL in MariaDB servers */
#define MYL_CLIENT_FOUND_ROWS (1ull << 1)
#define MYL_CLIENT_LONG_FLAG (1ull << 2)
#define MYL_CLIENT_CONNECT_WITH_DB (1ull << 3)
#define MYL_CLIENT_COMPRESS (1ull << 5)
#define MYL_CLIENT_LOCAL_FILES (1ull << 7)
#define MYL_CLIENT_PROTOCOL_41 (1ull << 9)
#define MYL_CLIENT_SSL (1ull << 11)
#define MYL_CLIENT_TRANSACTIONS (1ull << 13)
#define MYL_CLIENT_SECURE_CONNECTION (1ull << 15)
#define MYL_CLIENT_MULTI_STATEMENTS (1ull << 16)
#define MYL_CLIENT_MULTI_RESULTS (1ull << 17)
#define MYL_CLIENT_PS_MULTI_RESULTS (1ull << 18)
#define MYL_CLIENT_PLUGIN_AUTH (1ull << 19)
#define MYL_CLIENT_CONNECT_ATTRS (1ull << 20)
#define MYL_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA (1ull << 21)
#define MYL_CLIENT_SESSION_TRACK (1ull << 23)
#define MYL_CLIENT_DEPRECATE_EOF (1ull << 24)
/* MariaDB's: COM_STMT_BULK_EXECUTE */
#define MYL_MARIADB_CLIENT_STMT_BULK_OPERATIONS (1ull << 34)
/* MariaDB's: a result's column count is followed by a byte saying whether
 * the column definitions follow; a statement executed again gets none
 * when they did not change. */
#define MYL_MARIADB_CLIENT_CACHE_METADATA (1ull << 36)

/* Server status flags. */
#define MYL_STATUS_IN_TRANS 0x0001
#define MYL_STATUS_AUTOCOMMIT 0x0002
#define MYL_STATUS_MORE_RESULTS_EXISTS 0x0008
#define MYL_STATUS_CURSOR_EXISTS 0x0040
#define MYL_STATUS_LAST_ROW_SENT 0x0080
#define MYL_STATUS_NO_BACKSLASH_ESCAPES 0x0200
#define MYL_STATUS_SESSION_STATE_CHANGED 0x4000

/* Commands. */
enum {
    MYL_COM_QUIT = 0x01,
    MYL_COM_INIT_DB = 0x02,
    MYL_COM_QUERY = 0x03,
    MYL_COM_STATISTICS = 0x09,
    MYL_COM_PROCESS_KILL = 0x0C,
    MYL_COM_PING = 0x0E,
    MYL_COM_STMT_PREPARE = 0x16,
    MYL_COM_STMT_EXECUTE = 0x17,
    MYL_COM_STMT_SEND_LONG_DATA = 0x18,
    MYL_COM_STMT_CLOSE = 0x19,
    MYL_COM_STMT_RESET = 0x1A,
    MYL_COM_STMT_FETCH = 0x1C,
    MYL_COM_RESET_CONNECTION = 0x1F,
    MYL_COM_STMT_BULK_EXECUTE = 0xFA,
};

/* Column types of the text and binary protocols. */
enum {
    MYL_TYPE_DECIMAL = 0, MYL_TYPE_TINY = 1, MYL_TYPE_SHORT = 2, MYL_TYPE_LONG = 3,
    MYL_TYPE_FLOAT = 4, MYL_TYPE_DOUBLE = 5, MYL_TYPE_NULL = 6, MYL_TYPE_TIMESTAMP = 7,
    MYL_TYPE_LONGLONG = 8, MYL_TYPE_INT24 = 9, MYL_TYPE_DATE = 10, MYL_TYPE_TIME = 11,
    MYL_TYPE_DATETIME = 12, MYL_TYPE_YEAR = 13, MYL_TYPE_NEWDATE = 14, MYL_TYPE_VARCHAR = 15,
    MYL_TYPE_BIT = 16, MYL_TYPE_TIMESTAMP2 = 17, MYL_TYPE_DATETIME2 = 18, MYL_TYPE_TIME2 = 19,
    MYL_TYPE_JSON = 245, MYL_TYPE_NEWDECIMAL = 246, MYL_TYPE_ENUM = 247, MYL_TYPE_SET = 248,
    MYL_TYPE_TINY_BLOB = 249, MYL_TYPE_MEDIUM_BLOB = 250, MYL_TYPE_LONG_BLOB = 251,
    MYL_TYPE_BLOB = 252, MYL_TYPE_VAR_STRING = 253, MYL_TYPE_STRING = 254,
    MYL_TYPE_GEOMETRY = 255,
};

/* Column flags. */
#define MYL_FLAG_NOT_NULL 0x0001
#define MYL_FLAG_PRI_KEY 0x0002
#define MYL_FLAG_UNSIGNED 0x0020
#define MYL_FLAG_ZEROFILL 0x0040
#define MYL_FLAG_BINARY 0x0080

/* The protocol name of a column type ("LONGLONG", ...), "UNKNOWN" otherwise. */
const char *myl_type_name(unsigned type);

/* Initial handshake packet, protocol v10.  Strings point into the packet. */
typedef struct myl_handshake {
    unsigned protocol_version;
    const char *server_version;
    size_t server_version_len;
    uint32_t thread_id;
    uint8_t scramble[64];
    size_t scramble_len;
    uint64_t capabilities; /* MariaDB's extended capabilities in the high half */
    unsigned charset;
    unsigned status;
    const char *auth_plugin; /* NULL when the server names none */
    size_t auth_plugin_len;
} myl_handshake;

int myl_parse_handshake(const uint8_t *p, size_t n, myl_handshake *hs);

/* OK packet (header 0x00, or 0xFE ending a result set with DEPRECATE_EOF). */
typedef struct myl_ok {
    uint64_t affected_rows;
    uint64_t insert_id;
    unsigned status;
    unsigned warnings;
    const char *info;
    size_t info_len;
    /* With CLIENT_SESSION_TRACK and SESSION_STATE_CHANGED: the session
     * state changes, (type, lenenc data) entries back to back; NULL when
     * none (or when they do not fit in the packet: they are advisory). */
    const uint8_t *state;
    size_t state_len;
} myl_ok;

int myl_parse_ok(const uint8_t *p, size_t n, uint64_t caps, myl_ok *ok);

/* ERR packet (header 0xFF).  sqlstate is "HY000" when the packet carries none
 * (errors sent before the handshake completes). */
typedef struct myl_err {
    unsigned code;
    char sqlstate[6];
    const char *message;
    size_t message_len;
} myl_err;

int myl_parse_err(const uint8_t *p, size_t n, myl_err *err);

/* EOF packet (header 0xFE, payload shorter than 9 bytes). */
int myl_parse_eof(const uint8_t *p, size_t n, unsigned *warnings, unsigned *status);

static inline int myl_is_eof_packet(const uint8_t *p, size_t n) { return n > 0 && n < 9 && p[0] == 0xFE; }

/* Column definition (Protocol::ColumnDefinition41).  Strings point into the
 * packet; lengths are bytes. */
typedef struct myl_coldef {
    const uint8_t *catalog, *db, *table, *org_table, *name, *org_name;
    size_t catalog_len, db_len, table_len, org_table_len, name_len, org_name_len;
    unsigned charset;
    uint32_t length;
    unsigned type;
    unsigned flags;
    unsigned decimals;
} myl_coldef;

int myl_parse_coldef(const uint8_t *p, size_t n, myl_coldef *col);

/* Checks that a text-protocol row holds exactly ncols values, each NULL
 * (0xFB) or a length-encoded string inside the payload. */
int myl_check_text_row(const uint8_t *p, size_t n, size_t ncols);

#endif
