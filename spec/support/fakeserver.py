#!/usr/bin/env python3
"""A scripted, sometimes hostile, MySQL-protocol peer for the specs.

Usage: fakeserver.py SCENARIO

Listens on 127.0.0.1, on a port the kernel chooses, and prints that port
number as the first line on stdout (flushed). It then serves exactly ONE
connection and exits. Events worth checking are printed on stdout as
`key=value` lines, flushed at once, e.g. `infile_bytes=0`. A peer that
nobody connects to, or that is left running, exits by itself after
LIFETIME seconds, so a failing spec cannot leave it behind for long.

Where the peer pretends to be correct it speaks the protocol byte-exactly:
a protocol v10 greeting, mysql_native_password checked against the known
password (user "u", password "p"), OK / ERR / EOF packets, text result
sets with or without CLIENT_DEPRECATE_EOF as the client negotiated.

Scenarios:
  ok                       correct server; every query gets a one-row
                           result `1` (column `1`, LONGLONG); statements
                           starting with SET get an OK packet
  server_error             the first query gets ERR 1146 (42S02), later
                           queries are served as in `ok`
  control_chars_error      as server_error, but the message carries an
                           ESC sequence, a BEL, a CR and a C1 CSI (U+009B)
  drip                     queries are answered with a valid result, one
                           byte per second
  drip_handshake           the greeting is sent one byte per second
  silent                   accepts the TCP connection and never sends
  truncated_greeting       the greeting header declares more bytes than are
                           sent, then the socket is closed
  bad_length_greeting      the server version string has no NUL: it runs
                           to the end of the packet; the socket stays open
  bad_auth_length_greeting the auth-plugin-data length byte is 255 while
                           the packet carries a 20-byte scramble; a client
                           that clamps it and authenticates correctly is
                           served as in `ok`
  wrong_seq                a query's result starts with sequence id 5
                           instead of 1 (the rest is consistent with it)
  truncated_row            the row packet holds a length-encoded string
                           that declares 4096 bytes and carries 3
  bad_column_count         the column count is 0xFFFFFFFF (8-byte lenenc);
                           the socket stays open
  close_mid_result         column count and column definition, then close
  auth_switch              AuthSwitchRequest to mysql_native_password with
                           a new scramble; only a token computed against
                           the new scramble is accepted; then as `ok`
  unknown_plugin           AuthSwitchRequest to a plugin no client knows;
                           any answer gets ERR 1045
  local_infile_unasked     a query is answered with a LOCAL INFILE request
                           for /etc/passwd; prints `infile_bytes=N` (file
                           bytes received before the end-of-data packet,
                           or before the client closed) and `infile_end=`
                           `empty_packet` / `closed` / `timeout`; after an
                           empty packet it answers OK as a real server does
  ok_fields                every query gets an OK packet: affected rows
                           2^40, insert id 2^63+5, status 0x0022,
                           warnings 3, info "hello"
  huge_packet_header       a query is answered by a header declaring a
                           16 MiB - 1 payload, then 10 bytes, then nothing
  err_greeting             instead of a greeting, ERR 1040 "Too many
                           connections" without a SQL state (the server
                           does not know the client's capabilities yet)
  nul_in_double            a row of two DOUBLE columns whose first value is
                           the bytes "1", NUL, "2" (not a number)
  row_extra_bytes          a row packet with bytes after its last value
  error_mid_rows           two rows, then ERR 1317 (70100) instead of the
                           end of the result; later queries as in `ok`
  close_after_first_row    columns and one row of `seq`, then close
  more_results_then_close  an OK packet flagged SERVER_MORE_RESULTS_EXISTS,
                           then close
  deaf                     after the handshake, never reads nor answers
  lenenc_overflow_row      two columns; the row's second value declares a
                           length of 2^64 - 1 (0xFE + eight 0xFF bytes)
  lenenc_overflow_column   the column definition's name declares a length
                           of 2^64 - 1
  truncated_ok             a query is answered by an OK packet whose
                           insert id is cut off
  truncated_err            a query is answered by an ERR packet of 2 bytes
  flood                    a query is answered by a result set whose rows
                           (one-byte strings) keep coming as fast as the
                           socket takes them, without end
  infile_more              the first query is answered with a LOCAL INFILE
                           request for /etc/passwd (prints `infile_bytes=N`
                           and `infile_end=` as `local_infile_unasked`);
                           after an empty packet: an OK packet flagged
                           SERVER_MORE_RESULTS_EXISTS, then a one-row result
                           set (column `leftover`, value 42) in the same
                           response; later queries as in `ok`
  trickle                  a query is answered by a result set of
                           TRICKLE_ROWS rows (column `seq`, 1, 2, ...): the
                           column definitions at once, then one packet every
                           TRICKLE_INTERVAL seconds (each row, then the end),
                           so every single read waits less than a second
                           while the whole response takes about 2 s; later
                           queries as in `ok`
  full_backlog             listens with a backlog of 0 and fills the accept
                           queue with its own connections before printing
                           the port, so a connect to it never completes (the
                           kernel drops the SYNs); never accepts; closes the
                           listener after BACKLOG_HOLD seconds (a client
                           still trying then gets a refusal) and exits

Authentication failures print `auth=denied`, successes `auth=ok`.
"""

