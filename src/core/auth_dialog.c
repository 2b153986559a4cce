/* The plugins that send what the user knows in clear: mysql_clear_password
 * (the password, once) and dialog (the answers to the server's questions,
 * as MariaDB's PAM plugin and the dialog examples ask them).
 *
 * Both refuse to send anything over a channel someone in between could read
 * (plain TCP, or TLS with a certificate nobody vouched for) unless the user
 * said allow_cleartext: the server gets no answer and the login fails with
 * 2061, before a question is even put to anyone. */
#include <stdio.h>
#include <string.h>

#include "auth.h"

/* What a server takes as an answer: the PAM helper of MariaDB reads at most
 * 10239 bytes with the NUL (auth_pam_tool's buffer); the dialog examples
 * compare C strings.  Longer answers are refused here rather than cut. */
#define ANSWER_MAX 8192

/* The questions of one login.  auth_pam asks one per PAM prompt (two or
 * three for a password and a token); a server asking more is looping. */
#define DIALOG_MAX_QUESTIONS 10

/* The question's type byte (MariaDB's auth_dialog_client.h): bit 0 marks
 * the last question; the rest says how the answer is typed. */
#define QUESTION_ORDINARY 1 /* (type >> 1): echo on */
#define QUESTION_PASSWORD 2 /* (type >> 1): echo off */

/* ctx->step of dialog: what this plugin has done in the login so far. */
#define DIALOG_ANSWERED 1 /* at least one answer sent */
#define DIALOG_LAST_SEEN 2 /* the server said its question was the last */

/* The refusal of both plugins over a channel that is not private. */
static int cleartext_allowed(myl_auth_ctx *ctx, const char *plugin, const char *what)
{
    if (ctx->secure || ctx->allow_cleartext) return 1;
    myl_error_set(ctx->err, MYL_CR_AUTH_PLUGIN_ERR,
                  "Authentication plugin '%s' would send %s in clear over an insecure "
                  "channel: use TLS with a verified certificate, a Unix socket, or "
                  "allow_cleartext = true",
                  plugin, what);
    return 0;
}

/* Appends `answer` and the NUL that ends it (dialog.c sends strlen + 1),
 * in one allocation so that no copy of it is left behind by a realloc. */
static myl_auth_step send_answer(myl_auth_ctx *ctx, const char *plugin, const void *answer,
                                 size_t len, myl_buf *out)
{
    if (len > ANSWER_MAX) {
        myl_error_set(ctx->err, MYL_CR_AUTH_PLUGIN_ERR,
                      "Authentication plugin '%s': the answer is %zu bytes long, the server "
                      "takes at most %d", plugin, len, ANSWER_MAX);
        return MYL_AUTH_FAILED;
    }
    /* The server reads a C string: a NUL inside would cut the answer short. */
    if (len && memchr(answer, '\0', len)) {
        myl_error_set(ctx->err, MYL_CR_AUTH_PLUGIN_ERR,
                      "Authentication plugin '%s': an answer cannot contain a NUL byte", plugin);
        return MYL_AUTH_FAILED;
    }
    if (myl_buf_reserve(out, len + 1)) {
        myl_error_set(ctx->err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return MYL_AUTH_FAILED;
    }
    if (len) myl_buf_put(out, answer, len);
    myl_buf_put_u8(out, 0);
    return MYL_AUTH_SEND;
}

/* ---- mysql_clear_password: the password and a NUL, in one round ---- */

static myl_auth_step clear_respond(myl_auth_ctx *ctx, int round, const uint8_t *data, size_t n,
                                   myl_buf *out)
{
    (void)data, (void)n; /* the scramble: nothing to do with it */
    if (round > 0) {
        myl_error_set(ctx->err, MYL_CR_MALFORMED_PACKET,
                      "Malformed packet (mysql_clear_password takes one round)");
        return MYL_AUTH_FAILED;
    }
    if (!cleartext_allowed(ctx, "mysql_clear_password", "the password")) return MYL_AUTH_FAILED;
    return send_answer(ctx, "mysql_clear_password", ctx->password, strlen(ctx->password), out);
}

const myl_auth_plugin myl_auth_clear_password = {"mysql_clear_password", clear_respond, NULL, 0};

/* ---- dialog: questions from the server, answers from the user ---- */

/* The question as an error message can show it: quoted characters and
 * control bytes escaped, at most about 100 of them. */
static void describe_question(const char *q, size_t n, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)q[i];
        if (w + 8 >= outlen || w >= 100) {
            memcpy(out + w, "...", 3);
            w += 3;
            break;
        }
        if (ch == '\n') {
            out[w++] = '\\';
            out[w++] = 'n';
        } else if (ch == '"' || ch == '\\') {
            out[w++] = '\\';
            out[w++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            out[w++] = '\\';
            out[w++] = 'x';
            out[w++] = hex[ch >> 4];
            out[w++] = hex[ch & 15];
        } else {
            out[w++] = (char)ch; /* UTF-8 bytes pass as they are */
        }
    }
    out[w] = '\0';
}

/* `why`: what the front end's fallback prompt said it could not do, or
 * NULL. */
