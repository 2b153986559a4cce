/* An in-memory transport for tests: reads come from scripted input bytes
 * (optionally a few at a time), writes are captured.  No socket, no
 * server: the framer and any layer above can be tested from byte
 * literals. */
#ifndef MYL_TRANSPORT_MEM_H
#define MYL_TRANSPORT_MEM_H

#include <stddef.h>

#include "buf.h"
#include "transport.h"

typedef enum {
    MYL_MEM_END_CLOSED = 0, /* once the input is used up, reads say the peer closed */
    MYL_MEM_END_WAIT,       /* ... reads wait until the deadline, then time out (a
                               silent peer); with no deadline they fail at once
                               rather than wait for ever */
} myl_mem_end;

typedef struct myl_mem_transport {
    myl_transport base;
    myl_buf in;          /* the scripted input */
    size_t in_pos;       /* bytes of it already read */
    size_t chunk;        /* most bytes one read returns; 0: as many as asked */
    myl_mem_end end;
    myl_buf out;         /* everything written */
    size_t write_limit;  /* with write_limited: writes past this many bytes fail
                            as if the peer had closed */
    int write_limited;
    size_t reads, writes, flushes, commands; /* calls seen */
    double last_deadline; /* the deadline of the last read or write */
    char err[120];
} myl_mem_transport;

/* A new transport with no input yet; NULL when out of memory.  Free it with
 * its close function (m->base.close(&m->base)). */
myl_mem_transport *myl_mem_open(size_t chunk, myl_mem_end end);
/* Appends to the input; 0, or -1 when out of memory. */
int myl_mem_feed(myl_mem_transport *m, const void *p, size_t n);

#endif
