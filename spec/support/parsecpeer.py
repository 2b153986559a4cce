#!/usr/bin/env python3
"""A MariaDB 11.8 peer for the parsec and client_ed25519 logins
(spec/62-auth_ed25519_spec.lua): the sandbox's MariaDB 10.11 has no parsec,
and a fixed ed25519 nonce lets a published signature be checked byte for
byte.

Usage: parsecpeer.py SCENARIO -- as fakeserver.py (whose protocol code this
reuses): prints the port, serves one connection, exits.

The peer speaks as MariaDB 11.6+ does (plugin/auth_parsec/server_parsec.cc
and sql_acl.cc): a greeting from "11.8.2-MariaDB" naming
mysql_native_password; whatever the client answers, an auth switch to
parsec with a 32-byte random scramble (sequence 2); the client's empty
packet asking for the ext-salt (3); the ext-salt, bare since its first byte
'P' cannot be mistaken for OK, ERR, a switch or AuthMoreData (4): 'P', the
iteration factor f (1024 << f PBKDF2-HMAC-SHA512 iterations), 18 salt
bytes; the client's 32-byte scramble and Ed25519 signature of server
scramble || client scramble (5), verified against the stored public key;
OK, or ERR 1045 (6).  A packet out of order gets ERR 1156.  Then
`SELECT CURRENT_USER()` gets a real answer ('u@%'), other queries `1`.

The stored account is published: MariaDB's release notes for 11.6 (and for
Enterprise Server 11.4) show `CREATE USER ... IDENTIFIED VIA PARSEC USING
PASSWORD('MyPassword123!')` giving `IDENTIFIED VIA parsec USING
'P0:lhXyNv1cIxpB8EnTxR7ON7S7:1l3rWRW1/jw45yrvYXB8eh02wzk7lcJcz4CMcWw2b+8'`
(factor 0, base64 salt, base64 public key without padding): user "u" has
that password here.

The ed25519 vector is MariaDB's own unit test (plugin/auth_ed25519/
ed25519-t.c): password "foobar" has the public key FOOBAR_PK, and signs the
nonce of 32 'A' bytes as FOOBAR_SIGNATURE.

Scenarios:
  parsec               the account above; a correct login is served
  parsec_factor3       a stored key made here from the same password with
                       factor 3 (8192 iterations, the most MariaDB stores)
  parsec_salt_wrapped  the ext-salt comes as AuthMoreData (0x01 prefix)
  parsec_short_scramble  the switch carries 20 bytes and a NUL (a native
                       scramble) instead of 32
  parsec_short_salt    the ext-salt has 17 salt bytes (19 in all)
  parsec_long_salt     the ext-salt has 32 salt bytes (34 in all)
  parsec_factor4       the ext-salt asks for factor 4 (16384 iterations)
  parsec_factor255     the ext-salt asks for factor 255
  parsec_unknown_kdf   the ext-salt's algorithm is 'S', not 'P'
  parsec_proof         over TLS: the parsec exchange, and the OK's proof of
                       the certificate made with the account's ext-salt
                       and public key, as MariaDB 11.6+ makes it
  parsec_proof_other_salt  the same, the proof made with another salt
  ed25519_vector       auth switch to client_ed25519 with the nonce of
                       ed25519-t.c; user "u", password "foobar"
  ed25519_short_nonce  auth switch to client_ed25519 with a 20-byte nonce
                       and a NUL
  ed25519_proof        over TLS (the sandbox's server-cert.pem, from
                       $MYLUA_TLS_CERTS): a switch to client_ed25519 with a
                       random nonce, and the OK's proof of the certificate
                       made with FOOBAR_PK, as MariaDB 11.4+ makes it
  ed25519_proof_other_key  the same, the proof made with another key

Lines printed: `client_plugin=NAME` (the plugin of the handshake
response), `salt_request=N` (bytes of the packet after the switch),
`response=N` (bytes of the client's signed response), `client_scramble=HEX`,
`signature=match|mismatch` (ed25519_vector), `tls=ok`, `auth=ok|denied`,
`client_gone=yes` when the client hung up instead of answering, and
`done`.
"""

import base64
import ctypes
import ctypes.util
import hashlib
import os
import re
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeserver as fs  # noqa: E402

VERSION = b"11.8.2-MariaDB\x00"
PARSEC_PASSWORD = b"MyPassword123!"
PARSEC_SALT = base64.b64decode("lhXyNv1cIxpB8EnTxR7ON7S7")
PARSEC_PK = base64.b64decode("1l3rWRW1/jw45yrvYXB8eh02wzk7lcJcz4CMcWw2b+8=")
SALT_LEN = 18
SCRAMBLE_LEN = 32

FOOBAR_PK = bytes([
    170, 253, 166, 27, 161, 214, 10, 236, 183, 217, 41, 91, 231, 24, 85, 225,
    49, 210, 181, 236, 13, 207, 101, 72, 53, 83, 219, 130, 79, 151, 0, 159])
