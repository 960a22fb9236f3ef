import struct, sys
def csum(b):
    if len(b)%2: b+=b'\0'
    s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s>>16)+(s&0xffff); s+=s>>16; return (~s)&0xffff
def syn(sport, opts=b'', flags=0x02, ack=0, seq=12345, win=8192, urg=0, ttl=64, df=True, ipid=1, tos=0, payload=b'', nsres=0, src='10.0.0.1', dst='10.0.0.2'):
    while len(opts)%4: opts+=b'\0'  # caller pads explicitly when needed
    doff=(20+len(opts))//4
    tcp=struct.pack('!HHIIBBHHH',sport,80,seq,ack,(doff<<4)|nsres,flags,win,0,urg)+opts+payload
    s=bytes(map(int,src.split('.'))); d=bytes(map(int,dst.split('.')))
    tl=20+len(tcp)
    ip=struct.pack('!BBHHHBBH4s4s',0x45,tos,tl,ipid,0x4000 if df else 0,ttl,6,0,s,d)
    ip=ip[:10]+struct.pack('!H',csum(ip))+ip[12:]
    return b'\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00'+ip+tcp
def pcap(pkts, fn):
    with open(fn,'wb') as f:
        f.write(struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,1))
        for i,p in enumerate(pkts):
            f.write(struct.pack('<IIII',1000+i,0,len(p),len(p))); f.write(p)
def syn6(sport, opts=b'', flags=0x02, ack=0, seq=12345, win=8192, urg=0, ttl=64, tc=0, flow=0, payload=b'', nsres=0, src=1, dport=80, rev=False):
    doff=(20+len(opts))//4
    sp,dp=(sport,dport) if not rev else (dport,sport)
    tcp=struct.pack('!HHIIBBHHH',sp,dp,seq,ack,(doff<<4)|nsres,flags,win,0,urg)+opts+payload
    a=b'\x20\x01\x0d\xb8'+b'\0'*10+struct.pack('!H',src); b=b'\x20\x01\x0d\xb8'+b'\0'*11+b'\x02'
    if rev: a,b=b,a
    ip=struct.pack('!IHBB',(6<<28)|(tc<<20)|flow,len(tcp),6,ttl)+a+b
    return b'\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x86\xdd'+ip+tcp
