#!/usr/bin/env python3
"""Drives a program on a pseudo-terminal, for the specs of the host's prompt.

    pty_session.py [--timeout SECONDS] -- program [args...]  < steps

Each line of the steps is one of (payloads in hex, so any byte fits):

    send HEX      write the bytes to the terminal (a key press, "\\r" for Enter)
    expect HEX    wait until the output since the last expect matches the
                  regular expression (bytes, DOTALL)
    wait          wait for the program to exit
    pause HEX     keep reading the output for that many seconds (a decimal
                  number), e.g. to let a statement reach the server

The transcript (everything the program wrote to the terminal) goes to
stdout, followed by a last line "<<exit N>>" (N: the exit status, or
128 + the signal; "<<exit running>>" when no wait step asked for it).  Every
wait is bounded: past the timeout (default 10 s, for the whole session) the
program is killed, the reason and the transcript so far go to stderr, and the
exit status is 3.  Only the standard library is used.
"""
import errno
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time


def fail(message, transcript, pid):
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
    sys.stderr.write("pty_session: %s\n--- transcript ---\n" % message)
    sys.stderr.write(transcript.decode("utf-8", "replace"))
    sys.stderr.write("\n--- end ---\n")
    sys.exit(3)


def main():
    args = sys.argv[1:]
    timeout = 10.0
    if len(args) >= 2 and args[0] == "--timeout":
        timeout = float(args[1])
        args = args[2:]
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        sys.stderr.write("usage: pty_session.py [--timeout S] -- program [args...] < steps\n")
        sys.exit(2)
    steps = [line.split() for line in sys.stdin.read().splitlines() if line.strip()]

    pid, fd = pty.fork()
    if pid == 0:
        try:
            # as started from an interactive shell, whatever this driver
            # inherited (a background start ignores SIGINT)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            os.execvp(args[0], args)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    deadline = time.monotonic() + timeout
    transcript = b""
    mark = 0  # where the next expect starts looking
    status = None

    def read_some(wait):
        """Reads what is there within `wait` seconds: "data", "none" or
        "end" (the program closed the terminal)."""
        nonlocal transcript
        ready, _, _ = select.select([fd], [], [], max(0.0, wait))
        if not ready:
            return "none"
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                return "end"
            raise
        if not data:
            return "end"
        transcript += data
        return "data"

    for step in steps:
        kind = step[0]
        payload = bytes.fromhex(step[1]) if len(step) > 1 else b""
        if kind == "send":
            os.write(fd, payload)
        elif kind == "expect":
            pattern = re.compile(payload, re.DOTALL)
            while True:
                found = pattern.search(transcript, mark)
                if found:
                    mark = found.end()
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("timed out waiting for %r" % payload, transcript, pid)
                if read_some(left) == "end":
                    if not pattern.search(transcript, mark):
                        fail("the program ended before %r" % payload, transcript, pid)
        elif kind == "pause":
            until = time.monotonic() + float(payload.decode())
            while time.monotonic() < until and status is None:
                if read_some(until - time.monotonic()) == "end":
                    break
        elif kind == "wait":
            while status is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("timed out waiting for the program to exit", transcript, pid)
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(st)
                    if status < 0:
                        status = 128 - status
                    break
                read_some(min(left, 0.05))
            while read_some(0) == "data":  # what is left in the terminal
                pass
        else:
            fail("unknown step %r" % kind, transcript, pid)

    if status is None:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
    os.close(fd)
    sys.stdout.buffer.write(transcript)
    sys.stdout.buffer.write(b"\n<<exit %s>>\n" % (b"running" if status is None else str(status).encode()))


if __name__ == "__main__":
    main()