FOOBAR_SIGNATURE = bytes([
    232, 61, 201, 63, 67, 63, 51, 53, 86, 73, 238, 35, 170, 117, 146, 214,
    26, 17, 35, 9, 8, 132, 245, 141, 48, 99, 66, 58, 36, 228, 48, 84, 115,
    254, 187, 168, 88, 162, 249, 57, 35, 85, 79, 238, 167, 106, 68, 117, 56,
    135, 171, 47, 20, 14, 133, 79, 15, 229, 124, 160, 176, 100, 138, 14])
FOOBAR_NONCE = b"A" * 32

ER_ACCESS_DENIED = 1045
ER_NET_PACKETS_OUT_OF_ORDER = 1156


def sodium():
    lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
    if lib.sodium_init() < 0:
        raise RuntimeError("sodium_init failed")
    return lib


def ed25519_verify(pk, signature, message):
    return sodium().crypto_sign_verify_detached(
        signature, message, ctypes.c_ulonglong(len(message)), pk) == 0


def parsec_public_key(password, salt, factor):
    """The public key the server stores: Ed25519 with the PBKDF2 seed."""
    seed = hashlib.pbkdf2_hmac("sha512", password, salt, 1024 << factor, 32)
    pk = ctypes.create_string_buffer(32)
    sk = ctypes.create_string_buffer(64)
    if sodium().crypto_sign_seed_keypair(pk, sk, seed) != 0:
        raise RuntimeError("crypto_sign_seed_keypair failed")
    return pk.raw


class Login:
    """The connection phase up to the auth switch, with strict sequence ids."""

    def __init__(self, conn, tls=False):
        self.conn = conn
        self.scramble = fs.new_scramble()
        if tls:
            fs.SERVER_CAPS |= fs.CLIENT_SSL
        conn.send(fs.packet(0, fs.greeting(self.scramble, version=VERSION)))
        if tls:
            start_tls(conn)
        seq, payload = conn.read_packet()
        caps, self.user, _, plugin = fs.parse_handshake_response(payload)
        conn.client_caps = caps
        fs.report("client_plugin=" + plugin.decode("ascii", "replace"))
        self.seq = seq + 1

    def send(self, payload):
        self.conn.send(fs.packet(self.seq, payload))
        self.seq += 1

    def read(self):
        """The client's next packet, or None when it hung up."""
        try:
            seq, payload = self.conn.read_packet()
        except fs.Closed:
            return None
        if seq != self.seq & 0xFF:
            self.send(fs.err_payload(ER_NET_PACKETS_OUT_OF_ORDER, b"08S01",
                                     b"Got packets out of order"))
            raise fs.Closed("out of order")
        self.seq += 1
        return payload

    def switch(self, plugin, data):
        self.send(b"\xfe" + plugin + b"\x00" + data)

    def read_answer(self):
        payload = self.read()
        if payload is None:
            fs.report("client_gone=yes")
            raise fs.Closed("client hung up")
        return payload

    def verdict(self, ok, info=b""):
        if ok and self.user == fs.USER:
            fs.report("auth=ok")
            self.send(fs.ok_payload(info=info))
        else:
            fs.report("auth=denied")
            self.send(fs.err_payload(
                ER_ACCESS_DENIED, b"28000", b"Access denied for user '"
                + self.user + b"'@'localhost' (using password: YES)"))
            raise fs.Closed("denied")


def parsec_login(conn, ext_salt, pk, scramble_data=None, wrap=False, proof_hash=None):
    """The parsec exchange; ext_salt is what the peer sends, pk the key it
    verifies with.  proof_hash: over TLS, the OK carries the proof made with
    it (the server's is ext_salt + pk, as Connector/C's hash_password)."""
    login = Login(conn, tls=proof_hash is not None)
    server_scramble = os.urandom(SCRAMBLE_LEN)
    login.switch(b"parsec", scramble_data or server_scramble)
    request = login.read_answer()
    fs.report("salt_request=%d" % len(request))
    if request:   # MariaDB: anything but an empty packet is an error
        login.verdict(False)
    login.send((b"\x01" if wrap else b"") + ext_salt)
    response = login.read_answer()
    fs.report("response=%d" % len(response))
    if len(response) != SCRAMBLE_LEN + 64:
        login.verdict(False)
    client_scramble, signature = response[:SCRAMBLE_LEN], response[SCRAMBLE_LEN:]
    fs.report("client_scramble=" + client_scramble.hex())
    info = proof(proof_hash, login.scramble) if proof_hash else b""
    login.verdict(ed25519_verify(pk, signature, server_scramble + client_scramble), info)


