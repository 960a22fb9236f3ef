;
; proxytrace built-in TCP fingerprint database (p0f.fp format, p0f 3.09b semantics).
;
; Written for proxytrace, not copied from p0f.fp: p0f's own entries stop around 2016.
; Every signature cites its source of truth: a capture under testdata/fingerprint/ (copied
; from /work/shared/captures, see PROVENANCE.md there; the quoted strings are `p0f -r`'s
; raw_sig for it) or documented stack defaults. Use `--db /etc/p0f/p0f.fp` for p0f's
; database instead.
;
; Matching rules reminder (src/fingerprint/db.rs): option layout exact; `s` beats `g`;
; `df`/`id+` may vanish and `id-`/`ecn` may appear (fuzzy); ittl is the initial TTL.

classes = win,unix,other

; ==============
; MTU signatures
; ==============
; Link MTU = MSS + 40 (IPv4) or + 60 (IPv6). Values as in p0f 3.09b's [mtu] section.

[mtu]

label = Ethernet or modem
sig   = 576
sig   = 1500

label = DSL
sig   = 1452
sig   = 1454
sig   = 1492

label = GIF
sig   = 1240
sig   = 1280

label = generic tunnel or VPN
sig   = 1300
sig   = 1400
sig   = 1420
sig   = 1440
sig   = 1450
sig   = 1460

label = IPSec or GRE
sig   = 1476

label = IPIP or SIT
sig   = 1480

label = PPTP
sig   = 1490

label = AX.25 radio modem
sig   = 256

label = SLIP
sig   = 552

label = Google
sig   = 1470

label = VLAN
sig   = 1496

label = Ericsson HIS modem
sig   = 1656

label = jumbo Ethernet
sig   = 9000

label = loopback
sig   = 3924
sig   = 16384
sig   = 16436

; ==================
; TCP SYN signatures
; ==================

[tcp:request]

; -----
; Linux
; -----

; Linux 4.19 and later (all 5.x and 6.x). Source: kernel commit a337531b942b "tcp: up
; initial rmem to 128KB and SYN rwin to around 64KB" (4.19): the SYN window is the largest
; multiple of the MSS not above 65535 (64240 = 44*1460 on Ethernet; 45*1440 = 64800 for
; PPPoE/IPv6, 46*1400, 47*1380, 48*1360 behind tunnels). tcp_rmem[2] = 6 MB gives ws 7
; (8-10 with a larger tcp_rmem max). IPv6 SYNs carry a flow label (auto_flowlabels=1).
; SYN options from tcp_options_write():
; mss,sok,ts,nop,ws; with net.ipv4.tcp_timestamps=0: mss,nop,nop,sok,nop,ws. DF with a
; nonzero IP ID. Captures: testmyids.pcap and openjdk-25.0.2-zeek.org.pcap
; ("4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0").
label = s:unix:Linux:4.19+ (5.x, 6.x)
sig   = *:64:0:*:mss*44,7:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*44,8:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*44,9:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*44,10:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*45,*:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*46,*:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*47,*:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*48,*:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*44,*:mss,nop,nop,sok,nop,ws:df,id+:0
sig   = 6:64:0:*:mss*44,*:mss,sok,ts,nop,ws::0
sig   = 6:64:0:*:mss*44,*:mss,sok,ts,nop,ws:flow:0
sig   = 6:64:0:*:mss*45,*:mss,sok,ts,nop,ws:flow:0

; Linux 3.x to 4.18: SYN window 2 * TCP_INIT_CWND * MSS = mss*20 (mss*10 in 3.1-3.10),
; ws 6-10 on machines with tcp_rmem max >= 4 MB. Source: tcp_select_initial_window() of
; those kernels; captures irc-starttls.pcap ("4:64+0:0:1460:mss*20,7:...:df,id+:0") and
; tcp-fast-open.pcap (same, with TFO option ?254).
label = s:unix:Linux:3.x-4.18
sig   = *:64:0:*:mss*20,6:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*20,8:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*20,9:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*10,7:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*20,7:mss,sok,ts,nop,ws,?254:df,id+:*
sig   = *:64:0:*:mss*20,7:mss,nop,nop,sok,nop,ws:df,id+:0

