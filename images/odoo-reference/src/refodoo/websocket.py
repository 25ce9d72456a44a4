"""The gevent/longpolling port (8072): `/websocket` speaks RFC 6455 and echoes
what it receives; `/longpolling/poll` answers an empty poll. Written by hand
because it is small and the image installs nothing from pip."""
import base64
import hashlib
import json
import logging
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_logger = logging.getLogger('odoo.addons.bus.websocket')
GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
MAX_MESSAGE = 16 << 20
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def accept_key(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def frame(opcode, payload=b''):
    """A server frame: FIN set, never masked."""
    n = len(payload)
    if n < 126:
        head = struct.pack('!BB', 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack('!BBH', 0x80 | opcode, 126, n)
    else:
        head = struct.pack('!BBQ', 0x80 | opcode, 127, n)
    return head + payload


def unmask(data, mask):
    # XOR as one big integer: fast in CPython, unlike a per-byte loop.
    n = len(data)
    if n == 0:
        return data
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, 'big') ^ int.from_bytes(key, 'big')).to_bytes(n, 'big')


class Closed(Exception):
    pass


class Connection:
    def __init__(self, sock, stopping):
        self.sock, self.stopping = sock, stopping
        self.buf = b''
        self.send_lock = threading.Lock()
        # Short reads let the loop notice a stop; partial frames stay in self.buf.
        sock.settimeout(1.0)

    def send(self, opcode, payload=b''):
        with self.send_lock:
            self.sock.sendall(frame(opcode, payload))

    def _read(self, n):
        while len(self.buf) < n:
            if self.stopping.is_set():
                raise Closed(1001)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise Closed(None)
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_frame(self):
        b1, b2 = self._read(2)
        fin, opcode, masked, n = b1 & 0x80, b1 & 0x0F, b2 & 0x80, b2 & 0x7F
        if n == 126:
            n = struct.unpack('!H', self._read(2))[0]
        elif n == 127:
            n = struct.unpack('!Q', self._read(8))[0]
        if not masked:
            raise Closed(1002)  # clients must mask (RFC 6455 5.1)
        if n > MAX_MESSAGE:
            raise Closed(1009)
        mask = self._read(4)
        return bool(fin), opcode, unmask(self._read(n), mask)

    def serve(self):
        message, message_op = b'', None
        try:
            while True:
                fin, opcode, data = self.read_frame()
                if opcode == OP_CLOSE:
                    self.send(OP_CLOSE, data[:2])
                    return
                if opcode == OP_PING:
                    self.send(OP_PONG, data)
                    continue
                if opcode == OP_PONG:
                    continue
                if opcode in (OP_TEXT, OP_BINARY):
                    message, message_op = data, opcode
                elif opcode == OP_CONT and message_op is not None:
                    message += data
                else:
                    raise Closed(1002)
                if len(message) > MAX_MESSAGE:
                    raise Closed(1009)
                if fin:
                    if message_op == OP_TEXT:
                        message.decode('utf-8')  # invalid UTF-8 → UnicodeDecodeError → close 1007
                    self.send(message_op, message)
                    message, message_op = b'', None
        except Closed as exc:
            if exc.args[0] is not None:
                self._close(exc.args[0])
        except UnicodeDecodeError:
            self._close(1007)
        except OSError:
            pass

    def _close(self, code):
        try:
            self.send(OP_CLOSE, struct.pack('!H', code))
        except OSError:
            pass


class Handler(BaseHTTPRequestHandler):
    server_version = 'refodoo'

    def version_string(self):
        return self.server_version
    protocol_version = 'HTTP/1.1'
    timeout = 60
    # Unbuffered reads: after the handshake the socket is read directly, so no
    # frame bytes may be left behind in a buffer of the HTTP parser.
    rbufsize = 0

    def _send(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == '/websocket':
            return self.upgrade()
        if path in ('/longpolling/poll', '/longpolling/im/poll'):
            return self._send(200, {'jsonrpc': '2.0', 'id': None, 'result': []})
        return self._send(404, {'error': 'not found'})

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)
        path = urlsplit(self.path).path
        if path in ('/longpolling/poll', '/longpolling/im/poll'):
            return self._send(200, {'jsonrpc': '2.0', 'id': None, 'result': []})
        return self._send(404, {'error': 'not found'})

    def upgrade(self):
        key = self.headers.get('Sec-WebSocket-Key')
        wants = 'websocket' in (self.headers.get('Upgrade') or '').lower()
        if not wants or not key or 'upgrade' not in (self.headers.get('Connection') or '').lower():
            return self._send(400, {'error': 'Expected a websocket upgrade request'})
        if self.headers.get('Sec-WebSocket-Version') != '13':
            return self._send(426, {'error': 'Unsupported websocket version'})
        self.send_response(101)
        self.send_header('Upgrade', 'websocket')
        self.send_header('Connection', 'Upgrade')
        self.send_header('Sec-WebSocket-Accept', accept_key(key))
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        conn = Connection(self.connection, self.server.stopping)
        self.server.track(conn, True)
        try:
            conn.serve()
        finally:
            self.server.track(conn, False)

    def log_request(self, code='-', size='-'):
        logging.getLogger('werkzeug').info('%s - - "%s" %s %s', self.address_string(), self.requestline, code, size)

    def log_message(self, fmt, *args):
        _logger.debug(fmt, *args)


class Server(ThreadingHTTPServer):
    # Websockets live long: their threads are not joined, they are told to close.
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr):
        super().__init__(addr, Handler)
        self.stopping = threading.Event()
        self.conns, self.conns_lock = set(), threading.Lock()

    def track(self, conn, add):
        with self.conns_lock:
            (self.conns.add if add else self.conns.discard)(conn)

    def stop(self):
        """Close every websocket with 1001 (going away), then stop listening."""
        self.stopping.set()
        with self.conns_lock:
            conns = list(self.conns)
        for conn in conns:
            conn._close(1001)
        self.shutdown()
        self.server_close()
