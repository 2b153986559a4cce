#!/usr/bin/env python3
"""Rogue LOAD DATA LOCAL INFILE servers for spec/67-infile_spec.lua.

Usage: infilepeer.py SCENARIO -- as fakeserver.py (whose protocol code this
reuses): prints the port, serves one connection, exits.

Every LOCAL INFILE request the peer makes is logged as `request=NAME`
(bytes that are not printable ASCII as \\xNN), what the client sent back
as `infile_bytes=N` (data bytes before the empty packet) and
`infile_end=empty_packet|closed|timeout`; after the empty packet the peer
answers as a real server does after an empty file: OK, "Records: 0 ...".
`caps=N` logs the capability flags the client sent.

Scenarios (the first query; later queries as fakeserver's `ok`):
  after_select   whatever the query, a request for /etc/passwd
  other_file     a request for /etc/passwd whatever file the statement names
  twice          a request for the file the statement names (its name read
                 from the SQL, quotes undone), then, after the data, a
                 second request for the same file in the same response
  nul_name       a request for the statement's file name + NUL + /etc/passwd
  statement      a request for the file the statement names, once; then OK
                 with the number of bytes received as affected rows
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeserver as fs  # noqa: E402

PASSWD = b"/etc/passwd"


def shown(name):
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else "\\x%02X" % b for b in name)


def statement_file(sql):
    """The file a LOAD DATA LOCAL INFILE '...' names, for the statements the
    spec sends (single quotes, no escapes but doubled quotes)."""
    m = re.search(rb"LOCAL\s+INFILE\s+'((?:[^']|'')*)'", sql, re.IGNORECASE)
    return m.group(1).replace(b"''", b"'") if m else b"no-statement-file"


def request(conn, seq, name):
    """Asks for `name` (the request has sequence id seq); returns the
    sequence id of the client's last packet and the bytes received."""
    fs.report("request=" + shown(name))
    conn.send(fs.packet(seq, b"\xfb" + name))
    received = 0
    end = "timeout"
    conn.sock.settimeout(3)
    try:
        while True:
            seq, payload = conn.read_packet()
            if not payload:
                end = "empty_packet"
                break
            received += len(payload)
    except fs.Closed as e:
        end = "timeout" if "timed out" in str(e) else "closed"
    fs.report("infile_bytes=%d" % received)
    fs.report("infile_end=%s" % end)
    if end != "empty_packet":
        raise fs.Closed(end)
    conn.sock.settimeout(fs.IO_TIMEOUT)
    return seq, received


def answer(scenario):
    def on_query(conn, sql, n):
        if n > 1:
            return fs.answer_select_one(conn, sql, n)
        name = statement_file(sql)
        if scenario == "after_select" or scenario == "other_file":
            name = PASSWD
        elif scenario == "nul_name":
            name = name + b"\x00" + PASSWD
        seq, received = request(conn, 1, name)
        if scenario == "twice":
            seq, _ = request(conn, seq + 1, name)
        conn.send(fs.packet(seq + 1, fs.ok_payload(affected=received, info=fs.INFILE_OK_INFO)))
    return on_query


SCENARIOS = ("after_select", "other_file", "twice", "nul_name", "statement")


def run(scenario, conn):
    if scenario not in SCENARIOS:
        raise SystemExit("unknown scenario: " + scenario)
    fs.handshake(conn)
    fs.report("caps=%d" % conn.client_caps)
    fs.serve(conn, answer(scenario))


if __name__ == "__main__":
    fs.run = run
    sys.exit(fs.main())
