#!/usr/bin/env python3
"""The MySQL 8 peer of the connect-sha2 benchmark: spec/support/mysql8peer.py
(see its header for the ctl file, the accounts and the log), with two
changes that matter to a benchmark and not to the specs:

- TCP_NODELAY on every accepted connection. The peer sends the fast path's
  AuthMoreData 0x03 and the OK in two writes; with Nagle's algorithm the OK
  waits for the client's delayed ACK of the first (40 ms on Linux), and
  the clients would spend the run asleep instead of logging in.
- Queries with query attributes. A client that accepts
  CLIENT_QUERY_ATTRIBUTES (mysql2 does) puts a parameter count and a
  parameter set count before the text of each COM_QUERY; with no
  parameters these are the bytes 00 01, which the peer would take as part
  of the SQL.

Usage: sha2_peer.py DIR CERTDIR   (as mysql8peer.py)
"""

import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "spec", "support"))
import mysql8peer  # noqa: E402

NO_QUERY_ATTRIBUTES = "\x00\x01"

serve_connection = mysql8peer.serve_connection


def serve_connection_nodelay(state, sock, transport):
    if transport == "tcp":
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    serve_connection(state, sock, transport)


query = mysql8peer.Session.query


def query_without_attributes(self, sql):
    caps = getattr(self.conn, "client_caps", 0)
    if caps & mysql8peer.CLIENT_QUERY_ATTRIBUTES and sql.startswith(NO_QUERY_ATTRIBUTES):
        sql = sql[len(NO_QUERY_ATTRIBUTES):]
    query(self, sql)


mysql8peer.serve_connection = serve_connection_nodelay
mysql8peer.Session.query = query_without_attributes

if __name__ == "__main__":
    sys.exit(mysql8peer.main())
