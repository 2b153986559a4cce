/* The client options' table (see clientopt.h). */
#include "clientopt.h"

#include <string.h>

#include "options.h"

#define CONN "Connection (as the mariadb client takes them)"
#define TLS "TLS (a CA or fingerprint given without a mode means VERIFY_CA)"
#define COMP "Compression"
#define AUTH "Authentication"
#define INFILE "LOAD DATA LOCAL INFILE (refused unless one of these is given)"

#define CORE(name, letter, core, arg, group, value, help) \
    {name, letter, MYL_CLI_CORE, core, arg, group, value, help}

const myl_clientopt myl_clientopt_table[] = {
    CORE("host", 'h', "host", MYL_CLI_ARG_REQUIRED, CONN, "NAME",
         "server host name or address (default localhost: the Unix socket)"),
    CORE("port", 'P', "port", MYL_CLI_ARG_REQUIRED, CONN, "N", "TCP port (default 3306)"),
    CORE("socket", 'S', "socket", MYL_CLI_ARG_REQUIRED, CONN, "PATH",
         "Unix socket, used when the host is localhost"),
    CORE("protocol", 0, "protocol", MYL_CLI_ARG_REQUIRED, CONN, "NAME", "TCP or SOCKET"),
    CORE("user", 'u', "user", MYL_CLI_ARG_REQUIRED, CONN, "NAME",
         "user name (default: the login name)"),
    {"password", 'p', MYL_CLI_PASSWORD, "password", MYL_CLI_ARG_OPTIONAL, CONN, "[=PASS]",
     "the password; -p or --password alone asks for it on the terminal\n"
     "(-pPASS takes it with no space, as the mariadb client)"},
    CORE("database", 'D', "database", MYL_CLI_ARG_REQUIRED, CONN, "NAME", "initial database"),
    CORE("bind-address", 0, "bind_address", MYL_CLI_ARG_REQUIRED, CONN, "ADDR",
         "local address to connect from"),
    CORE("connect-timeout", 0, "connect_timeout", MYL_CLI_ARG_REQUIRED, CONN, "SECONDS",
         "how long connecting may take (default 10, 0: no limit)"),
    CORE("default-character-set", 0, "charset", MYL_CLI_ARG_REQUIRED, CONN, "NAME",
         "connection character set (default utf8mb4)"),
    CORE("init-command", 0, "init_command", MYL_CLI_ARG_REQUIRED, CONN, "SQL",
         "statement run after connecting"),
    CORE("max-allowed-packet", 0, "max_packet", MYL_CLI_ARG_REQUIRED, CONN, "BYTES",
         "largest packet, 1K to 1G (K, M, G suffixes; default 16M)"),

    {"ssl", 0, MYL_CLI_SSL, NULL, MYL_CLI_ARG_NONE, TLS, NULL,
     "use TLS: mode REQUIRED, unless --ssl-mode asks for more;\n"
     "--skip-ssl, --disable-ssl, --ssl=0: do not use TLS"},
    CORE("ssl-mode", 0, "ssl_mode", MYL_CLI_ARG_REQUIRED, TLS, "MODE",
         "DISABLED, PREFERRED (the default), REQUIRED, VERIFY_CA or\n"
         "VERIFY_IDENTITY, in any case"),
    {"ssl-verify-server-cert", 0, MYL_CLI_VERIFY, NULL, MYL_CLI_ARG_NONE, TLS, NULL,
     "check the server's certificate and name (VERIFY_IDENTITY)"},
    CORE("ssl-ca", 0, "ssl_ca", MYL_CLI_ARG_REQUIRED, TLS, "FILE", "trusted CA certificates (PEM)"),
    CORE("ssl-capath", 0, "ssl_capath", MYL_CLI_ARG_REQUIRED, TLS, "DIR",
         "a directory of trusted CA certificates"),
    CORE("ssl-cert", 0, "ssl_cert", MYL_CLI_ARG_REQUIRED, TLS, "FILE", "client certificate (PEM)"),
    CORE("ssl-key", 0, "ssl_key", MYL_CLI_ARG_REQUIRED, TLS, "FILE", "its private key (PEM)"),
    CORE("ssl-cipher", 0, "ssl_cipher", MYL_CLI_ARG_REQUIRED, TLS, "LIST",
         "ciphers for TLS 1.2 and older (OpenSSL's names)"),
    CORE("tls-ciphersuites", 0, "ssl_ciphersuites", MYL_CLI_ARG_REQUIRED, TLS, "LIST",
         "cipher suites for TLS 1.3"),
    CORE("tls-version", 0, "tls_version", MYL_CLI_ARG_REQUIRED, TLS, "LIST",
         "versions allowed, e.g. TLSv1.2,TLSv1.3"),
    CORE("ssl-crl", 0, "ssl_crl", MYL_CLI_ARG_REQUIRED, TLS, "FILE", "certificate revocation list"),
    CORE("ssl-crlpath", 0, "ssl_crlpath", MYL_CLI_ARG_REQUIRED, TLS, "DIR",
         "a directory of revocation lists"),
    CORE("ssl-fp", 0, "ssl_fingerprint", MYL_CLI_ARG_REQUIRED, TLS, "HEX",
         "the server certificate's SHA-256 (or SHA-1) fingerprint"),
    CORE("ssl-fplist", 0, "ssl_fingerprint_list", MYL_CLI_ARG_REQUIRED, TLS, "FILE",
         "a file of accepted fingerprints, one per line"),

    CORE("compress", 'C', "compress", MYL_CLI_ARG_NONE, COMP, NULL,
         "compress the protocol when the server can"),
    CORE("compression-algorithms", 0, "compression_algorithms", MYL_CLI_ARG_REQUIRED, COMP,
         "LIST", "zlib, zstd, uncompressed (comma-separated)"),
    CORE("zstd-compression-level", 0, "zstd_compression_level", MYL_CLI_ARG_REQUIRED, COMP, "N",
         "1 to 22"),

    CORE("enable-cleartext-plugin", 0, "allow_cleartext", MYL_CLI_ARG_NONE, AUTH, NULL,
         "allow sending the password in clear text on a channel that is\n"
         "not secure (mysql_clear_password, dialog)"),
    CORE("server-public-key-path", 0, "server_public_key", MYL_CLI_ARG_REQUIRED, AUTH, "FILE",
         "the server's RSA public key (PEM), for sha256_password and\n"
         "caching_sha2_password without TLS"),
    CORE("get-server-public-key", 0, "get_server_public_key", MYL_CLI_ARG_NONE, AUTH, NULL,
         "may ask the server for that key instead"),
    {"auth-hook", 0, MYL_CLI_HOST, NULL, MYL_CLI_ARG_REQUIRED, AUTH, "FILE",
     "a Lua file returning a table of auth callbacks (as the `auth`\n"
     "option of mylua.connect) for every connection"},
    {"prompt-timeout", 0, MYL_CLI_HOST, NULL, MYL_CLI_ARG_REQUIRED, AUTH, "SECONDS",
     "how long a question asked on the terminal waits for its answer,\n"
     "1 to 86400 (default 300); a question of the dialog plugin that\n"
     "neither the password nor an auth callback answers is asked on\n"
     "the terminal (/dev/tty), and fails at once without one"},

    CORE("local-infile", 0, "local_infile", MYL_CLI_ARG_NONE, INFILE, NULL,
         "send the file a LOAD DATA LOCAL INFILE statement names"),
    CORE("load-data-local-dir", 0, "local_infile_dir", MYL_CLI_ARG_REQUIRED, INFILE, "DIR",
         "send only files under DIR (enough alone; with --local-infile\n"
         "too, files outside DIR stay refused)"),
    {NULL, 0, MYL_CLI_CORE, NULL, MYL_CLI_ARG_NONE, NULL, NULL, NULL},
};

