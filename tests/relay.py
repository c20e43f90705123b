"""A TCP relay that tests cut or freeze to make a server unreachable for real, without touching it."""

import select
import socket
import threading
import time


class Relay:
    """Forwards 127.0.0.1:port to a server (PostgreSQL unless told) until cut, or holds its traffic while frozen."""

    def __init__(self, port, target=("127.0.0.1", 5432)):
        self.port, self.target = port, target
        self.sockets, self.listener, self.lock = [], None, threading.Lock()
        # While set, bytes stay where they are: the connections look open but nothing arrives,
        # as when a NAT or firewall silently drops a flow.
        self.frozen = threading.Event()

    def start(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut(self):
        with self.lock:
            listener, self.listener = self.listener, None
            sockets, self.sockets = self.sockets, []
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread, freeing the port
        listener.close()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, a, b):
        peers = {a: b, b: a}
        try:
            while True:
                if self.frozen.is_set():
                    time.sleep(0.01)
                    continue
                readable, _, _ = select.select([a, b], [], [], 0.05)
                if self.frozen.is_set():
                    continue
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # ValueError: cut() closed a socket under select()
            return