def ed25519_login(conn, nonce, pk, proof_key=None):
    """proof_key: over TLS, the OK carries the proof made with this key."""
    login = Login(conn, tls=proof_key is not None)
    login.switch(b"client_ed25519", nonce)
    signature = login.read_answer()
    fs.report("response=%d" % len(signature))
    if nonce == FOOBAR_NONCE:
        fs.report("signature=" + ("match" if signature == FOOBAR_SIGNATURE else "mismatch"))
    info = proof(proof_key, login.scramble) if proof_key else b""
    login.verdict(len(signature) == 64 and ed25519_verify(pk, signature, nonce), info)


def start_tls(conn):
    """The SSL request (sequence 1, 32 bytes), then the TLS handshake with
    the sandbox's server certificate, which the client is not told to
    trust: it waits for the server's proof."""
    seq, payload = conn.read_packet()
    if seq != 1 or len(payload) != 32:
        raise fs.Closed("no SSL request")
    certs = os.environ["MYLUA_TLS_CERTS"]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(certs, "server-cert.pem"),
                        os.path.join(certs, "server-key.pem"))
    try:
        conn.sock = ctx.wrap_socket(conn.sock, server_side=True)
    except (ssl.SSLError, OSError) as e:
        raise fs.Closed("TLS handshake: %s" % e)
    fs.report("tls=ok")


def proof(password_hash, scramble):
    """The OK's info of MariaDB 11.4+ (MDEV-31855): 0x01 and the upper-case
    hex of SHA-256(password hash, scramble, SHA-256(certificate DER)).  The
    scramble is the server's thd->scramble: the greeting's, which a switch
    to client_ed25519 or parsec leaves as it was (Connector/C's
    scramble_buff likewise changes only in mysql_native_password)."""
    with open(os.path.join(os.environ["MYLUA_TLS_CERTS"], "server-cert.pem")) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    digest = hashlib.sha256(password_hash + scramble + hashlib.sha256(der).digest())
    return b"\x01" + digest.hexdigest().upper().encode()


def answer_current_user(conn, sql, n):
    if b"CURRENT_USER()" in sql.upper():
        alias = re.search(rb"\bAS\s+(\w+)", sql, re.IGNORECASE)
        name = alias.group(1) if alias else b"CURRENT_USER()"
        col = fs.column_def(name, fs.TYPE_VAR_STRING, fs.UTF8MB4_GENERAL_CI, 1140, 1)
        conn.send_packets(1, conn.result_payloads([col], [[fs.USER + b"@%"]]))
    else:
        fs.answer_select_one(conn, sql, n)


def ext_salt(factor=0, salt=PARSEC_SALT, kdf=b"P"):
    return kdf + bytes([factor]) + salt


FACTOR3_SALT = bytes(range(1, SALT_LEN + 1))

SCENARIOS = {
    "parsec": lambda c: parsec_login(c, ext_salt(), PARSEC_PK),
    "parsec_factor3": lambda c: parsec_login(
        c, ext_salt(3, FACTOR3_SALT), parsec_public_key(PARSEC_PASSWORD, FACTOR3_SALT, 3)),
    "parsec_salt_wrapped": lambda c: parsec_login(c, ext_salt(), PARSEC_PK, wrap=True),
    "parsec_short_scramble": lambda c: parsec_login(
        c, ext_salt(), PARSEC_PK, scramble_data=fs.new_scramble() + b"\x00"),
    "parsec_short_salt": lambda c: parsec_login(c, ext_salt()[:-1], PARSEC_PK),
    "parsec_long_salt": lambda c: parsec_login(c, b"P\x00" + os.urandom(32), PARSEC_PK),
    "parsec_factor4": lambda c: parsec_login(c, ext_salt(4), PARSEC_PK),
    "parsec_factor255": lambda c: parsec_login(c, ext_salt(255), PARSEC_PK),
    "parsec_unknown_kdf": lambda c: parsec_login(c, ext_salt(kdf=b"S"), PARSEC_PK),
    "parsec_proof": lambda c: parsec_login(c, ext_salt(), PARSEC_PK,
                                           proof_hash=ext_salt() + PARSEC_PK),
    "parsec_proof_other_salt": lambda c: parsec_login(
        c, ext_salt(), PARSEC_PK, proof_hash=ext_salt(0, FACTOR3_SALT) + PARSEC_PK),
    "ed25519_vector": lambda c: ed25519_login(c, FOOBAR_NONCE, FOOBAR_PK),
    "ed25519_short_nonce": lambda c: ed25519_login(c, fs.new_scramble() + b"\x00", FOOBAR_PK),
    "ed25519_proof": lambda c: ed25519_login(c, os.urandom(32), FOOBAR_PK, FOOBAR_PK),
    "ed25519_proof_other_key": lambda c: ed25519_login(c, os.urandom(32), FOOBAR_PK, PARSEC_PK),
}


def run(scenario, conn):
    if scenario not in SCENARIOS:
        raise SystemExit("unknown scenario: " + scenario)
    SCENARIOS[scenario](conn)
    fs.serve(conn, answer_current_user)


if __name__ == "__main__":
    fs.run = run
    sys.exit(fs.main())
