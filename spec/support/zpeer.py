#!/usr/bin/env python3
"""A scripted peer speaking the compressed protocol (spec/58-compress_spec.lua).

Usage: zpeer.py SCENARIO -- as fakeserver.py (whose protocol code this
reuses): prints the port, serves one connection, exits.

The peer offers what the scenario says in its greeting, logs in the client
as fakeserver does (user "u", password "p"), and from the packet after the
login's OK speaks the compressed protocol the client asked for: zstd
(CLIENT_ZSTD_COMPRESSION_ALGORITHM, as MySQL 8.0.18+ does; through
libzstd.so.1 with ctypes, since Debian 12's python has no zstd module) or
zlib (CLIENT_COMPRESS).  It answers as a server does: it compresses what
its 16 KiB write buffer holds at each flush (stored under 50 bytes or when
compressing does not help) and renumbers the packets after each frame
(pkt_nr = compress_pkt_nr, as net_serv.cc does).

Printed (key=value, flushed):
  offered=zlib,zstd    what the greeting offered
  caps_compress=0|1    the client's CLIENT_COMPRESS flag
  caps_zstd=0|1        the client's CLIENT_ZSTD_COMPRESSION_ALGORITHM flag
  zstd_level=N         the level byte ending the client's response (zstd);
                       `zstd_level=missing` or `trailing=N` when it is not
                       exactly one byte after the connection attributes
  auth=ok|denied
  client_frame=SEQ,CLEN,ULEN   each frame the client sends
  client_frame_hex=HEX         ... the whole frame, when it is short
  bad_frame=WHY        a client frame that breaks the protocol
  query=SQL            each COM_QUERY, decompressed
  ping=1, quit=1       COM_PING, COM_QUIT
  client_closed=1      the client closed the connection
  done                 the peer is finished

Scenarios:
  session          offers zlib and zstd; every query is answered with a
                   one-column result (column `v`): "echo:" + the query, or,
                   for "ROWS n", n rows "row-i" + 1000 bytes; COM_PING OK
  zstd_only        as session, but offers zstd only
  zlib_only        as session, but offers zlib only
  zstd_corrupt     offers zstd; the first query is answered with a frame of
                   40 bytes of noise declaring 100 uncompressed bytes
  zstd_absurd      offers zstd; the first query is answered with a frame
                   header declaring 0xFFFFFF bytes compressed and
                   uncompressed, and nothing after it
  zstd_wrong_length offers zstd; the first query's answer is a proper zstd
                   frame that declares 10 bytes more than it holds
  zlib_corrupt     offers zlib; the first query is answered with a frame
                   of noise declaring 100 uncompressed bytes
"""

import ctypes
import os
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeserver as fs  # noqa: E402

CLIENT_COMPRESS = 1 << 5
CLIENT_ZSTD = 1 << 26
MIN_COMPRESS_LENGTH = 50
SERVER_BUFFER = 16384     # a server's net_buffer_length
SHORT_FRAME = 64          # client frames up to this size are printed whole

_zstd = ctypes.CDLL("libzstd.so.1")
_zstd.ZSTD_compressBound.restype = ctypes.c_size_t
_zstd.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
_zstd.ZSTD_compress.restype = ctypes.c_size_t
_zstd.ZSTD_compress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                                ctypes.c_size_t, ctypes.c_int]
_zstd.ZSTD_decompress.restype = ctypes.c_size_t
_zstd.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                                  ctypes.c_size_t]
_zstd.ZSTD_isError.restype = ctypes.c_uint
_zstd.ZSTD_isError.argtypes = [ctypes.c_size_t]


def zstd_compress(data, level=3):
    cap = _zstd.ZSTD_compressBound(len(data))
    out = ctypes.create_string_buffer(cap)
    n = _zstd.ZSTD_compress(out, cap, data, len(data), level)
    if _zstd.ZSTD_isError(n):
        raise ValueError("zstd compression failed")
    return out.raw[:n]


def zstd_decompress(data, size):
    out = ctypes.create_string_buffer(max(size, 1))
    n = _zstd.ZSTD_decompress(out, size, data, len(data))
    if _zstd.ZSTD_isError(n):
        raise ValueError("corrupt zstd data")
    return out.raw[:n]


