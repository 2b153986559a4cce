#!/usr/bin/env python3
"""Scripted peers for the plugins that send answers in clear
(spec/63-auth_dialog_spec.lua).

Usage: dialogpeer.py SCENARIO -- as fakeserver.py (whose protocol code this
reuses): prints the port, serves one connection, exits.

The peer accepts any user and any handshake response; what it checks is
what the client sends to a plugin that would carry the password in clear.
After asking, it prints `answer=HEX` (the payload the client sent, in
upper-case hex) or `answer=none` (the client closed, or sent nothing within
ANSWER_WAIT seconds), then `received=N`: every byte the client sent after
the question, packet headers included, before it closed.  A client that
answered gets an OK, then queries are served as by fakeserver's `ok`.

Scenarios:
  clear_greeting        the greeting names mysql_clear_password; the answer
                        is the handshake response's auth data
  clear_switch          the login is switched to mysql_clear_password
  dialog_switch         switched to dialog, asking "Password, please:"
                        (type 0x04: a password, not the last question)
  dialog_pam_switch     switched to dialog with no data at all, as auth_pam
                        opens
  dialog_bad_type       switched to dialog with a question of type 0x08
  dialog_long_question  switched to dialog with an ordinary question of
                        3000 bytes holding control characters
  dialog_endless        switched to dialog; asks ordinary questions "Q1",
                        "Q2", ... for as long as the client answers; prints
                        `questions=N` (how many were answered)
  dialog_after_last     switched to dialog; asks "Last?" marked as the last
                        question (0x03), then "More?" (0x02)
  dialog_three          switched to dialog; asks "Name:" (0x02), "Secret:"
                        (0x04), "Sure?" (0x03) and prints each answer as
                        `answer=HEX`
  old_auth              answers the handshake response with a bare 0xFE
                        (the pre-4.1 "use the old password" request)
  old_password_switch   switched to mysql_old_password by name
"""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeserver as fs  # noqa: E402

ANSWER_WAIT = 3  # seconds the peer waits for an answer


def read_answer(conn):
    """The client's next packet as (seq, payload), or None when it closed or
    said nothing in time."""
    conn.sock.settimeout(ANSWER_WAIT)
    try:
        return conn.read_packet()
    except fs.Closed:
        return None
    finally:
        conn.sock.settimeout(fs.IO_TIMEOUT)


def drain(conn):
    """Bytes the client still sends until it closes (or goes quiet)."""
    conn.sock.settimeout(ANSWER_WAIT)
    data = b""
    try:
        while True:
            chunk = conn.sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data


def report_answer(answer):
    fs.report("answer=" + ("none" if answer is None else answer[1].hex().upper()))


def refused(conn, answer):
    """The client sent nothing: report what (if anything) still came."""
    report_answer(answer)
    fs.report("received=%d" % len(drain(conn)))


def greeting(plugin):
    g = fs.greeting(fs.new_scramble())
    return g[:g.rindex(b"mysql_native_password")] + plugin + b"\x00"


def accept_response(conn):
    """Greeting, then the handshake response (any user, any auth data).
    Returns (next seq, auth data of the response)."""
    conn.send(fs.packet(0, greeting(b"mysql_native_password")))
    seq, payload = conn.read_packet()
    caps, _user, auth, _plugin = fs.parse_handshake_response(payload)
    conn.client_caps = caps
    return seq + 1, auth


def switch(conn, seq, plugin, data):
    conn.send(fs.packet(seq, b"\xfe" + plugin + b"\x00" + data))
    return read_answer(conn)


def logged_in(conn, seq):
    fs.report("auth=ok")
    conn.send(fs.packet(seq, fs.ok_payload()))
    fs.serve(conn, fs.answer_select_one)


def ask_until_refused(conn, answer, questions):
    """After each answer, the next question, bare as MariaDB sends it; stops
    at the first question the client does not answer.  Returns the number
    answered."""
    answered = 0
    for q in questions:
        if answer is None:
            break
        answered += 1
        report_answer(answer)
        conn.send(fs.packet(answer[0] + 1, q))
        answer = read_answer(conn)
    return answered, answer


def run(scenario, conn):
    if scenario == "clear_greeting":
        conn.send(fs.packet(0, greeting(b"mysql_clear_password")))
        answer = read_answer(conn)
        if answer is None:
            return refused(conn, None)
        caps, _user, auth, _plugin = fs.parse_handshake_response(answer[1])
        conn.client_caps = caps
        fs.report("answer=" + auth.hex().upper())
        return logged_in(conn, answer[0] + 1)

    if scenario == "old_auth":
        seq, _ = accept_response(conn)
        conn.send(fs.packet(seq, b"\xfe"))
        return refused(conn, read_answer(conn))

    seq, _ = accept_response(conn)
    if scenario == "old_password_switch":
        return refused(conn, switch(conn, seq, b"mysql_old_password", b"12345678\x00"))
    if scenario == "clear_switch":
        answer = switch(conn, seq, b"mysql_clear_password", fs.new_scramble() + b"\x00")
    elif scenario == "dialog_switch":
        answer = switch(conn, seq, b"dialog", b"\x04Password, please:")
    elif scenario == "dialog_pam_switch":
        answer = switch(conn, seq, b"dialog", b"")
    elif scenario == "dialog_bad_type":
        answer = switch(conn, seq, b"dialog", b"\x08Weird:")
    elif scenario == "dialog_long_question":
        text = b"Why\n\x1b[31m\"red\"\x07 " + b"A" * 3000
        answer = switch(conn, seq, b"dialog", b"\x02" + text)
    elif scenario == "dialog_endless":
        answer = switch(conn, seq, b"dialog", b"\x02Q1")
        n, answer = ask_until_refused(conn, answer, (b"\x02Q%d" % i for i in range(2, 1000)))
        fs.report("questions=%d" % n)
        return refused(conn, answer)
    elif scenario == "dialog_after_last":
        answer = switch(conn, seq, b"dialog", b"\x03Last?")
        _, answer = ask_until_refused(conn, answer, [b"\x02More?"])
        return refused(conn, answer)
    elif scenario == "dialog_three":
        answer = switch(conn, seq, b"dialog", b"\x02Name:")
        n, answer = ask_until_refused(conn, answer, [b"\x04Secret:", b"\x03Sure?"])
        if n < 2 or answer is None:
            return refused(conn, answer)
    else:
        raise SystemExit("unknown scenario: " + scenario)
    if answer is None:
        return refused(conn, None)
    report_answer(answer)
    return logged_in(conn, answer[0] + 1)


if __name__ == "__main__":
    fs.run = run
    sys.exit(fs.main())
