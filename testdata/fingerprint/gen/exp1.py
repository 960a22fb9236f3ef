import sys; import os; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); from mk import *
M=b'\x02\x04\x05\xb4'
P=[]
P.append(syn(1001, M, ack=0x00000001))   # ack low bit only
P.append(syn(1002, M, ack=0x01000000))   # ack top byte odd
P.append(syn(1003, M, ack=0x02000000))
P.append(syn(1004, M+b'\x00\x00\x00\x05'))  # eol, nonzero last byte
P.append(syn(1005, M+b'\x00\x00\x05\x00'))  # eol, nonzero middle
P.append(syn(1006, b'\x02\x00\x05\xb4'))  # mss len 0
P.append(syn(1007, b'\x01'*40))   # 40 nops
P.append(syn(1008, M, nsres=0x01))  # NS
P.append(syn(1009, M, nsres=0x0e))  # reserved bits
P.append(syn(1010, b'\x02\x04\x05\xb4\x05\x0a'+b'\0'*8+b'\x01\x01'))  # sack ok len
P.append(syn(1011, b'\x02\x04\x05\xb4\xfe\x01\x00\x00'))  # unknown len1
P.append(syn(1012, b'\x02\x04\x05\xb4\x03\x03'))  # ws truncated -> padded? 
P.append(syn(1013, b'\x02\x04\x05\xb4\x08\x0a\x00\x00\x00\x00\x00\x00\x00\x07\x01\x01'))  # ts1=0, ts2!=0
P.append(syn(1014, M, flags=0x02|0x08|0x20|0x40|0x80, urg=5))
P.append(syn(1015, M, flags=0x03))  # SYN+FIN
P.append(syn(1016, M, df=False, ipid=0, tos=3))
P.append(syn(1017, M, payload=b'hello'))
P.append(syn(1018, b'\x02\x04\x05\xb4\x01\x03\x03\x0f'))  # ws 15
P.append(syn(1019, M, seq=0))
P.append(syn(1020, b'\x02\x04\x05\x33', win=1337))  # sendsyn-like
P.append(syn(1021, b'\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00\x01\x03\x03\x07\x22\x04\x00\x00'))  # TFO 34
pcap(P, sys.argv[1])
