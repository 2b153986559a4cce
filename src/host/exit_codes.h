/* The host program's exit statuses, one place for main, the lock, the run
 * timeout and the signal handling, and for the man page to document. */
#ifndef MYL_HOST_EXIT_CODES_H
#define MYL_HOST_EXIT_CODES_H

enum {
    HOST_EXIT_OK = 0,      /* the script ran to its end (or os.exit(0)) */
    HOST_EXIT_ERROR = 1,   /* an uncaught error: one line on stderr */
    HOST_EXIT_USAGE = 2,   /* a bad option, option file or argument */
    HOST_EXIT_LOCKED = 3,  /* --lock NAME is held by another run */
    HOST_EXIT_TIMEOUT = 4, /* --timeout SECONDS passed */
    /* a run ended by SIGINT or SIGTERM exits with 128 + the signal's
     * number (130, 143), as a shell reports it */
    HOST_EXIT_SIGNAL_BASE = 128,
};

#endif
