import sys, random; import os; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); from mk import *
random.seed(int(sys.argv[2]))
P=[]
def opts():
    o=b''
    mss=random.choice([1440,1428,1220,1380,16324,1331,0,90,100])
    if random.random()<0.9: o+=struct.pack('!BBH',2,4,mss)
    if random.random()<0.5: o+=b'\x01\x03\x03'+bytes([random.choice([0,2,6,8,14,15])])
    if random.random()<0.5: o+=b'\x01\x01\x08\x0a'+struct.pack('!II',random.choice([0,5,99999]),random.choice([0,0,7]))
    if random.random()<0.5: o+=b'\x04\x02\x00\x00'
    return o
for i in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1500):
    cmss=random.choice([1440,1460,1220,8960,0,1331])
    co=struct.pack('!BBH',2,4,cmss) if cmss else b''
    w=random.choice([65535,64800,28800,14400,cmss*4 if cmss else 0,(cmss-12)*2 if cmss else 5,1500*3,1440*10,1428*3,random.randrange(65536),(cmss+60)*2])
    P.append(syn6(2000+i, co, win=w & 0xffff, ttl=random.choice([64,57,128,255,20]), tc=random.choice([0,0,1,2,3,0x10]), flow=random.choice([0,0,12345]), src=i))
    so=opts()
    sw=random.choice([65535,cmss*10 & 0xffff, (cmss-12)*3 & 0xffff,1440*20,1428*4,28560,random.randrange(65536)])
    P.append(syn6(2000+i, so, flags=0x12|random.choice([0,0,0x40]), ack=random.choice([0,1]), win=sw, ttl=random.choice([64,50,128,255]), src=i, rev=True, payload=random.choice([b'',b'',b'yy'])))
pcap(P, sys.argv[1])
