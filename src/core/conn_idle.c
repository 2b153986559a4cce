/* Whether an idle connection is still there: a peek at its socket, without
 * blocking and without sending anything.  Between statements the server
 * has nothing to say; a readable socket means it closed the session (its
 * wait_timeout, a KILL, a shutdown) or sent its parting error before
 * closing.  Either way the next command would be lost, so the caller may
 * open a new session instead, knowing no statement was sent. */
#include <poll.h>

#include "conn_internal.h"

int myl_conn_check_idle(myl_conn *c)
{
    if (c->state == MYL_STATE_BROKEN || c->state == MYL_STATE_CLOSED) return myl_conn_usable(c);
    if (c->state != MYL_STATE_READY || !c->t) return 0; /* a response is pending: not idle */
    int fd = myl_transport_fd(c->t);
    if (fd < 0) return 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0) return 0; /* nothing to read (or poll failed: let the command say) */
    if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) return 0;
    myl_conn_broken(c, MYL_CR_SERVER_GONE_ERROR, "the server closed the connection while it was idle");
    myl_error_set(&c->err, MYL_CR_SERVER_GONE_ERROR, "Server has gone away (%s)", c->broken_cause);
    return -1;
}
