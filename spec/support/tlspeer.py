#!/usr/bin/env python3
"""A scripted TLS peer for spec/57-tls_proof_spec.lua.

Usage: tlspeer.py SCENARIO CERTDIR -- prints the port it listens on (on
127.0.0.1), serves one connection, prints `done` and exits.
       tlspeer.py any CERTDIR -- the same for every connection until it is
killed, each served by a process of its own, in the scenario named by the
file CERTDIR/scenario when it is accepted, its lines appended to
CERTDIR/log (one peer for a whole spec file: starting Python is what a test
would spend most of its time on).  CERTDIR holds
the certificates the spec made: self.pem/self-key.pem (self-signed, as a
MariaDB 11.4 server makes for itself), server.pem/server-key.pem (signed by
ca.pem, names localhost and 127.0.0.1), elsewhere.pem/elsewhere-key.pem
(signed by ca.pem for db.example.com only) and mitm.pem/mitm-key.pem
(someone else's).

The peer speaks the handshake byte for byte as MariaDB does: a greeting
offering CLIENT_SSL, the client's 32-byte SSL request (sequence 1), the TLS
handshake, the handshake response over TLS (sequence 2), the native
password check against fakeserver's user and password, and the OK
(sequence 3).  With a proof, the OK's info is 0x01 and the upper-case hex
of SHA-256(SHA1(SHA1(password)) + scramble + SHA-256(certificate DER)), as
the server computes it (MDEV-31855).  Then queries get `SELECT 1`'s result.

Scenarios:
  proof      self-signed certificate, correct proof
  proof_ca   the CA-signed certificate, correct proof
  no_proof   self-signed certificate, an OK without proof (MariaDB 10.11)
  elsewhere  the CA-signed certificate of another host, no proof
  switch     as `proof`, but the login switches to mysql_native_password
             with a new scramble, which the proof is then over
  deaf       as `proof`, then never answers a query
  parting    as `proof`; a query gets, after its first bytes, an ERR 1153
             (packet too large) and the connection closed, unread, as
             MariaDB does
  mitm       someone else's certificate; the proof is the one the real
             server sent it (over the real certificate), relayed
  stall      reads the SSL request, then never answers the ClientHello
  garbage    answers the ClientHello with bytes that are no TLS record
  plain      a greeting without CLIENT_SSL, then a plain login
  early      sends, with the greeting, bytes that would be read as TLS
             (someone injecting them before the handshake)

Lines printed: `ssl_request=N` (bytes of the request), `tls=ok`,
`client_cert=CN` (when the client sent a certificate ca.pem signs),
`login=USER` (a handshake response was read), `auth=ok` or `auth=denied`,
and `done` when the connection is over.
"""

import hashlib
import os
import signal
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeserver as fs  # noqa: E402

CERTS = {
    "proof": "self", "no_proof": "self", "proof_ca": "server",
    "elsewhere": "elsewhere", "deaf": "self", "parting": "self", "switch": "self",
    "early": "self",
    "mitm": "mitm", "stall": "self", "garbage": "self", "plain": "self",
}


def cert_sha256(certdir, name):
    with open(os.path.join(certdir, name + ".pem")) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).digest()


def proof(scramble, fingerprint):
    """What the server puts in the OK: 0x01 + hex(SHA-256(hash, scramble, fp))."""
    password_hash = fs.sha1(fs.sha1(fs.PASSWORD))
    digest = hashlib.sha256(password_hash + scramble + fingerprint).hexdigest()
    return b"\x01" + digest.upper().encode()


def ok_with_info(info):
    return fs.ok_payload(info=info) if info else fs.ok_payload()


def read_ssl_request(conn):
    seq, payload = conn.read_packet()
    fs.report("ssl_request=%d" % len(payload))
    caps = int.from_bytes(payload[0:4], "little")
    if seq != 1 or len(payload) != 32 or not caps & fs.CLIENT_SSL:
        raise fs.Closed("not an SSL request")
    if payload[9:32] != b"\x00" * 23:
        raise fs.Closed("filler not zero")


