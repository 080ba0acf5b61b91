# Opens the known socket mix recorded in tests/data/netlink/mix.* (run inside a
# fresh netns: ip netns add X; ip -n X link set lo up; ip netns exec X python3 make_mix.py 7000 8).
# Base port B. IPv4: listen B, B+1, B+2; 5 connections to B and 3 to B+1 held
# (established both ends); 4 to B+2 closed client first (client time-wait); 2 to
# B+1 closed by the client only (client fin-wait-2, server close-wait).
# IPv6 [::1]: listen B and B+3; 3 held to B+3; 2 to B closed (time-wait).
# Dual stack: listen [::]:B+4; 2 IPv4 clients held (server ends are
# ::ffff:127.0.0.1, family AF_INET6). Then sleeps argv[2] seconds.
import socket, time, sys, os
socks=[]
def listen(fam, addr, port):
    s=socket.socket(fam, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind((addr,port)); s.listen(128); socks.append(s); return s
def conn(l, fam, addr, port, n, mode):
    for i in range(n):
        c=socket.socket(fam, socket.SOCK_STREAM); c.connect((addr,port)); a,_=l.accept()
        if mode=='est': socks.extend([c,a])
        elif mode=='tw': c.close(); time.sleep(0.01); a.close()
        elif mode=='half': c.close(); socks.append(a)
base=int(sys.argv[1])
la=listen(socket.AF_INET,'127.0.0.1',base); lb=listen(socket.AF_INET,'127.0.0.1',base+1); lc=listen(socket.AF_INET,'127.0.0.1',base+2)
l6a=listen(socket.AF_INET6,'::1',base); l6d=listen(socket.AF_INET6,'::1',base+3)
conn(la,socket.AF_INET,'127.0.0.1',base,5,'est'); conn(lb,socket.AF_INET,'127.0.0.1',base+1,3,'est')
conn(lc,socket.AF_INET,'127.0.0.1',base+2,4,'tw'); conn(lb,socket.AF_INET,'127.0.0.1',base+1,2,'half')
conn(l6d,socket.AF_INET6,'::1',base+3,3,'est')
l6m=listen(socket.AF_INET6,'::',base+4); conn(l6m,socket.AF_INET,'127.0.0.1',base+4,2,'est'); conn(l6a,socket.AF_INET6,'::1',base,2,'tw')
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