def frame(seq, data, algo):
    """One frame as a server sends it: compressed when that shrinks it."""
    if len(data) >= MIN_COMPRESS_LENGTH:
        packed = zstd_compress(data) if algo == "zstd" else zlib.compress(data)
        if len(packed) < len(data):
            return (len(packed).to_bytes(3, "little") + bytes([seq & 0xFF])
                    + len(data).to_bytes(3, "little") + packed)
    return len(data).to_bytes(3, "little") + bytes([seq & 0xFF]) + b"\x00\x00\x00" + data


class Compressed:
    """The compressed protocol over a fakeserver Conn."""

    def __init__(self, conn, algo):
        self.conn = conn
        self.algo = algo
        self.seq = 0        # compressed sequence id expected / sent next
        self.inbuf = b""    # decompressed bytes from the client, unparsed

    def new_command(self):
        self.seq = 0

    def read_frame(self):
        head = self.conn.recv_exact(7)
        clen = int.from_bytes(head[0:3], "little")
        seq = head[3]
        ulen = int.from_bytes(head[4:7], "little")
        body = self.conn.recv_exact(clen)
        fs.report("client_frame=%d,%d,%d" % (seq, clen, ulen))
        if 7 + clen <= SHORT_FRAME:
            fs.report("client_frame_hex=" + (head + body).hex().upper())
        if seq != self.seq:
            fs.report("bad_frame=sequence %d, expected %d" % (seq, self.seq))
        self.seq = (seq + 1) & 0xFF
        if ulen == 0:
            data = body
        else:
            try:
                data = (zstd_decompress(body, ulen) if self.algo == "zstd"
                        else zlib.decompress(body))
            except (ValueError, zlib.error) as e:
                fs.report("bad_frame=" + str(e))
                raise fs.Closed("bad frame")
            if len(data) != ulen:
                fs.report("bad_frame=%d bytes, %d declared" % (len(data), ulen))
        self.inbuf += data

    def read_packet(self):
        while len(self.inbuf) < 4:
            self.read_frame()
        n = int.from_bytes(self.inbuf[0:3], "little")
        while len(self.inbuf) < 4 + n:
            self.read_frame()
        seq, payload = self.inbuf[3], self.inbuf[4:4 + n]
        self.inbuf = self.inbuf[4 + n:]
        return seq, payload

    def send_response(self, payloads):
        """Sends a command's response as a server does: packets numbered from
        1 into a 16 KiB buffer, a frame at each flush (buffer full, end of
        the response), the packet number set to the frame number after it."""
        pkt_nr = 1
        buf = b""
        out = []
        for p in payloads:
            buf += fs.packet(pkt_nr, p)
            pkt_nr += 1
            while len(buf) >= SERVER_BUFFER:
                out.append(frame(self.seq, buf[:SERVER_BUFFER], self.algo))
                buf = buf[SERVER_BUFFER:]
                self.seq = (self.seq + 1) & 0xFF
                pkt_nr = self.seq
        if buf:
            out.append(frame(self.seq, buf, self.algo))
            self.seq = (self.seq + 1) & 0xFF
        self.conn.send(b"".join(out))


def parse_response(payload):
    """Where the zstd level byte would start: the offset after the
    connection attributes of a HandshakeResponse41."""
    caps, user, auth, plugin = fs.parse_handshake_response(payload)
    pos = 32 + len(user) + 1
    first = payload[pos]
    if caps & fs.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA and first == 0xFC:
        pos += 3 + int.from_bytes(payload[pos + 1:pos + 3], "little")
    else:
        pos += 1 + first
    if caps & fs.CLIENT_CONNECT_WITH_DB:
        pos = payload.index(b"\x00", pos) + 1
    if caps & fs.CLIENT_PLUGIN_AUTH:
        pos = payload.index(b"\x00", pos) + 1
    if caps & fs.CLIENT_CONNECT_ATTRS:
        first = payload[pos]
        if first < 251:
            pos += 1 + first
        elif first == 0xFC:
            pos += 3 + int.from_bytes(payload[pos + 1:pos + 3], "little")
        else:
            pos += 4 + int.from_bytes(payload[pos + 1:pos + 4], "little")
    return caps, user, auth, pos