def wrap(conn, certdir, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(certdir, name + ".pem"),
                        os.path.join(certdir, name + "-key.pem"))
    # a client certificate is welcome, not required; ca.pem must sign it
    ctx.load_verify_locations(os.path.join(certdir, "ca.pem"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    try:
        conn.sock = ctx.wrap_socket(conn.sock, server_side=True)
    except (ssl.SSLError, OSError) as e:
        raise fs.Closed("TLS handshake: %s" % e)
    fs.report("tls=ok")
    client = conn.sock.getpeercert()
    if client:
        names = dict(part[0] for part in client["subject"])
        fs.report("client_cert=%s" % names.get("commonName", ""))


def login(conn, scramble, info, switch_scramble=None):
    seq, payload = conn.read_packet()
    if seq != 2:
        raise fs.Closed("handshake response with sequence %d" % seq)
    caps, user, auth, plugin = fs.parse_handshake_response(payload)
    fs.report("login=%s" % user.decode(errors="replace"))
    conn.client_caps = caps
    if switch_scramble:
        conn.send(fs.packet(seq + 1, b"\xfe" + b"mysql_native_password\x00"
                            + switch_scramble + b"\x00"))
        seq, auth = conn.read_packet()
        scramble = switch_scramble
    if user != fs.USER or auth != fs.native_token(fs.PASSWORD, scramble):
        fs.deny(conn, seq + 1, user)
    fs.report("auth=ok")
    conn.send(fs.packet(seq + 1, ok_with_info(info)))


def run(scenario, conn, certdir):
    scramble = fs.new_scramble()
    greeting = fs.greeting(scramble)
    if scenario == "plain":
        fs.handshake(conn, scramble=scramble, greeting_bytes=greeting)
        fs.serve(conn, fs.answer_select_one)
        return
    # the capability flags' low half sits after the version, id and scramble part 1
    at = 1 + len(fs.SERVER_VERSION) + 1 + 4 + 9
    low = int.from_bytes(greeting[at:at + 2], "little") | fs.CLIENT_SSL
    greeting = greeting[:at] + low.to_bytes(2, "little") + greeting[at + 2:]
    early = fs.packet(1, fs.ok_payload()) if scenario == "early" else b""
    conn.send(fs.packet(0, greeting) + early)
    read_ssl_request(conn)
    if scenario == "stall":
        conn.hold()
        return
    if scenario == "garbage":
        conn.sock.recv(4096)  # the ClientHello
        conn.send(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"\x00" * 64)
        conn.hold()
        return
    wrap(conn, certdir, CERTS[scenario])
    info = None
    switch_scramble = fs.new_scramble() if scenario == "switch" else None
    if scenario in ("proof", "proof_ca", "deaf", "parting", "switch"):
        info = proof(switch_scramble or scramble, cert_sha256(certdir, CERTS[scenario]))
    elif scenario == "mitm":
        info = proof(scramble, cert_sha256(certdir, "self"))
    login(conn, scramble, info, switch_scramble)
    if scenario == "deaf":
        conn.hold()
        return
    if scenario == "parting":
        conn.recv_exact(4 + 1024)
        conn.send(fs.packet(1, fs.err_payload(
            1153, b"08S01", b"Got a packet bigger than 'max_allowed_packet' bytes")))
        return
    fs.serve(conn, fs.answer_select_one)


def serve_one(scenario, sock, certdir):
    conn = fs.Conn(sock)
    try:
        run(scenario, conn, certdir)
    except fs.Closed:
        pass
    try:
        conn.sock.close()
    except OSError:
        pass
    fs.report("done")


def serve_many(listener, certdir):
    """Forks a child per connection; the parent only accepts."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped at once
    while True:
        sock, _ = listener.accept()
        with open(os.path.join(certdir, "scenario")) as f:
            scenario = f.read().strip()
        if os.fork() == 0:
            listener.close()
            signal.alarm(fs.LIFETIME)
            log = os.open(os.path.join(certdir, "log"),
                          os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            sys.stdout.flush()
            os.dup2(log, 1)
            os.close(log)
            if scenario in CERTS:
                serve_one(scenario, sock, certdir)
            os._exit(0)
        sock.close()


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CERTS and sys.argv[1] != "any":
        sys.stderr.write(__doc__)
        return 2
    scenario, certdir = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
    # one connection: LIFETIME; any number: a spec file's worth, at most
    signal.alarm(fs.LIFETIME if scenario != "any" else 10 * fs.LIFETIME)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    fs.report(str(listener.getsockname()[1]))
    if scenario == "any":
        serve_many(listener, certdir)
        return 0
    sock, _ = listener.accept()
    listener.close()
    serve_one(scenario, sock, certdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