import hashlib
import os
import select
import signal
import socket
import sys
import time

USER = b"u"
PASSWORD = b"p"
SERVER_VERSION = b"5.5.5-10.11.0-fake"
CONNECTION_ID = 4242
LIFETIME = 60          # seconds before the peer exits whatever happens
IO_TIMEOUT = 10        # seconds a read from the client may block
TRICKLE_ROWS = 6
TRICKLE_INTERVAL = 0.3  # seconds between the packets of `trickle`
BACKLOG_HOLD = 3        # seconds `full_backlog` keeps its listener

CLIENT_LONG_PASSWORD = 1
CLIENT_FOUND_ROWS = 1 << 1
CLIENT_LONG_FLAG = 1 << 2
CLIENT_CONNECT_WITH_DB = 1 << 3
CLIENT_LOCAL_FILES = 1 << 7
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_SSL = 1 << 11
CLIENT_TRANSACTIONS = 1 << 13
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_MULTI_STATEMENTS = 1 << 16
CLIENT_MULTI_RESULTS = 1 << 17
CLIENT_PS_MULTI_RESULTS = 1 << 18
CLIENT_PLUGIN_AUTH = 1 << 19
CLIENT_CONNECT_ATTRS = 1 << 20
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21
CLIENT_DEPRECATE_EOF = 1 << 24

SERVER_CAPS = (CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG
               | CLIENT_CONNECT_WITH_DB | CLIENT_LOCAL_FILES
               | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
               | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS
               | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS
               | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS
               | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
               | CLIENT_DEPRECATE_EOF)

SERVER_STATUS_AUTOCOMMIT = 0x0002
SERVER_MORE_RESULTS_EXISTS = 0x0008
UTF8MB4_GENERAL_CI = 45
BINARY_CHARSET = 63
TYPE_DOUBLE = 0x05
TYPE_LONGLONG = 0x08
TYPE_VAR_STRING = 0xFD

COM_QUIT = 0x01
COM_INIT_DB = 0x02
COM_QUERY = 0x03
COM_PING = 0x0E


class Closed(Exception):
    """The client closed the connection (or stopped talking to us)."""


def report(line):
    try:
        print(line, flush=True)
    except OSError:
        pass   # nobody reads our stdout any more