; Embedded Linux (routers, cameras, DVRs) and the IoT bots that run on them (Mozi,
; Boaform-like): old 2.6-3.x kernels on low-memory boards. Initial TTL 64; window a
; multiple of the MSS (4 in 2.6, 10/20 in 3.x); tcp_rmem[2] is sized from RAM
; (tcp_init(): max(87380, min(4 MB, a fraction of free pages))), so 16-64 MB boards get
; window scale 1-5 (87380 -> 1, 1 MB -> 5). Heuristic and generic (`g`): no capture of
; these bots is available; options follow tcp_options_write() as above.
label = g:unix:Linux:embedded 2.6-3.x (router/IoT, Mozi/Boaform-like bots)
sig   = *:64:0:*:mss*4,0:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*4,1:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*4,2:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*4,3:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*4,4:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*4,5:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*10,1:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*10,2:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*10,3:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*10,4:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*10,5:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*20,1:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*20,2:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*20,3:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*20,4:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*20,5:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:mss*4,*:mss,nop,nop,sok,nop,ws:df,id+:0
sig   = *:64:0:*:mss*10,*:mss,nop,nop,sok,nop,ws:df,id+:0

; -------
; Android
; -------

; Android 10 and later: a Linux kernel whose init.rc sets net.ipv4.tcp_default_init_rwnd
; to 60 (AOSP system/core/rootdir/init.rc), so the SYN's receive window is 60*MSS, above
; 65535: the header carries 65535. tcp_rmem max from net.tcp.buffersize.* (2-16 MB) gives
; ws 6-9. Capture: fbzero-android.pcap ("4:64+0:0:1360:65535,6:mss,sok,ts,nop,ws:df,id+:0").
label = s:unix:Android:10+
sig   = *:64:0:*:65535,6:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:65535,7:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:65535,8:mss,sok,ts,nop,ws:df,id+:0
sig   = *:64:0:*:65535,9:mss,sok,ts,nop,ws:df,id+:0
sig   = 6:64:0:*:65535,*:mss,sok,ts,nop,ws::0
sig   = 6:64:0:*:65535,*:mss,sok,ts,nop,ws:flow:0

; -------
; Windows
; -------

; Windows 10 and 11 (and Server 2016-2025): window 64240 (0xFAF0) with ws 8, options
; mss,nop,ws,nop,nop,sok (timestamps off by default), DF with a nonzero ID, TTL 128.
; Capture: psql-login-no-role.pcap ("4:128+0:0:1460:mss*44,8:mss,nop,ws,nop,nop,sok:df,id+:0");
; with receive-window auto-tuning disabled the ws option disappears (modbus capture in
; /work/shared/captures: "4:128+0:0:1460:mss*44,0:mss,nop,nop,sok:df,id+:0").
label = s:win:Windows:10 or 11
sig   = *:128:0:*:64240,8:mss,nop,ws,nop,nop,sok:df,id+:0
sig   = *:128:0:*:64240,0:mss,nop,nop,sok:df,id+:0
sig   = *:128:0:*:65535,8:mss,nop,ws,nop,nop,sok:df,id+:0

; Windows Vista/7/8 (Server 2008/2012): window 8192, ws 8 (2 with some tuning).
; Captures (in /work/shared/captures): arkime krb5-tcp.pcap and no-syn-ack.pcap
; ("4:123+5:0:1460:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0").
label = s:win:Windows:7 or 8
sig   = *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0
sig   = *:128:0:*:8192,2:mss,nop,ws,nop,nop,sok:df,id+:0

; Windows XP / 2003: no window scaling, window 16384 or 65535.
; Captures: mmsX.pcap ("4:128+0:0:1460:16384,0:mss,nop,nop,sok:df,id+:0") and
; socks5-http-302-frag.pcap (same, TTL 126); arkime pppoe.pcap (65535, MSS 1410).
label = s:win:Windows:XP
sig   = *:128:0:*:16384,0:mss,nop,nop,sok:df,id+:0
sig   = *:128:0:*:65535,0:mss,nop,nop,sok:df,id+:0

; ---------------------
; macOS, iOS and iPadOS
; ---------------------

