#!/usr/bin/env python3
"""A scripted MySQL 8.0 peer for spec/61-auth_sha2_spec.lua: the SHA-256
authentication plugins, byte for byte as MySQL 8.0's server speaks them
(sql/auth/sha2_password.cc, sql_authentication.cc).

Usage: mysql8peer.py DIR CERTDIR

DIR is a private directory the spec made; CERTDIR holds scripts/test-certs'
files (server-cert.pem and server-key.pem serve TLS).  At start the peer
makes its RSA key pairs with the openssl command-line tool: DIR/public.pem
(2048 bits, what the server sends when asked, as MySQL's
caching_sha2_password_public_key_path) and DIR/small-public.pem (512 bits).
It listens on 127.0.0.1 (the port is the first line on stdout) and on the
Unix socket DIR/mysqld.sock, and serves every connection in a thread of its
own until it is killed (or after LIFETIME seconds).

At each accepted connection it reads DIR/ctl, `key=value` lines:
  tag=T          prefix of the connection's log lines (DIR/log: `T key=value`)
  greeting=P     the plugin the greeting names (default caching_sha2_password;
                 mysql_native_password makes a caching_sha2 account switch)
  tls=0|1        whether the greeting offers CLIENT_SSL (default 1)
  scramble=fixed the greeting's scramble is "ABCDEFGHIJKLMNOPQRST" (else random)
  cache=empty|full, cache_epoch=N
                 the server's caching_sha2 cache is emptied (or filled with
                 every account) once per new epoch
  hostile=NAME   misbehave (below)

Accounts (user: plugin, password):
  sha2: caching_sha2_password, "sha2-secret"
  sha2_empty: caching_sha2_password, ""
  sha2_long: caching_sha2_password, 40 "x"
  sha256: sha256_password, "sha256-secret"
  sha256_empty: sha256_password, ""
  native: mysql_native_password, "native-secret"

As MySQL 8.0: when the client's plugin is not the account's, an auth switch
(0xFE, plugin, a new 20-byte scramble and a NUL).  caching_sha2_password:
an empty answer or a single 0x00 means no password; a 32-byte token is
checked against the cache (SHA256(SHA256(password)) by account): a match
gets AuthMoreData 0x03 then OK, anything else 0x04 (perform full
authentication); then over TLS or the Unix socket the password arrives in
clear with its NUL, over plain TCP a 0x02 asks for the public key
(AuthMoreData 0x01 + PEM) and the password arrives RSA-OAEP encrypted (256
bytes), XORed with the scramble; a correct one fills the cache.
sha256_password: a single 0x00 is no password; over TLS the password in
clear, elsewhere (the Unix socket too) 0x01 asks for the key, then RSA.
Decryption is `openssl pkeyutl -decrypt -pkeyopt rsa_padding_mode:oaep`.
A wrong password: ERR 1045 (28000) "Access denied for user ...".  After
the OK: COM_QUERY `SELECT CURRENT_USER()` (user@localhost), `SHOW STATUS
LIKE 'peer_auth_path'` (how the login went, e.g. "caching_sha2_password
fast", "caching_sha2_password full rsa"), `SHOW STATUS LIKE 'Ssl_cipher'`,
`SELECT 1`; other queries get ERR 1064; COM_PING OK; COM_QUIT ends.

Logged: transport=tcp|tls|socket, login=USER, client_plugin=P,
switch=P, token_hex=HEX (a caching_sha2 token), fast_auth=hit|miss,
key_request=1, full_auth=clear|rsa|rsa_bad_length|no_nul, rsa_plain_len=N,
password_seen=0|1 (whether the account's password appeared in any byte the
client sent before the verdict, or before it went away), auth=ok|denied
(auth=none when the client went away while logging in), query=SQL, quit=1,
client_closed=1, done.

Hostile scenarios (hostile=):
  garbage_pem   the key request is answered by a PEM frame around junk
  huge_pem      ... by 20000 bytes of PEM-looking text
  small_key     ... by the 512-bit public key
  bad_status    the token is answered by AuthMoreData 0x07
  empty_more    the token is answered by an AuthMoreData without payload
  truncated     the token is answered by a header declaring 100 bytes, then
                two bytes, then the connection is closed
  double_fast   0x03, then 0x03 again instead of the OK
  short_switch  the greeting names mysql_native_password; the switch to
                caching_sha2_password carries a 10-byte scramble
"""

import hashlib
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import signal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeserver as fs  # noqa: E402

SERVER_VERSION = b"8.0.36"
LIFETIME = 600
UTF8MB4_0900_AI_CI = 255

