#!/usr/bin/env python3
"""Writes a MySQL login path file (.mylogin.cnf) as mysql_config_editor does,
from the documented format, for the specs (mysql_config_editor itself comes
with MySQL, which Debian does not package).

    mylogin_gen.py OUT < spec.json

spec.json:
    {"paths": [["client", {"user": "bob", "password": "p#w"}],
               ["backup", {"host": "db1", "port": "3307", "socket": "/s"}]],
     "quote": "escaped",      # or "editor", or "none" (see below)
     "lines": ["[client]", "user = x"],   # instead of paths: these lines as they are
     "key": "00112233...",    # 20 bytes in hex; default: random, as the editor's
     "mode": "600"}           # octal file mode, default 600

quote: "editor" writes `key = "value"` as MySQL 8's mysql_config_editor does
(the value as it is, in double quotes); "escaped" also writes backslash,
double quote, newline, tab, CR and backspace inside the value as option-file
escapes, so any value reads back exactly; "none" writes `key = value`.

The format: 4 zero bytes, the 20-byte key, then for each line (with its
newline) a 4-byte little-endian length and the line encrypted with
AES-128-ECB, PKCS#7 padding, under the key folded to 16 bytes (byte i XORed
into byte i % 16).  AES comes from the `openssl enc` command."""

import json
import os
import struct
import subprocess
import sys

ORDER = ("user", "password", "host", "socket", "port")


def fold(key20):
    key = bytearray(16)
    for i, b in enumerate(key20):
        key[i % 16] ^= b
    return bytes(key)


def encrypt(key16, plain):
    out = subprocess.run(
        ["openssl", "enc", "-aes-128-ecb", "-nosalt", "-K", key16.hex()],
        input=plain, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return out.stdout


ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b"}


def value_text(value, quote):
    if quote == "none":
        return value
    if quote == "escaped":
        value = "".join(ESCAPES.get(ch, ch) for ch in value)
    return '"' + value + '"'


def lines_of(spec):
    if "lines" in spec:
        return list(spec["lines"])
    quote = spec.get("quote", "escaped")
    lines = []
    for name, options in spec["paths"]:
        lines.append("[" + name + "]")
        keys = [k for k in ORDER if k in options] + sorted(k for k in options if k not in ORDER)
        for k in keys:
            lines.append(k + " = " + value_text(str(options[k]), quote))
    return lines


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: mylogin_gen.py OUT < spec.json")
    spec = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    key20 = bytes.fromhex(spec["key"]) if "key" in spec else bytes(b % 32 for b in os.urandom(20))
    if len(key20) != 20:
        sys.exit("the key must be 20 bytes")
    key16 = fold(key20)
    out = bytearray(b"\0\0\0\0" + key20)
    for line in lines_of(spec):
        cipher = encrypt(key16, (line + "\n").encode("utf-8"))
        out += struct.pack("<i", len(cipher)) + cipher
    path = sys.argv[1]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(out)
    os.chmod(path, int(spec.get("mode", "600"), 8))


if __name__ == "__main__":
    main()