const myl_clientopt *myl_clientopt_find(const char *name, size_t len)
{
    for (const myl_clientopt *c = myl_clientopt_table; c->name; c++) {
        if (strlen(c->name) != len) continue;
        size_t i = 0;
        while (i < len && (name[i] == '_' ? '-' : name[i]) == c->name[i]) i++;
        if (i == len) return c;
    }
    return NULL;
}

const myl_clientopt *myl_clientopt_short(char letter)
{
    for (const myl_clientopt *c = myl_clientopt_table; c->name && letter; c++)
        if (c->letter == letter) return c;
    return NULL;
}

const char *myl_clientopt_suggest(const char *name, size_t len)
{
    char dashed[32];
    if (len >= sizeof dashed) return NULL;
    for (size_t i = 0; i < len; i++) dashed[i] = name[i] == '_' ? '-' : name[i];
    const char *best = NULL;
    size_t best_d = 3; /* farther than 2 edits is not a typo */
    for (const myl_clientopt *c = myl_clientopt_table; c->name; c++) {
        size_t d = myl_option_distance(dashed, len, c->name, strlen(c->name), 2);
        if (d < best_d) {
            best_d = d;
            best = c->name;
        }
    }
    return best;
}

/* "  -u, --user=NAME" and the help from column COLUMN, its words wrapped
 * to 80 columns (a head too long for the column gets a line of its own). */
static void help_one(FILE *out, const myl_clientopt *c)
{
    enum { COLUMN = 28, WIDTH = 80 };
    char letter[8] = "";
    if (c->letter) snprintf(letter, sizeof letter, "-%c, ", c->letter);
    char head[96];
    int n = snprintf(head, sizeof head, "  %s--%s%s%s%s", letter, c->name,
                     c->value && c->value[0] != '[' ? "=" : "", c->value ? c->value : "",
                     c->arg == MYL_CLI_ARG_NONE && c->kind == MYL_CLI_CORE ? "[=0|1]" : "");
    fputs(head, out);
    int col = n;
    if (col >= COLUMN - 1) {
        fputc('\n', out);
        col = 0;
    }
    int line_start = 1;
    for (const char *w = c->help; *w;) {
        while (*w == ' ' || *w == '\n') w++;
        size_t len = strcspn(w, " \n");
        if (!len) break;
        if (!line_start && col + 1 + (int)len > WIDTH) {
            fputc('\n', out);
            col = 0;
            line_start = 1;
        }
        if (line_start) {
            fprintf(out, "%*s", COLUMN - col, "");
            col = COLUMN;
        } else {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", (int)len, w);
        col += (int)len;
        line_start = 0;
        w += len;
    }
    fputc('\n', out);
}

void myl_clientopt_help(FILE *out)
{
    const char *group = NULL;
    for (const myl_clientopt *c = myl_clientopt_table; c->name; c++) {
        if (!group || strcmp(group, c->group) != 0) {
            group = c->group;
            fprintf(out, "\n%s:\n", group);
        }
        help_one(out, c);
    }
}