static myl_auth_step unanswerable(myl_auth_ctx *ctx, const char *q, size_t n, const char *why)
{
    char shown[120];
    describe_question(q, n, shown, sizeof shown);
    myl_error_set(ctx->err, MYL_CR_AUTH_PLUGIN_ERR,
                  "the server asks \"%s\" (dialog plugin) and no dialog callback can answer "
                  "it: give auth = { dialog = function(prompt, echo, last) ... end }%s%.200s%s",
                  shown, why ? " (" : "", why ? why : "", why ? ")" : "");
    return MYL_AUTH_FAILED;
}

/* Asks the front end's prompt; its answer goes to the server. */
static myl_auth_step ask_prompt(myl_auth_ctx *ctx, const char *q, size_t qlen, int echo, int last,
                                myl_buf *out)
{
    const myl_auth_hooks *h = ctx->hooks;
    myl_buf answer = {0};
    myl_auth_step st;
    /* room for what a person types, so that the answer is rarely moved
     * (a move leaves a copy of it in freed memory) */
    if (myl_buf_reserve(&answer, 256)) {
        myl_error_set(ctx->err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return MYL_AUTH_FAILED;
    }
    int rc = h->prompt(h->ud, q, qlen, echo, last, &answer, ctx->err);
    if (rc == 1) {
        /* the fallback has nobody to ask (no terminal): as without one */
        char why[MYL_ERRMSG_SIZE];
        snprintf(why, sizeof why, "%s", ctx->err->message);
        st = unanswerable(ctx, q, qlen, why[0] ? why : NULL);
    } else if (rc != 0) {
        if (!ctx->err->code)
            myl_error_set(ctx->err, MYL_CR_AUTH_PLUGIN_ERR,
                          "the dialog prompt gave no answer to the server's question");
        st = MYL_AUTH_FAILED;
    } else {
        st = send_answer(ctx, "dialog", answer.data, answer.len, out);
    }
    myl_buf_wipe(&answer);
    return st;
}

/* Each round is a question: a type byte, then its text (NUL-terminated or
 * up to the packet's end).  Who answers (MariaDB's dialog.c and
 * Connector/C decide the same way for their own prompts):
 *   - a script's prompt (hooks->prompt, not a fallback) answers every
 *     question;
 *   - otherwise the configured password answers the first question when it
 *     asks for a password (echo off) and the password is not empty, then
 *     the fallback prompt (the host program's terminal) the rest;
 *   - with nobody left to ask, the login fails at once, naming the question.
 * A round without any data is auth_pam's opening (its first packet asks
 * nothing; it takes what the client says as the answer to PAM's first
 * password prompt): it gets the password, or an empty answer when the
 * script's prompt is to see every question, so that PAM asks it. */
static myl_auth_step dialog_respond(myl_auth_ctx *ctx, int round, const uint8_t *data, size_t n,
                                    myl_buf *out)
{
    (void)round; /* the server decides when the dialog ends: ctx->step says where we are */
    const myl_auth_hooks *h = ctx->hooks;
    int script_prompt = h->prompt && !h->prompt_is_fallback;
    int first = !(ctx->step & DIALOG_ANSWERED);
    if (!cleartext_allowed(ctx, "dialog", "its answers (the password)")) return MYL_AUTH_FAILED;
    if (ctx->questions >= DIALOG_MAX_QUESTIONS) {
        myl_error_set(ctx->err, MYL_CR_AUTH_PLUGIN_ERR,
                      "the server asked more than %d dialog questions in one login",
                      DIALOG_MAX_QUESTIONS);
        return MYL_AUTH_FAILED;
    }
    if (ctx->step & DIALOG_LAST_SEEN) {
        myl_error_set(ctx->err, MYL_CR_MALFORMED_PACKET,
                      "Malformed packet (a dialog question after the one the server said "
                      "was its last)");
        return MYL_AUTH_FAILED;
    }
    ctx->questions++;
    if (n == 0) {
        if (!first) {
            myl_error_set(ctx->err, MYL_CR_MALFORMED_PACKET,
                          "Malformed packet (an empty dialog question)");
            return MYL_AUTH_FAILED;
        }
        ctx->step |= DIALOG_ANSWERED;
        const char *answer = script_prompt ? "" : ctx->password;
        return send_answer(ctx, "dialog", answer, strlen(answer), out);
    }
    unsigned type = data[0];
    if ((type >> 1) != QUESTION_ORDINARY && (type >> 1) != QUESTION_PASSWORD) {
        myl_error_set(ctx->err, MYL_CR_MALFORMED_PACKET,
                      "Malformed packet (dialog question of type 0x%02x: 0x02 to 0x05 "
                      "expected)", type);
        return MYL_AUTH_FAILED;
    }
    const char *q = (const char *)data + 1;
    const char *nul = memchr(q, '\0', n - 1);
    size_t qlen = nul ? (size_t)(nul - q) : n - 1;
    int echo = (type >> 1) == QUESTION_ORDINARY;
    int last = type & 1;
    ctx->step |= DIALOG_ANSWERED | (last ? DIALOG_LAST_SEEN : 0);
    if (!script_prompt && first && !echo && ctx->password[0])
        return send_answer(ctx, "dialog", ctx->password, strlen(ctx->password), out);
    if (h->prompt) return ask_prompt(ctx, q, qlen, echo, last, out);
    return unanswerable(ctx, q, qlen, NULL);
}

const myl_auth_plugin myl_auth_dialog = {"dialog", dialog_respond, NULL, 0};