CLIENT_ODBC = 1 << 6
CLIENT_IGNORE_SPACE = 1 << 8
CLIENT_INTERACTIVE = 1 << 10
CLIENT_IGNORE_SIGPIPE = 1 << 12
CLIENT_RESERVED = 1 << 14
CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS = 1 << 22
CLIENT_SESSION_TRACK = 1 << 23
CLIENT_QUERY_ATTRIBUTES = 1 << 27

# What MySQL 8.0 offers (without compression, which this peer does not speak)
MYSQL8_CAPS = (fs.CLIENT_LONG_PASSWORD | fs.CLIENT_FOUND_ROWS | fs.CLIENT_LONG_FLAG
               | fs.CLIENT_CONNECT_WITH_DB | CLIENT_ODBC | fs.CLIENT_LOCAL_FILES
               | CLIENT_IGNORE_SPACE | fs.CLIENT_PROTOCOL_41 | CLIENT_INTERACTIVE
               | CLIENT_IGNORE_SIGPIPE | fs.CLIENT_TRANSACTIONS | CLIENT_RESERVED
               | fs.CLIENT_SECURE_CONNECTION | fs.CLIENT_MULTI_STATEMENTS
               | fs.CLIENT_MULTI_RESULTS | fs.CLIENT_PS_MULTI_RESULTS
               | fs.CLIENT_PLUGIN_AUTH | fs.CLIENT_CONNECT_ATTRS
               | fs.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
               | CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS | CLIENT_SESSION_TRACK
               | fs.CLIENT_DEPRECATE_EOF | CLIENT_QUERY_ATTRIBUTES)

CACHING_SHA2 = b"caching_sha2_password"
SHA256 = b"sha256_password"
NATIVE = b"mysql_native_password"

ACCOUNTS = {
    b"sha2": (CACHING_SHA2, b"sha2-secret"),
    b"sha2_empty": (CACHING_SHA2, b""),
    b"sha2_long": (CACHING_SHA2, b"x" * 40),
    b"sha256": (SHA256, b"sha256-secret"),
    b"sha256_empty": (SHA256, b""),
    b"native": (NATIVE, b"native-secret"),
}

FIXED_SCRAMBLE = b"ABCDEFGHIJKLMNOPQRST"
REQUEST_PUBLIC_KEY_SHA2 = b"\x02"
REQUEST_PUBLIC_KEY_SHA256 = b"\x01"
FAST_AUTH_SUCCESS = b"\x03"
PERFORM_FULL_AUTHENTICATION = b"\x04"


def sha256(data):
    return hashlib.sha256(data).digest()


def xor(data, pattern):
    return bytes(b ^ pattern[i % len(pattern)] for i, b in enumerate(data))


def caching_sha2_token(password, scramble):
    """The client's token by MySQL's documented formula:
    XOR(SHA256(password), SHA256(SHA256(SHA256(password)), nonce))."""
    stage1 = sha256(password)
    return xor(stage1, sha256(sha256(stage1) + scramble))


def fast_auth_matches(token, scramble, cached):
    """The server's check, which never sees the password: the cache holds
    SHA256(SHA256(pw)); token XOR SHA256(cached + scramble) must be SHA256(pw),
    whose SHA256 is the cached value."""
    if len(token) != 32:
        return False
    candidate = xor(token, sha256(cached + scramble))
    return sha256(candidate) == cached


def self_test():
    """Fixed vectors, computed from the formula with the openssl tool
    (`openssl dgst -sha256` at each stage, XOR apart), that the peer's own
    functions must reproduce before it serves anyone."""
    vectors = [
        (b"sha2-secret", FIXED_SCRAMBLE,
         "19b347668f2e9b61b00b86afad86443b2db98321611549924dda8387e102f5a5"),
        (b"secret", FIXED_SCRAMBLE,
         "d721e183c1f036a196c1389201b8d53f38064a16f1d0923683ab886763152d75"),
        (b"x", b"01234567890123456789",
         "8d7ee693a6e5747dc86f964acee5010405f2d15da5990402015cd2b041ae6584"),
    ]
    for password, scramble, expected in vectors:
        got = caching_sha2_token(password, scramble).hex()
        if got != expected:
            raise SystemExit("caching_sha2 vector for %r: %s, expected %s"
                             % (password, got, expected))
        if not fast_auth_matches(bytes.fromhex(expected), scramble,
                                 sha256(sha256(password))):
            raise SystemExit("fast auth check rejects the vector")


# -- shared state --------------------------------------------------------------