def login(conn, offer):
    """The connection phase; returns the algorithm the client asked for."""
    caps_offered = 0
    if "zlib" in offer:
        caps_offered |= CLIENT_COMPRESS
    if "zstd" in offer:
        caps_offered |= CLIENT_ZSTD
    fs.SERVER_CAPS |= caps_offered
    fs.report("offered=" + ",".join(offer))
    scramble = fs.new_scramble()
    conn.send(fs.packet(0, fs.greeting(scramble)))
    seq, payload = conn.read_packet()
    caps, user, auth, end = parse_response(payload)
    conn.client_caps = caps
    fs.report("caps_compress=%d" % (1 if caps & CLIENT_COMPRESS else 0))
    fs.report("caps_zstd=%d" % (1 if caps & CLIENT_ZSTD else 0))
    if caps & CLIENT_ZSTD:
        if end >= len(payload):
            fs.report("zstd_level=missing")
        else:
            fs.report("zstd_level=%d" % payload[end])
            if len(payload) - end != 1:
                fs.report("trailing=%d" % (len(payload) - end))
    elif end != len(payload):
        fs.report("trailing=%d" % (len(payload) - end))
    if user != fs.USER or auth != fs.native_token(fs.PASSWORD, scramble):
        fs.deny(conn, seq + 1, user)
    fs.report("auth=ok")
    conn.send(fs.packet(seq + 1, fs.ok_payload()))
    if caps & CLIENT_ZSTD:
        return "zstd"
    if caps & CLIENT_COMPRESS:
        return "zlib"
    return None


class Plain:
    """The same interface without compression."""

    def __init__(self, conn):
        self.conn = conn

    def new_command(self):
        pass

    def read_packet(self):
        return self.conn.read_packet()

    def send_response(self, payloads):
        self.conn.send_packets(1, payloads)


def answer(conn, sql):
    value_col = fs.column_def(b"v", fs.TYPE_VAR_STRING, fs.UTF8MB4_GENERAL_CI, 4096, 0)
    if sql.startswith(b"ROWS "):
        n = int(sql[5:])
        rows = [[b"row-%d-" % i + b"abcdefghij" * 100] for i in range(1, n + 1)]
    else:
        rows = [[b"echo:" + sql]]
    return conn.result_payloads([value_col], rows)


def serve(conn, link, broken=None):
    """Commands until COM_QUIT or the client closes. `broken`, when given,
    sends the answer to the first query instead (then waits for the client
    to close)."""
    while True:
        link.new_command()
        try:
            _, payload = link.read_packet()
        except fs.Closed:
            fs.report("client_closed=1")
            return
        if not payload:
            continue
        cmd, arg = payload[0], payload[1:]
        if cmd == fs.COM_QUIT:
            fs.report("quit=1")
            return
        if cmd == fs.COM_PING:
            fs.report("ping=1")
            link.send_response([fs.ok_payload()])
        elif cmd == fs.COM_QUERY:
            fs.report("query=" + arg.decode("utf-8", "replace"))
            if broken:
                conn.send(broken(link))
                try:
                    while conn.recv_exact(1):
                        pass
                except fs.Closed:
                    fs.report("client_closed=1")
                return
            link.send_response(answer(conn, arg))
        else:
            link.send_response([fs.err_payload(1047, b"08S01", b"Unknown command")])


def corrupt_frame(link):
    noise = bytes((i * 89 + 17) & 0xFF for i in range(40))
    return len(noise).to_bytes(3, "little") + bytes([link.seq]) + (100).to_bytes(3, "little") + noise


def absurd_frame(link):
    return b"\xff\xff\xff" + bytes([link.seq]) + b"\xff\xff\xff"


def wrong_length_frame(link):
    data = b"".join(fs.packet(1 + i, p) for i, p in
                    enumerate(link.conn.result_payloads(
                        [fs.column_def(b"v")], [[b"x" * 200]])))
    packed = zstd_compress(data)
    return (len(packed).to_bytes(3, "little") + bytes([link.seq])
            + (len(data) + 10).to_bytes(3, "little") + packed)


def run(scenario, conn):
    offers = {
        "session": ["zlib", "zstd"], "zstd_only": ["zstd"], "zlib_only": ["zlib"],
        "zstd_corrupt": ["zstd"], "zstd_absurd": ["zstd"], "zstd_wrong_length": ["zstd"],
        "zlib_corrupt": ["zlib"],
    }
    broken = {
        "zstd_corrupt": corrupt_frame, "zstd_absurd": absurd_frame,
        "zstd_wrong_length": wrong_length_frame, "zlib_corrupt": corrupt_frame,
    }
    if scenario not in offers:
        raise SystemExit("unknown scenario: " + scenario)
    algo = login(conn, offers[scenario])
    link = Compressed(conn, algo) if algo else Plain(conn)
    serve(conn, link, broken.get(scenario))


if __name__ == "__main__":
    fs.run = run
    sys.exit(fs.main())
