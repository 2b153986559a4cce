/* A fault-injecting transport layer for tests, stacked over any transport
 * (the plain socket to a real server, or the in-memory one): it delays
 * reads, makes them short, drops the connection after some bytes, or
 * corrupts one incoming byte: the faults a real server cannot produce on
 * demand. */
#ifndef MYL_FAULT_H
#define MYL_FAULT_H

#include "../../src/core/transport.h"

typedef struct fault_config {
    int delay_ms;     /* each read waits this long first (a slow network); 0: none */
    int short_reads;  /* 1: each read returns at most 1 byte */
    long drop_after;  /* after this many bytes read, the connection is dropped
                         (closed below; reads and writes then fail as closed); -1: never */
    long corrupt_at;  /* the incoming byte at this offset (0: the first) is
                         xor-ed with 0xFF; -1: none */
} fault_config;

/* The configuration that injects nothing. */
fault_config fault_none(void);

/* Stacks a fault layer over `below`, which it then owns (closing the layer
 * closes it).  The configuration is copied.  NULL when out of memory (below
 * is then closed too). */
myl_transport *fault_wrap(myl_transport *below, const fault_config *cfg);

/* An opener for myl_options.open_transport: the plain socket with a fault
 * layer over it; `ud` is a fault_config *, copied into each transport. */
myl_transport *fault_open(void *ud, const myl_connect_spec *spec, char *info, size_t infolen,
                          myl_error *err);

#endif