class State:
    def __init__(self, directory, certdir):
        self.dir = directory
        self.certdir = certdir
        self.lock = threading.Lock()
        self.cache = {}
        self.cache_epoch = None

    def path(self, name):
        return os.path.join(self.dir, name)

    def read_ctl(self):
        ctl = {"greeting": CACHING_SHA2.decode(), "tls": "1", "tag": "-",
               "hostile": "", "scramble": "random"}
        try:
            with open(self.path("ctl")) as f:
                for line in f:
                    if "=" in line:
                        k, v = line.rstrip("\n").split("=", 1)
                        ctl[k] = v
        except OSError:
            pass
        with self.lock:
            epoch = ctl.get("cache_epoch")
            if epoch is not None and epoch != self.cache_epoch:
                self.cache_epoch = epoch
                if ctl.get("cache") == "full":
                    self.cache = {u: sha256(sha256(pw)) for u, (plugin, pw)
                                  in ACCOUNTS.items() if plugin == CACHING_SHA2 and pw}
                else:
                    self.cache = {}
        return ctl

    def log(self, tag, line):
        with self.lock:
            with open(self.path("log"), "a") as f:
                f.write("%s %s\n" % (tag, line))

    def cached(self, user):
        with self.lock:
            return self.cache.get(user)

    def remember(self, user, password):
        with self.lock:
            self.cache[user] = sha256(sha256(password))


def make_keys(state):
    for name, bits in (("", 2048), ("small-", 512)):
        private = state.path(name + "private.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:%d" % bits, "-out", private],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out",
                        state.path(name + "public.pem")], check=True, capture_output=True)


def rsa_decrypt(state, cipher):
    """What the server's decrypt_RSA_private_key does (OAEP), or None."""
    with tempfile.NamedTemporaryFile(dir=state.dir) as f:
        f.write(cipher)
        f.flush()
        r = subprocess.run(["openssl", "pkeyutl", "-decrypt", "-inkey",
                            state.path("private.pem"), "-pkeyopt",
                            "rsa_padding_mode:oaep", "-in", f.name],
                           capture_output=True)
    return r.stdout if r.returncode == 0 else None


# -- one connection ------------------------------------------------------------

