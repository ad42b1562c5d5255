#!/usr/bin/python3
"""vigilctl genhash against Debian's keepalived genhash 2.2.7: the same digest for the same
responses (plain, a 404 page, chunked framing, a Content-Length shorter than the body, a header
Content-Length in another case, HTTPS with SNI), from canned servers on 127.0.0.1 in a network
namespace of its own. usage: genhash_parity.py VIGILCTL"""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

RESPONSES = {
    "plain": b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n",
    "not-found": b"HTTP/1.0 404 Not Found\r\n\r\n<html>gone</html>\n",
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "short-length": b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nhello world\n",
    "lower-length": b"HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nhello world\n",
}


def serve(listener, body, tls_context=None, rounds=2):
    """Answers `rounds` connections with `body` (each reads the request first), then closes."""
    for _ in range(rounds):
        conn, _ = listener.accept()
        conn.settimeout(10)
        if tls_context is not None:
            conn = tls_context.wrap_socket(conn, server_side=True)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        conn.sendall(body)
        conn.close()
    listener.close()


def digest(command):
    run = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    return run.returncode, run.stdout.strip().splitlines()[-1:] if run.stdout else []


def main():
    vigilctl = sys.argv[1]
    if os.environ.get("VIGIL_IN_NETNS") != "1":
        env = dict(os.environ, VIGIL_IN_NETNS="1")
        return subprocess.run(["unshare", "-n", "--", "sh", "-c",
                               'ip link set lo up && exec "$0" "$@"', sys.argv[0], vigilctl],
                              env=env, timeout=300, check=False).returncode
    failures = 0
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=www.example.org", "-keyout", key, "-out", cert],
                       capture_output=True, check=True, timeout=60)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        cases = [(name, body, None) for name, body in RESPONSES.items()]
        cases.append(("tls-sni", RESPONSES["plain"], tls))
        for name, body, context in cases:
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(4)
            port = str(listener.getsockname()[1])
            server = threading.Thread(target=serve, args=(listener, body, context), daemon=True)
            server.start()
            args = ["-s", "127.0.0.1", "-p", port, "-u", "/index.html"]
            if context is not None:
                args += ["-S", "-I", "-V", "www.example.org"]
            theirs = digest(["genhash"] + args)
            ours = digest([vigilctl, "genhash"] + args)
            server.join(timeout=30)
            checked += 1
            if theirs != ours or theirs[0] != 0 or len(theirs[1]) != 1 or len(theirs[1][0]) != 32:
                failures += 1
                print(f"FAIL {name}: genhash {theirs}, vigilctl genhash {ours}")
            else:
                print(f"ok {name}: {ours[1][0]}")
    print(f"{checked - failures}/{checked} responses give genhash's digest")
    return 1 if failures or checked != len(RESPONSES) + 1 else 0


if __name__ == "__main__":
    sys.exit(main())