def lenenc_int(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little")
    if n < 1 << 24:
        return b"\xfd" + n.to_bytes(3, "little")
    return b"\xfe" + n.to_bytes(8, "little")


def lenenc_str(s):
    return lenenc_int(len(s)) + s


def header(length, seq):
    return length.to_bytes(3, "little") + bytes([seq & 0xFF])


def packet(seq, payload):
    return header(len(payload), seq) + payload


def new_scramble():
    # printable, never NUL, as real servers do
    return bytes(0x21 + b % 0x5E for b in os.urandom(20))


def sha1(data):
    return hashlib.sha1(data).digest()


def native_token(password, scramble):
    """SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); empty for no password."""
    if not password:
        return b""
    stage1 = sha1(password)
    mix = sha1(scramble + sha1(stage1))
    return bytes(a ^ b for a, b in zip(stage1, mix))


def ok_payload(affected=0, insert_id=0, status=SERVER_STATUS_AUTOCOMMIT,
               warnings=0, info=b"", marker=b"\x00"):
    # The info message goes length-encoded, as MySQL and MariaDB servers
    # send it whether or not CLIENT_SESSION_TRACK was negotiated.
    return (marker + lenenc_int(affected) + lenenc_int(insert_id)
            + status.to_bytes(2, "little") + warnings.to_bytes(2, "little")
            + (lenenc_str(info) if info else b""))


def err_payload(code, sqlstate, message):
    return (b"\xff" + code.to_bytes(2, "little") + b"#" + sqlstate
            + message)


def column_def(name, col_type=TYPE_LONGLONG, charset=BINARY_CHARSET,
               length=1, flags=0x0081, decimals=0):
    return (lenenc_str(b"def") + lenenc_str(b"") + lenenc_str(b"")
            + lenenc_str(b"") + lenenc_str(name) + lenenc_str(b"")
            + b"\x0c" + charset.to_bytes(2, "little")
            + length.to_bytes(4, "little") + bytes([col_type])
            + flags.to_bytes(2, "little") + bytes([decimals]) + b"\x00\x00")


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.client_caps = 0
        sock.settimeout(IO_TIMEOUT)

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except (socket.timeout, ConnectionError) as e:
                raise Closed(str(e))
            if not chunk:
                raise Closed("eof")
            data += chunk
        return data

    def read_packet(self):
        head = self.recv_exact(4)
        length = int.from_bytes(head[:3], "little")
        return head[3], self.recv_exact(length)

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Closed(str(e))

    def send_packets(self, seq, payloads):
        """Sends payloads as consecutive packets from seq; returns next seq."""
        out = b""
        for p in payloads:
            out += packet(seq, p)
            seq += 1
        self.send(out)
        return seq

    def drip(self, data):
        for i in range(len(data)):
            self.send(data[i:i + 1])
            time.sleep(1)

    def hold(self):
        """Keeps the socket open, reading and ignoring, until the client
        closes it (or IO_TIMEOUT passes without a byte)."""
        try:
            while self.recv_exact(1):
                pass
        except Closed:
            pass

    @property
    def deprecate_eof(self):
        return bool(self.client_caps & CLIENT_DEPRECATE_EOF)

    def result_payloads(self, columns, rows, status=SERVER_STATUS_AUTOCOMMIT):
        """Payloads of a text result set: columns are column_def payloads,
        rows are lists of bytes (None for NULL)."""
        out = [lenenc_int(len(columns))]
        out += columns
        if not self.deprecate_eof:
            out.append(b"\xfe\x00\x00" + status.to_bytes(2, "little"))
        for row in rows:
            out.append(b"".join(b"\xfb" if v is None else lenenc_str(v)
                                for v in row))
        if self.deprecate_eof:
            out.append(ok_payload(status=status, marker=b"\xfe"))
        else:
            out.append(b"\xfe\x00\x00" + status.to_bytes(2, "little"))
        return out

    def select_one(self):
        return self.result_payloads([column_def(b"1")], [[b"1"]])


# -- handshake ---------------------------------------------------------------

def greeting(scramble, version=SERVER_VERSION + b"\x00", auth_len=21):
    return (b"\x0a" + version + CONNECTION_ID.to_bytes(4, "little")
            + scramble[:8] + b"\x00"
            + (SERVER_CAPS & 0xFFFF).to_bytes(2, "little")
            + bytes([UTF8MB4_GENERAL_CI])
            + SERVER_STATUS_AUTOCOMMIT.to_bytes(2, "little")
            + (SERVER_CAPS >> 16).to_bytes(2, "little")
            + bytes([auth_len]) + b"\x00" * 10
            + scramble[8:] + b"\x00" + b"mysql_native_password\x00")


def cstring(buf, pos):
    end = buf.index(b"\x00", pos)
    return buf[pos:end], end + 1


def parse_handshake_response(payload):
    """Returns (caps, user, auth_response, plugin) from HandshakeResponse41."""
    caps = int.from_bytes(payload[0:4], "little")
    pos = 32
    user, pos = cstring(payload, pos)
    if caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA:
        first = payload[pos]
        if first < 251:
            n, pos = first, pos + 1
        elif first == 0xFC:
            n, pos = int.from_bytes(payload[pos + 1:pos + 3], "little"), pos + 3
        else:
            raise ValueError("auth response too long")
        auth, pos = payload[pos:pos + n], pos + n
    elif caps & CLIENT_SECURE_CONNECTION:
        n = payload[pos]
        auth, pos = payload[pos + 1:pos + 1 + n], pos + 1 + n
    else:
        auth, pos = cstring(payload, pos)
    if caps & CLIENT_CONNECT_WITH_DB and pos < len(payload):
        _, pos = cstring(payload, pos)
    plugin = b""
    if caps & CLIENT_PLUGIN_AUTH and pos < len(payload):
        plugin, pos = cstring(payload, pos)
    return caps, user, auth, plugin


def deny(conn, seq, user):
    report("auth=denied")
    conn.send(packet(seq, err_payload(
        1045, b"28000",
        b"Access denied for user '" + user + b"'@'localhost' (using password: YES)")))
    raise Closed("auth denied")


def handshake(conn, switch_to=None, greeting_bytes=None, drip=False,
              scramble=None):
    """Runs the connection phase. switch_to: None, "native" (switch to
    mysql_native_password with a new scramble) or a plugin name no client
    knows. Raises Closed when the client is refused or goes away."""
    scramble = scramble or new_scramble()
    data = packet(0, greeting_bytes or greeting(scramble))
    if drip:
        conn.drip(data)
    else:
        conn.send(data)
    seq, payload = conn.read_packet()
    if len(payload) < 32:
        conn.send(packet(seq + 1, err_payload(1043, b"08S01", b"Bad handshake")))
        raise Closed("short handshake response")
    caps = int.from_bytes(payload[0:4], "little")
    if caps & CLIENT_SSL and len(payload) == 32:
        conn.send(packet(seq + 1, err_payload(1043, b"08S01", b"No TLS here")))
        raise Closed("client asked for TLS")
    try:
        caps, user, auth, plugin = parse_handshake_response(payload)
    except (ValueError, IndexError):
        conn.send(packet(seq + 1, err_payload(1043, b"08S01", b"Bad handshake")))
        raise Closed("malformed handshake response")
    conn.client_caps = caps
    seq += 1

    if switch_to is None and plugin not in (b"", b"mysql_native_password"):
        switch_to = "native"   # as real servers do for a plugin they don't use
    if switch_to == "native":
        scramble = new_scramble()
        conn.send(packet(seq, b"\xfe" + b"mysql_native_password\x00"
                         + scramble + b"\x00"))
        seq, auth = conn.read_packet()
        seq += 1
    elif switch_to is not None:
        conn.send(packet(seq, b"\xfe" + switch_to.encode() + b"\x00"
                         + new_scramble() + b"\x00"))
        seq, _ = conn.read_packet()
        deny(conn, seq + 1, user)

    if user != USER or auth != native_token(PASSWORD, scramble):
        deny(conn, seq, user)
    report("auth=ok")
    conn.send(packet(seq, ok_payload()))


# -- command phase -------------------------------------------------------------

def serve(conn, on_query):
    """Command loop: on_query(conn, sql, n) answers the n-th COM_QUERY (from
    1) and returns nothing. SET statements, COM_PING and COM_INIT_DB get OK."""
    n = 0
    while True:
        seq, payload = conn.read_packet()
        if not payload or payload[0] == COM_QUIT:
            return
        cmd, arg = payload[0], payload[1:]
        if cmd == COM_QUERY and not arg.lstrip().upper().startswith(b"SET "):
            n += 1
            on_query(conn, arg, n)
        elif cmd in (COM_QUERY, COM_PING, COM_INIT_DB):
            conn.send(packet(1, ok_payload()))
        else:
            conn.send(packet(1, err_payload(1047, b"08S01", b"Unknown command")))


def answer_select_one(conn, sql, n):
    conn.send_packets(1, conn.select_one())


def answer_server_error(conn, sql, n):
    if n == 1:
        conn.send(packet(1, err_payload(
            1146, b"42S02", b"Table 'test.nope' doesn't exist")))
    else:
        answer_select_one(conn, sql, n)


def answer_control_chars_error(conn, sql, n):
    if n == 1:
        conn.send(packet(1, err_payload(
            1644, b"45000", b"a\x1b[31mred\x07\rb\xc2\x9bc")))
    else:
        answer_select_one(conn, sql, n)


def answer_drip(conn, sql, n):
    data = b""
    seq = 1
    for p in conn.select_one():
        data += packet(seq, p)
        seq += 1
    conn.drip(data)


def answer_wrong_seq(conn, sql, n):
    conn.send_packets(5, conn.select_one())
    conn.hold()


def answer_truncated_row(conn, sql, n):
    payloads = conn.result_payloads(
        [column_def(b"s", TYPE_VAR_STRING, UTF8MB4_GENERAL_CI, 4096, 0)], [])
    row = b"\xfc\x00\x10abc"          # declares 4096 bytes, carries 3
    rows_at = len(payloads) - 1        # before the terminator
    payloads.insert(rows_at, row)
    conn.send_packets(1, payloads)
    conn.hold()


def answer_bad_column_count(conn, sql, n):
    conn.send(packet(1, b"\xfe" + (0xFFFFFFFF).to_bytes(8, "little")))
    conn.hold()


def answer_close_mid_result(conn, sql, n):
    conn.send_packets(1, [lenenc_int(1), column_def(b"1")])
    conn.sock.shutdown(socket.SHUT_RDWR)
    raise Closed("closed on purpose")


def receive_infile(conn):
    """Reads what the client sends after a LOCAL INFILE request until its
    empty packet; reports the bytes and how it ended. Returns the sequence
    id of the last packet read. Raises Closed unless the data ended with an
    empty packet."""
    received = 0
    end = "timeout"
    seq = 1
    conn.sock.settimeout(3)
    try:
        while True:
            seq, payload = conn.read_packet()
            if not payload:
                end = "empty_packet"
                break
            received += len(payload)
    except Closed as e:
        end = "timeout" if "timed out" in str(e) else "closed"
    report("infile_bytes=%d" % received)
    report("infile_end=%s" % end)
    if end != "empty_packet":
        raise Closed(end)
    conn.sock.settimeout(IO_TIMEOUT)
    return seq


INFILE_OK_INFO = b"Records: 0  Deleted: 0  Skipped: 0  Warnings: 0"


def answer_local_infile(conn, sql, n):
    conn.send(packet(1, b"\xfb/etc/passwd"))
    seq = receive_infile(conn)
    # what a real server says after an empty file
    conn.send(packet(seq + 1, ok_payload(info=INFILE_OK_INFO)))


def answer_infile_more(conn, sql, n):
    if n > 1:
        answer_select_one(conn, sql, n)
        return
    conn.send(packet(1, b"\xfb/etc/passwd"))
    seq = receive_infile(conn)
    # as for "LOAD DATA LOCAL INFILE ...; SELECT 42": the next result set
    # follows in the same response
    more = SERVER_STATUS_AUTOCOMMIT | SERVER_MORE_RESULTS_EXISTS
    payloads = [ok_payload(status=more, info=INFILE_OK_INFO)]
    payloads += conn.result_payloads([column_def(b"leftover")], [[b"42"]])
    conn.send_packets(seq + 1, payloads)


def answer_ok_fields(conn, sql, n):
    conn.send(packet(1, ok_payload(affected=1 << 40, insert_id=(1 << 63) + 5,
                                   status=0x0022, warnings=3, info=b"hello")))


def answer_huge_header(conn, sql, n):
    conn.send(header(0xFFFFFF, 1) + b"\x00" * 10)
    conn.hold()


def answer_row_extra_bytes(conn, sql, n):
    payloads = conn.result_payloads([column_def(b"1")], [[b"1"]])
    payloads[-2] += b"junk"            # the row, just before the terminator
    conn.send_packets(1, payloads)
    conn.hold()


def answer_nul_in_double(conn, sql, n):
    payloads = conn.result_payloads(
        [column_def(b"d", TYPE_DOUBLE, length=22, decimals=31),
         column_def(b"e", TYPE_DOUBLE, length=22, decimals=31)],
        [[b"1\x002", b"2.5"]])
    conn.send_packets(1, payloads)


def answer_error_mid_rows(conn, sql, n):
    if n > 1:
        answer_select_one(conn, sql, n)
        return
    payloads = conn.result_payloads([column_def(b"seq")], [[b"1"], [b"2"]])
    payloads[-1] = err_payload(1317, b"70100", b"Query execution was interrupted")
    conn.send_packets(1, payloads)


def answer_close_after_first_row(conn, sql, n):
    payloads = conn.result_payloads([column_def(b"seq")], [[b"1"], [b"2"]])
    conn.send_packets(1, payloads[:-2])   # without the second row and the end
    conn.sock.shutdown(socket.SHUT_RDWR)
    raise Closed("closed on purpose")


def answer_more_results_then_close(conn, sql, n):
    conn.send(packet(1, ok_payload(status=SERVER_STATUS_AUTOCOMMIT
                                   | SERVER_MORE_RESULTS_EXISTS)))
    conn.sock.shutdown(socket.SHUT_RDWR)
    raise Closed("closed on purpose")


def answer_lenenc_overflow_row(conn, sql, n):
    payloads = conn.result_payloads(
        [column_def(b"a"),
         column_def(b"b", TYPE_VAR_STRING, UTF8MB4_GENERAL_CI, 4096, 0)],
        [[b"1", b"x"]])
    payloads[-2] = lenenc_str(b"1") + b"\xfe" + b"\xff" * 8 + b"abc"
    conn.send_packets(1, payloads)
    conn.hold()


def answer_lenenc_overflow_column(conn, sql, n):
    bad = (lenenc_str(b"def") + lenenc_str(b"") + lenenc_str(b"")
           + lenenc_str(b"") + b"\xfe" + b"\xff" * 8 + b"abc")
    payloads = conn.result_payloads([bad], [[b"1"]])
    conn.send_packets(1, payloads)
    conn.hold()


def answer_truncated_ok(conn, sql, n):
    conn.send(packet(1, b"\x00\x01\xfc\x01"))
    conn.hold()


def answer_truncated_err(conn, sql, n):
    conn.send(packet(1, b"\xff\x10"))
    conn.hold()


def answer_flood(conn, sql, n):
    payloads = conn.result_payloads(
        [column_def(b"x", TYPE_VAR_STRING, UTF8MB4_GENERAL_CI, 1, 0)], [])
    seq = conn.send_packets(1, payloads[:-1])   # everything but the end
    # 256 rows take the sequence id once around, so the block repeats as is
    block = b"".join(packet(seq + i, lenenc_str(b"x")) for i in range(256))
    block *= 64
    while True:                        # until the client goes away
        conn.send(block)


def answer_trickle(conn, sql, n):
    if n > 1:
        answer_select_one(conn, sql, n)
        return
    rows = [[str(i).encode()] for i in range(1, TRICKLE_ROWS + 1)]
    payloads = conn.result_payloads([column_def(b"seq")], rows)
    head = 1 + (0 if conn.deprecate_eof else 1)   # count, column, [EOF]
    seq = conn.send_packets(1, payloads[:1 + head])
    for p in payloads[1 + head:]:
        time.sleep(TRICKLE_INTERVAL)
        seq = conn.send_packets(seq, [p])


def fill_backlog(listener):
    """Connects to our own listener (backlog 0, never accepting) until a
    connect no longer completes; returns the sockets, kept open."""
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(16):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
        _, writable, _ = select.select([], [s], [], 0.2)
        if not writable:
            return fillers
    raise SystemExit("full_backlog: the accept queue never filled")


def run(scenario, conn):
    if scenario == "silent":
        conn.hold()
        return
    if scenario == "truncated_greeting":
        g = greeting(new_scramble())
        conn.send(header(len(g) + 40, 0) + g[:30])
        return
    if scenario == "err_greeting":
        conn.send(packet(0, b"\xff" + (1040).to_bytes(2, "little")
                         + b"Too many connections"))
        return
    if scenario == "bad_length_greeting":
        conn.send(packet(0, b"\x0a" + SERVER_VERSION + b"-" * 40))
        conn.hold()
        return

    queries = {
        "ok": answer_select_one,
        "server_error": answer_server_error,
        "control_chars_error": answer_control_chars_error,
        "drip": answer_drip,
        "drip_handshake": answer_select_one,
        "bad_auth_length_greeting": answer_select_one,
        "wrong_seq": answer_wrong_seq,
        "truncated_row": answer_truncated_row,
        "bad_column_count": answer_bad_column_count,
        "close_mid_result": answer_close_mid_result,
        "auth_switch": answer_select_one,
        "unknown_plugin": answer_select_one,
        "local_infile_unasked": answer_local_infile,
        "ok_fields": answer_ok_fields,
        "huge_packet_header": answer_huge_header,
        "row_extra_bytes": answer_row_extra_bytes,
        "error_mid_rows": answer_error_mid_rows,
        "close_after_first_row": answer_close_after_first_row,
        "more_results_then_close": answer_more_results_then_close,
        "deaf": None,
        "lenenc_overflow_row": answer_lenenc_overflow_row,
        "lenenc_overflow_column": answer_lenenc_overflow_column,
        "truncated_ok": answer_truncated_ok,
        "truncated_err": answer_truncated_err,
        "flood": answer_flood,
        "infile_more": answer_infile_more,
        "nul_in_double": answer_nul_in_double,
        "trickle": answer_trickle,
    }
    if scenario not in queries:
        raise SystemExit("unknown scenario: " + scenario)
    options = {}
    if scenario == "drip_handshake":
        options["drip"] = True
    elif scenario == "auth_switch":
        options["switch_to"] = "native"
    elif scenario == "unknown_plugin":
        options["switch_to"] = "mylua_no_such_plugin"
    elif scenario == "bad_auth_length_greeting":
        scramble = new_scramble()
        options["scramble"] = scramble
        options["greeting_bytes"] = greeting(scramble, auth_len=255)
    handshake(conn, **options)
    if scenario == "deaf":
        time.sleep(LIFETIME)
        return
    serve(conn, queries[scenario])


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    scenario = sys.argv[1]
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
    signal.alarm(LIFETIME)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    if scenario == "full_backlog":
        listener.listen(0)
        fillers = fill_backlog(listener)
        report(str(listener.getsockname()[1]))
        report("filled=%d" % len(fillers))
        time.sleep(BACKLOG_HOLD)
        listener.close()
        report("done")
        return 0
    listener.listen(1)
    report(str(listener.getsockname()[1]))
    sock, _ = listener.accept()
    listener.close()
    conn = Conn(sock)
    try:
        run(scenario, conn)
    except Closed:
        pass
    try:
        sock.close()
    except OSError:
        pass
    report("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
