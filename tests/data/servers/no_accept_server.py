# A server that accepts N connections and then never calls accept() again:
# its listen queue fills. Usage: no_accept_server.py PORT BACKLOG [N]
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(int(sys.argv[2]))
n = int(sys.argv[3]) if len(sys.argv) > 3 else 0
held = [s.accept()[0] for _ in range(n)]
while True: time.sleep(1)
