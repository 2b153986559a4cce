#!/usr/bin/env python3
"""Scripted peers for the core's limits and messages (spec/65-limits_spec.lua).

Usage: corepeer.py SCENARIO -- as fakeserver.py (whose protocol code this
reuses): prints the port, serves one connection, exits.

Scenarios:
  ssh_banner           sends an SSH server banner instead of a greeting
  http_reply           sends an HTTP/1.1 400 reply instead of a greeting
  short_scramble       a v10 greeting whose scramble has 12 bytes (8 + 4)
  no_plugin_name       a greeting that claims CLIENT_PLUGIN_AUTH but ends
                       after the scramble
  garbage_greeting     protocol version 10 followed by junk bytes
  login_more_results   the login OK carries SERVER_MORE_RESULTS_EXISTS;
                       then as `ok`
  many_results         a query is answered by 200,000 OK packets flagged
                       SERVER_MORE_RESULTS_EXISTS (the last one not)
  some_results         the same with 60,000 OK packets
  slow_columns         a query is answered by a result of 12 columns whose
                       definitions come 0.3 s apart
  wide_count           a query's column count is 70,000
  bad_fe_row           a server without CLIENT_DEPRECATE_EOF answers with a
                       result whose row is a 20-byte packet starting with
                       0xFE (neither a row nor an end-of-rows EOF packet)
  stream_then_ok       the first query gets a result of 1,000 rows of 1 KiB
                       (a stream left unread), later queries as in `ok`
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeserver as fs  # noqa: E402


def greeting_short_scramble(scramble):
    g = fs.greeting(scramble)
    # auth data length 12 and 4 bytes of part 2 instead of 12 + NUL
    head = g[:g.index(scramble[:8]) + 8 + 1 + 2 + 1 + 2 + 2]
    return head + bytes([12]) + b"\x00" * 10 + scramble[8:12] + b"\x00" + b"mysql_native_password\x00"


def greeting_no_plugin(scramble):
    g = fs.greeting(scramble)
    return g[:g.index(b"mysql_native_password")]


def answer_many_results(conn, sql, n, total=200000):
    more = fs.ok_payload(status=fs.SERVER_STATUS_AUTOCOMMIT | fs.SERVER_MORE_RESULTS_EXISTS)
    last = fs.ok_payload()
    seq = 1
    chunk = []
    for i in range(total):
        chunk.append(fs.packet(seq, more if i < total - 1 else last))
        seq = (seq + 1) & 0xFF
        if len(chunk) == 4096:
            conn.send(b"".join(chunk))
            chunk = []
    conn.send(b"".join(chunk))


def answer_slow_columns(conn, sql, n):
    cols = [fs.column_def(b"c%d" % i) for i in range(12)]
    payloads = conn.result_payloads(cols, [[b"1"] * 12])
    seq = 1
    for p in payloads:
        conn.send(fs.packet(seq, p))
        seq += 1
        time.sleep(0.3)


def answer_wide_count(conn, sql, n):
    conn.send(fs.packet(1, fs.lenenc_int(70000)))
    conn.hold()


def answer_bad_fe_row(conn, sql, n):
    payloads = conn.result_payloads([fs.column_def(b"a")], [[b"1"]])
    payloads[-2] = b"\xfe" + b"\x01" * 19
    conn.send_packets(1, payloads)
    conn.hold()


def answer_stream_then_ok(conn, sql, n):
    if n > 1:
        return fs.answer_select_one(conn, sql, n)
    payloads = conn.result_payloads(
        [fs.column_def(b"x", fs.TYPE_VAR_STRING, fs.UTF8MB4_GENERAL_CI, 1024, 0)],
        [[b"y" * 1024] for _ in range(1000)])
    # one join: send_packets concatenates, which is quadratic for 1 MB
    conn.send(b"".join(fs.packet(1 + i, p) for i, p in enumerate(payloads)))


def login_more_results(conn):
    scramble = fs.new_scramble()
    conn.send(fs.packet(0, fs.greeting(scramble)))
    seq, payload = conn.read_packet()
    caps, user, auth, plugin = fs.parse_handshake_response(payload)
    conn.client_caps = caps
    if user != fs.USER or auth != fs.native_token(fs.PASSWORD, scramble):
        fs.deny(conn, seq + 1, user)
    fs.report("auth=ok")
    conn.send(fs.packet(seq + 1, fs.ok_payload(
        status=fs.SERVER_STATUS_AUTOCOMMIT | fs.SERVER_MORE_RESULTS_EXISTS)))


def run(scenario, conn):
    if scenario == "ssh_banner":
        conn.send(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
        conn.hold()
        return
    if scenario == "http_reply":
        conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        return
    if scenario == "short_scramble":
        conn.send(fs.packet(0, greeting_short_scramble(fs.new_scramble())))
        conn.hold()
        return
    if scenario == "no_plugin_name":
        conn.send(fs.packet(0, greeting_no_plugin(fs.new_scramble())))
        conn.hold()
        return
    if scenario == "garbage_greeting":
        conn.send(fs.packet(0, b"\x0a" + os.urandom(3) + b"\xff" * 3))
        conn.hold()
        return
    if scenario == "login_more_results":
        login_more_results(conn)
        fs.serve(conn, fs.answer_select_one)
        return
    answers = {
        "many_results": answer_many_results,
        "some_results": lambda conn, sql, n: answer_many_results(conn, sql, n, 60000),
        "slow_columns": answer_slow_columns,
        "wide_count": answer_wide_count,
        "bad_fe_row": answer_bad_fe_row,
        "stream_then_ok": answer_stream_then_ok,
    }
    if scenario not in answers:
        raise SystemExit("unknown scenario: " + scenario)
    if scenario == "bad_fe_row":
        fs.SERVER_CAPS &= ~fs.CLIENT_DEPRECATE_EOF
    fs.handshake(conn)
    fs.serve(conn, answers[scenario])


if __name__ == "__main__":
    fs.run = run
    sys.exit(fs.main())