class Session:
    def __init__(self, state, sock, transport):
        self.state = state
        self.conn = fs.Conn(sock)
        self.ctl = state.read_ctl()
        self.tag = self.ctl["tag"]
        self.transport = transport  # tcp, socket; tls once upgraded
        self.received = []          # every payload the client sent while logging in
        self.seq = 0
        self.user = b""
        self.auth_path = ""

    def log(self, line):
        self.state.log(self.tag, line)

    def read(self):
        try:
            self.seq, payload = self.conn.read_packet()
        except fs.Closed:
            self.log("client_closed=1")
            self.verdict("none")
            raise
        self.received.append(payload)
        return payload

    def send(self, payload):
        self.seq += 1
        self.conn.send(fs.packet(self.seq, payload))

    def more_data(self, payload):
        self.send(b"\x01" + payload)

    def secure(self):
        return self.transport in ("tls", "socket")

    def greeting(self, scramble, plugin):
        caps = MYSQL8_CAPS | (fs.CLIENT_SSL if self.ctl["tls"] == "1" else 0)
        return (b"\x0a" + SERVER_VERSION + b"\x00" + (77).to_bytes(4, "little")
                + scramble[:8] + b"\x00" + (caps & 0xFFFF).to_bytes(2, "little")
                + bytes([UTF8MB4_0900_AI_CI])
                + fs.SERVER_STATUS_AUTOCOMMIT.to_bytes(2, "little")
                + (caps >> 16).to_bytes(2, "little") + bytes([21]) + b"\x00" * 10
                + scramble[8:] + b"\x00" + plugin + b"\x00")

    def start_tls(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.state.certdir, "server-cert.pem"),
                            os.path.join(self.state.certdir, "server-key.pem"))
        try:
            self.conn.sock = ctx.wrap_socket(self.conn.sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            raise fs.Closed("TLS handshake: %s" % e)
        self.transport = "tls"

    def deny(self, using_password=True):
        self.verdict("denied")
        self.send(fs.err_payload(1045, b"28000", b"Access denied for user '" + self.user
                                 + b"'@'localhost' (using password: "
                                 + (b"YES" if using_password else b"NO") + b")"))
        raise fs.Closed("access denied")

    def verdict(self, how):
        _, password = ACCOUNTS.get(self.user, (None, b""))
        seen = bool(password) and any(password in p for p in self.received)
        self.log("password_seen=%d" % seen)
        self.log("auth=%s" % how)

    def accept(self, path):
        self.auth_path = path
        self.verdict("ok")
        self.send(fs.ok_payload())

    def handshake(self):
        if self.ctl["scramble"] == "fixed":
            scramble = FIXED_SCRAMBLE
        else:
            scramble = fs.new_scramble()
        hostile = self.ctl["hostile"]
        greeting_plugin = self.ctl["greeting"].encode()
        if hostile == "short_switch":
            greeting_plugin = NATIVE
        self.conn.send(fs.packet(0, self.greeting(scramble, greeting_plugin)))
        payload = self.read()
        caps = int.from_bytes(payload[0:4], "little")
        if len(payload) == 32 and caps & fs.CLIENT_SSL:
            if self.ctl["tls"] != "1":
                raise fs.Closed("TLS asked of a server that did not offer it")
            self.start_tls()
            payload = self.read()
        self.log("transport=%s" % self.transport)
        try:
            caps, user, auth, client_plugin = fs.parse_handshake_response(payload)
        except (ValueError, IndexError):
            self.send(fs.err_payload(1043, b"08S01", b"Bad handshake"))
            raise fs.Closed("malformed handshake response")
        self.conn.client_caps = caps
        self.user = user
        self.log("login=%s" % user.decode(errors="replace"))
        self.log("client_plugin=%s" % client_plugin.decode(errors="replace"))
        if user not in ACCOUNTS:
            self.deny(bool(auth))
        plugin, password = ACCOUNTS[user]
        if client_plugin != plugin:
            scramble = fs.new_scramble()
            self.log("switch=%s" % plugin.decode())
            sent = scramble[:10] if hostile == "short_switch" else scramble
            self.send(b"\xfe" + plugin + b"\x00" + sent + b"\x00")
            auth = self.read()
        if plugin == NATIVE:
            if auth != fs.native_token(password, scramble):
                self.deny(bool(auth))
            self.accept("mysql_native_password")
        elif plugin == CACHING_SHA2:
            self.caching_sha2(auth, scramble, password)
        else:
            self.sha256_password(auth, scramble, password)

    # -- caching_sha2_password ------------------------------------------------

    def caching_sha2(self, auth, scramble, password):
        hostile = self.ctl["hostile"]
        if auth in (b"", b"\x00"):            # no password
            if password:
                self.deny(False)
            self.accept("caching_sha2_password empty")
            return
        self.log("token_hex=%s" % auth.hex())
        if len(auth) != 32:
            self.deny()
        if hostile == "bad_status":
            self.more_data(b"\x07")
            self.conn.hold()
            raise fs.Closed("hostile")
        if hostile == "empty_more":
            self.more_data(b"")
            self.conn.hold()
            raise fs.Closed("hostile")
        if hostile == "truncated":
            self.conn.send(fs.header(100, self.seq + 1) + b"\x01\x04")
            raise fs.Closed("hostile")
        cached = self.state.cached(self.user)
        if cached is not None and fast_auth_matches(auth, scramble, cached):
            self.log("fast_auth=hit")
            self.more_data(FAST_AUTH_SUCCESS)
            if hostile == "double_fast":
                self.more_data(FAST_AUTH_SUCCESS)
                self.conn.hold()
                raise fs.Closed("hostile")
            self.accept("caching_sha2_password fast")
            return
        self.log("fast_auth=miss")
        self.more_data(PERFORM_FULL_AUTHENTICATION)
        pkt = self.read()
        got = self.full_auth(pkt, scramble, REQUEST_PUBLIC_KEY_SHA2)
        if got != password:
            self.deny()
        self.state.remember(self.user, password)
        self.accept("caching_sha2_password full " + self.how)

    def full_auth(self, pkt, scramble, request):
        """The password the client sent after the full authentication
        request (or at once, for sha256_password), or None."""
        if self.secure() and not (request == REQUEST_PUBLIC_KEY_SHA256
                                  and self.transport == "socket"):
            self.how = "clear"
            if not pkt or pkt[-1] != 0:
                self.log("full_auth=no_nul")
                return None
            self.log("full_auth=clear")
            return pkt[:-1]
        if pkt == request:
            self.log("key_request=1")
            self.send_key()
            pkt = self.read()
        self.how = "rsa"
        if len(pkt) != 256:
            self.log("full_auth=rsa_bad_length")
            return None
        plain = rsa_decrypt(self.state, pkt)
        if plain is None:
            self.log("full_auth=rsa_undecryptable")
            return None
        plain = xor(plain, scramble)
        self.log("full_auth=rsa")
        self.log("rsa_plain_len=%d" % len(plain))
        return plain.split(b"\x00", 1)[0]

    def send_key(self):
        hostile = self.ctl["hostile"]
        if hostile == "garbage_pem":
            pem = b"-----BEGIN PUBLIC KEY-----\nnot*base64*at*all\n-----END PUBLIC KEY-----\n"
        elif hostile == "huge_pem":
            pem = (b"-----BEGIN PUBLIC KEY-----\n" + b"QUFB\n" * 4000
                   + b"-----END PUBLIC KEY-----\n")
        else:
            name = "small-public.pem" if hostile == "small_key" else "public.pem"
            with open(self.state.path(name), "rb") as f:
                pem = f.read()
        self.more_data(pem)

    # -- sha256_password ------------------------------------------------------

    def sha256_password(self, auth, scramble, password):
        if auth == b"\x00":
            if password:
                self.deny(False)
            self.accept("sha256_password empty")
            return
        got = self.full_auth(auth, scramble, REQUEST_PUBLIC_KEY_SHA256)
        if not password or got != password:
            self.deny()
        self.accept("sha256_password " + self.how)

    # -- commands --------------------------------------------------------------

    def text_result(self, names, rows):
        cols = [fs.column_def(n, fs.TYPE_VAR_STRING, fs.UTF8MB4_GENERAL_CI, 256, 0)
                for n in names]
        self.conn.send_packets(1, self.conn.result_payloads(cols, rows))

    def serve(self):
        while True:
            try:
                seq, payload = self.conn.read_packet()
            except fs.Closed:
                self.log("client_closed=1")
                return
            if not payload or payload[0] == fs.COM_QUIT:
                self.log("quit=1")
                return
            cmd, arg = payload[0], payload[1:]
            if cmd == fs.COM_PING:
                self.conn.send(fs.packet(1, fs.ok_payload()))
            elif cmd == fs.COM_QUERY:
                self.query(arg.decode(errors="replace").strip())
            else:
                self.conn.send(fs.packet(1, fs.err_payload(
                    1047, b"08S01", b"Unknown command")))

    def query(self, sql):
        # A client that took CLIENT_QUERY_ATTRIBUTES (mysql2 does) puts a
        # parameter count and a parameter set count before the text: with
        # no parameters, the bytes 00 01.
        if getattr(self.conn, "client_caps", 0) & CLIENT_QUERY_ATTRIBUTES and \
                sql.startswith("\x00\x01"):
            sql = sql[2:]
        self.log("query=%s" % sql)
        up = sql.upper()
        if up == "SELECT CURRENT_USER()":
            self.text_result([b"CURRENT_USER()"], [[self.user + b"@localhost"]])
        elif up == "SELECT 1":
            self.conn.send_packets(1, self.conn.select_one())
        elif up == "SHOW STATUS LIKE 'PEER_AUTH_PATH'":
            self.text_result([b"Variable_name", b"Value"],
                             [[b"peer_auth_path", self.auth_path.encode()]])
        elif up == "SHOW STATUS LIKE 'SSL_CIPHER'":
            cipher = self.conn.sock.cipher()[0] if self.transport == "tls" else ""
            self.text_result([b"Variable_name", b"Value"],
                             [[b"Ssl_cipher", cipher.encode()]])
        else:
            self.conn.send(fs.packet(1, fs.err_payload(
                1064, b"42000", b"You have an error in your SQL syntax")))


def serve_connection(state, sock, transport):
    session = None
    if transport == "tcp":
        # The fast path's AuthMoreData and OK go in two writes: with Nagle's
        # algorithm the OK would wait for the client's delayed ACK (40 ms).
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    try:
        session = Session(state, sock, transport)
        session.handshake()
        session.serve()
    except (fs.Closed, OSError, ValueError):
        pass
    try:
        sock.close()
        if session:
            session.conn.sock.close()
    except OSError:
        pass
    if session:
        session.log("done")


def accept_loop(state, listener, transport):
    while True:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve_connection, args=(state, sock, transport),
                         daemon=True).start()


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    self_test()
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
    signal.alarm(LIFETIME)
    state = State(sys.argv[1], sys.argv[2])
    make_keys(state)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(16)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock_path = state.path("mysqld.sock")
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    unix.bind(sock_path)
    unix.listen(16)
    threading.Thread(target=accept_loop, args=(state, unix, "socket"), daemon=True).start()
    fs.report(str(tcp.getsockname()[1]))
    accept_loop(state, tcp, "tcp")
    return 0


if __name__ == "__main__":
    sys.exit(main())