; macOS 12+ and iOS/iPadOS 15+ (XNU): window 65535, ws 6, options
; mss,nop,ws,nop,nop,ts,sok,eol+1 (bsd/netinet/tcp_output.c order, EOL-padded to 24 bytes),
; IP ID 0 (RFC 6864 atomic datagrams) with or without DF, ECN negotiated on many SYNs
; (net.inet.tcp.ecn_initiate_out). Captures: macos_tcp_flags.pcap
; ("4:64+0:0:1460:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df,ecn:0") and huginn-net's
; macos_safari_tls_extensions.pcap (":id-,ecn:0"); tls-alpn-h2.pcap for IPv6 (":flow:0").
; iOS shares the stack and the signature; only the MSS (cellular 1380-1410) may differ.
label = s:unix:Apple:macOS 12+ or iOS/iPadOS 15+
sig   = *:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0
sig   = *:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df,ecn:0
sig   = *:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:id-:0
sig   = *:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:id-,ecn:0
sig   = 6:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0
sig   = 6:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow,ecn:0

; Older macOS (10.x-11) and iOS: same layout, ws 3-5, IP ID nonzero.
; Captures: http-vlan-0.pcap ("4:64+0:0:1460:65535,4:...:df,id+:0", curl on macOS) and
; irc-353.pcap (loopback, ws 5, ":df:0").
label = s:unix:Apple:macOS 10.x-11 or older iOS
sig   = *:64:0:*:65535,3:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0
sig   = *:64:0:*:65535,4:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0
sig   = *:64:0:*:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0
sig   = *:64:0:*:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0

; ---
; BSD
; ---

; FreeBSD 13 and later: tcp_addoptions() writes mss, nop+ws, sok, ts (no padding needed);
; the SYN window is min(recvspace, 65535) = 65535; ws from kern.ipc.maxsockbuf (2 MB
; default -> 6; 4-16 MB -> 7-9); net.inet.ip.rfc6864=1 (default since 12) zeroes the IP ID
; of DF packets, hence `df` without `id+`; IPv6 flow labels by default
; (net.inet6.ip6.auto_flowlabel=1). No capture available: tested on a hand-built SYN.
label = s:unix:FreeBSD:13+
sig   = *:64:0:*:65535,6:mss,nop,ws,sok,ts:df:0
sig   = *:64:0:*:65535,7:mss,nop,ws,sok,ts:df:0
sig   = *:64:0:*:65535,8:mss,nop,ws,sok,ts:df:0
sig   = *:64:0:*:65535,9:mss,nop,ws,sok,ts:df:0
sig   = 6:64:0:*:65535,*:mss,nop,ws,sok,ts::0
sig   = 6:64:0:*:65535,*:mss,nop,ws,sok,ts:flow:0

; OpenBSD: window 16384 and its distinctive padding of every option.
; Capture: qi_internet_SYNACK_curl_jsonip.pcap
; ("4:64+0:0:1460:16384,0:mss,nop,nop,sok,nop,ws,nop,nop,ts:df,id+:0").
label = s:unix:OpenBSD:
sig   = *:64:0:*:16384,*:mss,nop,nop,sok,nop,ws,nop,nop,ts:df,id+:0

; ======================
; TCP SYN+ACK signatures
; ======================

[tcp:response]

; Linux 4.19+: the SYN+ACK window is a multiple of the effective MSS (MSS-12 with
; timestamps): 65160 = 45*1448; without timestamps 64240 = 44*1460. DF, IP ID 0.
; Captures in /work/shared/captures: zeek modbus-and-non-modbus-p502.pcap and
; get-to-ssh-server.pcap ("4:64+0:0:1460:mss*45,7:mss,sok,ts,nop,ws:df:0").
label = s:unix:Linux:4.19+ (5.x, 6.x)
sig   = *:64:0:*:mss*45,*:mss,sok,ts,nop,ws:df:0
sig   = *:64:0:*:mss*44,*:mss,nop,nop,sok,nop,ws:df:0

; Linux 3.x-4.18: mss*20 (mss*10 in 3.1-3.10). Captures: tcp-fast-open.pcap
; ("4:64+0:0:1460:mss*20,6:mss,sok,ts,nop,ws:df:0"), psql-login-no-role.pcap
; ("4:61+3:0:1460:mss*20,7:mss,nop,nop,sok,nop,ws:df:0").
label = s:unix:Linux:3.x-4.18
sig   = *:64:0:*:mss*20,*:mss,sok,ts,nop,ws:df:0
sig   = *:64:0:*:mss*20,*:mss,sok,ts,nop,ws,?254:df:0
sig   = *:64:0:*:mss*10,*:mss,sok,ts,nop,ws:df:0
sig   = *:64:0:*:mss*20,*:mss,nop,nop,sok,nop,ws:df:0
