#!/usr/bin/env python3
"""A scripted peer for prepared statements, correct or hostile, for the
specs. It speaks the protocol as fakeserver.py does (whose handshake and
packet helpers it uses): a MySQL-style server (CLIENT_MYSQL set, so no
MariaDB bulk command), user "u", password "p".

Usage: stmtpeer.py SCENARIO

Prints the port on the first line, serves ONE connection, prints events as
`key=value` lines, and exits.

Scenarios (every COM_STMT_PREPARE is answered for a statement of one
LONGLONG parameter and one LONGLONG column `v`, id 7, unless said):
  pipeline            COM_STMT_EXECUTE: OK with affected rows 1, except the
                      3rd execute: ERR 1062 (23000). Prints `executes=N`
                      and `max_unanswered=N` (the most executes received
                      before the peer answered the first of them) at the
                      end; answers only once no more bytes arrive within
                      0.2 s, so pipelining shows
  prepare_truncated   the parameter definition is cut short
  prepare_huge        the reply declares 65535 columns, then the socket is
                      closed
  short_value         the execute's row holds 4 of the LONGLONG's 8 bytes
  short_bitmap        the execute's row is 0x00 alone (no NULL bitmap)
  bad_datetime        the column is DATETIME and the row's value has a
                      length byte of 5
  bad_fetch           the execute opens a cursor (CURSOR_EXISTS); the
                      fetch is answered by a row whose value is cut short
"""
import os
import select
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeserver as fs  # noqa: E402

COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17
COM_STMT_CLOSE = 0x19
COM_STMT_RESET = 0x1A
COM_STMT_FETCH = 0x1C
TYPE_DATETIME = 0x0C
CURSOR_EXISTS = 0x0040
LAST_ROW_SENT = 0x0080


def eof(status=fs.SERVER_STATUS_AUTOCOMMIT):
    return b"\xfe\x00\x00" + status.to_bytes(2, "little")


def prepare_ok(ncols, nparams, stmt_id=7):
    return (b"\x00" + stmt_id.to_bytes(4, "little") + ncols.to_bytes(2, "little")
            + nparams.to_bytes(2, "little") + b"\x00" + b"\x00\x00")


def end_of_rows(conn, status=fs.SERVER_STATUS_AUTOCOMMIT):
    if conn.deprecate_eof:
        return fs.ok_payload(status=status, marker=b"\xfe")
    return eof(status)


def answer_prepare(conn, scenario):
    col_type = TYPE_DATETIME if scenario == "bad_datetime" else fs.TYPE_LONGLONG
    if scenario == "prepare_huge":
        conn.send(fs.packet(1, prepare_ok(65535, 0)))
        raise fs.Closed("closing after a huge count")
    out = [prepare_ok(1, 1)]
    param = fs.column_def(b"?")
    out.append(param[:5] if scenario == "prepare_truncated" else param)
    if not conn.deprecate_eof:
        out.append(eof())
    out.append(fs.column_def(b"v", col_type=col_type))
    if not conn.deprecate_eof:
        out.append(eof())
    conn.send_packets(1, out)


def result_head(conn, scenario, status=fs.SERVER_STATUS_AUTOCOMMIT):
    col_type = TYPE_DATETIME if scenario == "bad_datetime" else fs.TYPE_LONGLONG
    out = [b"\x01", fs.column_def(b"v", col_type=col_type)]
    if not conn.deprecate_eof or status & CURSOR_EXISTS:
        out.append(eof(status) if not conn.deprecate_eof
                   else fs.ok_payload(status=status, marker=b"\xfe"))
    return out


def bad_row(scenario):
    if scenario == "short_value":
        return b"\x00\x00" + b"\x01\x00\x00\x00"
    if scenario == "short_bitmap":
        return b"\x00"
    if scenario == "bad_datetime":
        return b"\x00\x00" + b"\x05" + b"\xe8\x07\x01\x02\x03"
    return b"\x00\x00" + b"\x01\x00"  # bad_fetch: cut short too


def serve_pipeline(conn):
    counts = {"executes": 0, "max_unanswered": 0}
    try:
        pipeline_loop(conn, counts)
    finally:
        fs.report("executes=%d" % counts["executes"])
        fs.report("max_unanswered=%d" % counts["max_unanswered"])


def pipeline_loop(conn, counts):
    pending = []
    while True:
        # Gather every command already sent before answering any, so a
        # client that waits for each reply is told apart from one that
        # pipelines.
        ready, _, _ = select.select([conn.sock], [], [], 0.2)
        if ready:
            seq, payload = conn.read_packet()
            if not payload or payload[0] == fs.COM_QUIT:
                break
            pending.append(payload)
            continue
        if not pending:
            continue
        unanswered = sum(1 for p in pending if p[0] == COM_STMT_EXECUTE)
        counts["max_unanswered"] = max(counts["max_unanswered"], unanswered)
        for payload in pending:
            cmd = payload[0]
            if cmd == COM_STMT_PREPARE:
                answer_prepare(conn, "pipeline")
            elif cmd == COM_STMT_EXECUTE:
                counts["executes"] += 1
                if counts["executes"] == 3:
                    conn.send(fs.packet(1, fs.err_payload(1062, b"23000", b"Duplicate entry '3' for key 'PRIMARY'")))
                else:
                    conn.send(fs.packet(1, fs.ok_payload(affected=1)))
            elif cmd == COM_STMT_CLOSE:
                pass
            else:
                conn.send(fs.packet(1, fs.ok_payload()))
        pending = []


def serve(conn, scenario):
    if scenario == "pipeline":
        return serve_pipeline(conn)
    while True:
        seq, payload = conn.read_packet()
        if not payload or payload[0] == fs.COM_QUIT:
            return
        cmd = payload[0]
        if cmd == COM_STMT_PREPARE:
            answer_prepare(conn, scenario)
        elif cmd == COM_STMT_EXECUTE:
            if scenario == "bad_fetch":
                conn.send_packets(1, result_head(conn, scenario,
                                                 fs.SERVER_STATUS_AUTOCOMMIT | CURSOR_EXISTS))
            else:
                conn.send_packets(1, result_head(conn, scenario)
                                  + [bad_row(scenario), end_of_rows(conn)])
        elif cmd == COM_STMT_FETCH:
            conn.send_packets(1, [bad_row(scenario),
                                  end_of_rows(conn, fs.SERVER_STATUS_AUTOCOMMIT | LAST_ROW_SENT)])
        elif cmd == COM_STMT_CLOSE:
            pass
        else:
            conn.send(fs.packet(1, fs.ok_payload()))


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    scenario = sys.argv[1]
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
    signal.alarm(fs.LIFETIME)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    fs.report(str(listener.getsockname()[1]))
    sock, _ = listener.accept()
    listener.close()
    conn = fs.Conn(sock)
    try:
        fs.handshake(conn)
        serve(conn, scenario)
    except fs.Closed:
        pass
    try:
        sock.close()
    except OSError:
        pass
    fs.report("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
