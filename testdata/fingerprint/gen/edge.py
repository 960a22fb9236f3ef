# Hand-built edge-case SYNs for proxytrace's fingerprint tests; expected output is p0f -r's.
import sys, struct; import os; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); from mk import *
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'exp1.py')).read().split("pcap(P")[0].split("from mk import *")[1])
def synopt(sport, ipopts, opts):
    p=bytearray(syn(sport, opts))
    ip=p[14:34]; rest=p[34:]
    ihl=5+len(ipopts)//4
    ip[0]=0x40|ihl; tl=ihl*4+len(rest); ip[2:4]=struct.pack('!H',tl); ip[10:12]=b'\0\0'
    hdr=bytes(ip)+ipopts; hdr=hdr[:10]+struct.pack('!H',csum(hdr))+hdr[12:]
    return bytes(p[:14])+hdr+bytes(rest)
M=b'\x02\x04\x05\xb4'
P.append(synopt(1030, b'\x94\x04\x00\x00', M))            # router alert: olen 4
P.append(synopt(1031, b'\x01\x01\x01\x00'*2, M+b'\x01\x03\x03\x08'))  # olen 8
P.append(syn(1032, b'\x02\x04\x05\xb4\x01\x03\x03\x06\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00\x04\x02\x00\x00', win=65535))  # macOS-like
P.append(syn(1033, b'\x02\x04\x05\xb4', ack=0x01020304, flags=0x02))
P.append(syn(1034, b'\x02\x04\x05\xb4\x03'))  # ws truncated by header end (padded with 0s -> ws len 0?)
P.append(syn(1035, b'\x02\x04\x05\xb4\x05\x0a\x00\x00'))  # sack running past end
P.append(syn(1036, b'\x02\x03\x05\xb4'))  # mss len 3
P.append(syn(1037, b'\x02\x04\x05\xb4\xfe\x29'+b'\0'*2))  # unknown len 41
P.append(syn(1038, b'\x02\x04\x05\xb4\x00\x00\x00\x00'+b'\x00\x07\x00\x00'))  # eol+7, nonzero middle
pcap(P, sys.argv[1])
