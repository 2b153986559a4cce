/* The fault-injecting transport layer (fault.h). */
#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct fault_layer {
    myl_transport base;
    fault_config cfg;
    long nread;    /* bytes passed up so far */
    int dropped;
    char err[160];
} fault_layer;

fault_config fault_none(void)
{
    fault_config c;
    c.delay_ms = 0;
    c.short_reads = 0;
    c.drop_after = -1;
    c.corrupt_at = -1;
    return c;
}

static void sleep_s(double s)
{
    if (s <= 0) return;
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0) {}
}

static myl_io_status layer_failed(fault_layer *f, myl_io_status st, const char *why)
{
    snprintf(f->err, sizeof f->err, "%s", why);
    return st;
}

/* The drop: the layer below is closed for real, so the peer sees it too. */
static void drop(fault_layer *f)
{
    if (f->base.below) {
        f->base.below->close(f->base.below);
        f->base.below = NULL;
    }
    f->dropped = 1;
}

static myl_io_status fault_read(myl_transport *t, void *buf, size_t n, size_t *got,
                                double deadline)
{
    fault_layer *f = (fault_layer *)t;
    if (f->dropped || !t->below)
        return layer_failed(f, MYL_IO_CLOSED, "connection dropped by the fault layer");
    if (f->cfg.delay_ms > 0) {
        /* a slow network: the bytes come late, and never past the deadline */
        double until = myl_now() + f->cfg.delay_ms / 1000.0;
        if (deadline > 0 && deadline < until) {
            sleep_s(deadline - myl_now());
            return layer_failed(f, MYL_IO_TIMEOUT, "timed out (read delayed by the fault layer)");
        }
        sleep_s(until - myl_now());
    }
    if (f->cfg.short_reads && n > 1) n = 1;
    if (f->cfg.drop_after >= 0 && (long)n > f->cfg.drop_after - f->nread)
        n = (size_t)(f->cfg.drop_after - f->nread);
    if (n == 0) {
        drop(f);
        return layer_failed(f, MYL_IO_CLOSED, "connection dropped by the fault layer");
    }
    f->err[0] = '\0';
    myl_io_status st = t->below->read(t->below, buf, n, got, deadline);
    if (st != MYL_IO_DONE) return st;
    long start = f->nread;
    f->nread += (long)*got;
    if (f->cfg.corrupt_at >= start && f->cfg.corrupt_at < f->nread)
        ((unsigned char *)buf)[f->cfg.corrupt_at - start] ^= 0xFF;
    return MYL_IO_DONE;
}

static myl_io_status fault_write(myl_transport *t, const void *buf, size_t n, double deadline)
{
    fault_layer *f = (fault_layer *)t;
    if (f->dropped || !t->below)
        return layer_failed(f, MYL_IO_CLOSED, "connection dropped by the fault layer");
    f->err[0] = '\0';
    return t->below->write(t->below, buf, n, deadline);
}

static myl_io_status fault_flush(myl_transport *t, double deadline)
{
    fault_layer *f = (fault_layer *)t;
    if (f->dropped) return layer_failed(f, MYL_IO_CLOSED, "connection dropped by the fault layer");
    return myl_transport_pass_flush(t, deadline);
}

static const char *fault_errmsg(const myl_transport *t)
{
    const fault_layer *f = (const fault_layer *)t;
    if (f->err[0] || !t->below) return f->err[0] ? f->err : "no error";
    return t->below->errmsg(t->below);
}

static void fault_close(myl_transport *t)
{
    if (t->below) t->below->close(t->below);
    free(t);
}

myl_transport *fault_wrap(myl_transport *below, const fault_config *cfg)
{
    fault_layer *f = calloc(1, sizeof *f);
    if (!f) {
        below->close(below);
        return NULL;
    }
    f->cfg = *cfg;
    f->base.read = fault_read;
    f->base.write = fault_write;
    f->base.flush = fault_flush;
    f->base.on_command = myl_transport_pass_on_command;
    f->base.errmsg = fault_errmsg;
    f->base.close = fault_close;
    f->base.secure = below->secure; /* faults change nothing about who can listen */
    f->base.below = below;
    return &f->base;
}

myl_transport *fault_open(void *ud, const myl_connect_spec *spec, char *info, size_t infolen,
                          myl_error *err)
{
    myl_transport *below = myl_socket_open(spec, info, infolen, err);
    if (!below) return NULL;
    myl_transport *t = fault_wrap(below, (const fault_config *)ud);
    if (!t) myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
    return t;
}
