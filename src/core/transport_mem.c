/* The in-memory transport (transport_mem.h). */
#include "transport_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static myl_io_status mem_failed(myl_mem_transport *m, myl_io_status st, const char *why)
{
    snprintf(m->err, sizeof m->err, "%s", why);
    return st;
}

static myl_io_status mem_read(myl_transport *t, void *buf, size_t n, size_t *got, double deadline)
{
    myl_mem_transport *m = (myl_mem_transport *)t;
    m->reads++;
    m->last_deadline = deadline;
    size_t left = m->in.len - m->in_pos;
    if (left == 0) {
        if (m->end == MYL_MEM_END_CLOSED)
            return mem_failed(m, MYL_IO_CLOSED, "connection closed by the peer");
        if (deadline <= 0)
            return mem_failed(m, MYL_IO_ERROR, "no input and no deadline: would wait for ever");
        double wait = deadline - myl_now();
        if (wait > 0) {
            struct timespec ts;
            ts.tv_sec = (time_t)wait;
            ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
            while (nanosleep(&ts, &ts) != 0) {}
        }
        return mem_failed(m, MYL_IO_TIMEOUT, "timed out");
    }
    if (n > left) n = left;
    if (m->chunk && n > m->chunk) n = m->chunk;
    memcpy(buf, m->in.data + m->in_pos, n);
    m->in_pos += n;
    *got = n;
    return MYL_IO_DONE;
}

static myl_io_status mem_write(myl_transport *t, const void *buf, size_t n, double deadline)
{
    myl_mem_transport *m = (myl_mem_transport *)t;
    m->writes++;
    m->last_deadline = deadline;
    if (m->write_limited && n > m->write_limit - m->out.len) {
        size_t room = m->write_limit - m->out.len;
        if (room && myl_buf_append(&m->out, buf, room))
            return mem_failed(m, MYL_IO_ERROR, "out of memory");
        return mem_failed(m, MYL_IO_CLOSED, "Broken pipe (the peer closed)");
    }
    if (myl_buf_append(&m->out, buf, n)) return mem_failed(m, MYL_IO_ERROR, "out of memory");
    return MYL_IO_DONE;
}

static myl_io_status mem_flush(myl_transport *t, double deadline)
{
    myl_mem_transport *m = (myl_mem_transport *)t;
    m->flushes++;
    m->last_deadline = deadline;
    return MYL_IO_DONE;
}

static void mem_on_command(myl_transport *t) { ((myl_mem_transport *)t)->commands++; }

static const char *mem_errmsg(const myl_transport *t)
{
    const myl_mem_transport *m = (const myl_mem_transport *)t;
    return m->err[0] ? m->err : "no error";
}

static void mem_close(myl_transport *t)
{
    myl_mem_transport *m = (myl_mem_transport *)t;
    myl_buf_free(&m->in);
    myl_buf_free(&m->out);
    free(m);
}

myl_mem_transport *myl_mem_open(size_t chunk, myl_mem_end end)
{
    myl_mem_transport *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->base.read = mem_read;
    m->base.write = mem_write;
    m->base.flush = mem_flush;
    m->base.on_command = mem_on_command;
    m->base.errmsg = mem_errmsg;
    m->base.close = mem_close;
    m->base.secure = 1; /* nothing leaves the process */
    m->base.below = NULL;
    m->chunk = chunk;
    m->end = end;
    return m;
}

int myl_mem_feed(myl_mem_transport *m, const void *p, size_t n)
{
    return myl_buf_append(&m->in, p, n);
}
