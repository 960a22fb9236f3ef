import sys, random; import os; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); from mk import *
random.seed(int(sys.argv[2]))
kinds=[0,1,2,3,4,5,8,34,254,30,6]
P=[]
for i in range(int(sys.argv[3]) if len(sys.argv) > 3 else 3000):
    n=random.choice([0,4,8,12,16,20,24,28,32,36,40])
    o=bytearray()
    while len(o)<n:
        r=random.random()
        k=random.choice(kinds)
        if r<0.6:
            ln={2:4,3:3,4:2,8:10,5:random.choice([10,18,9,35]),34:random.choice([2,4,10]),254:4,30:random.choice([1,0,41,8]),6:6}.get(k,1)
            if random.random()<0.1: ln=random.randrange(0,45)
            if k in (0,1): o.append(k)
            else: o+=bytes([k,ln])+bytes(random.choice([0,random.randrange(256)]) for _ in range(max(0,ln-2)))
        else:
            o.append(random.choice([0,1,random.randrange(256)]))
    o=bytes(o[:n])
    fl=0x02|random.choice([0,0,0,0x08,0x20,0x40,0x80,0xc0])
    ns=random.choice([0,0,0,1,2])
    ack=random.choice([0,0,1,0x01000000,random.randrange(2**32)])
    P.append(syn(1024+i, o, flags=fl, ack=ack, seq=random.choice([0,random.randrange(2**32)]),
        win=random.choice([0,8192,65535,29200,64240,random.randrange(65536), 1460*10, 1500*4]),
        urg=random.choice([0,0,7]), ttl=random.choice([1,32,33,50,64,100,128,200,255]),
        df=random.random()<0.7, ipid=random.choice([0,1,777]), tos=random.choice([0,0,1,2,3,4]),
        payload=random.choice([b'',b'',b'x'*5]), nsres=ns, src='10.%d.%d.1'%(i//200, i%200)))
pcap(P, sys.argv[1])
