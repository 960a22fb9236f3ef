//! The generator proper: one unit at a time (a back connection and the front
//! connections it serves), writing both sides' frames and the truth lines.

use super::world::*;
use super::*;

pub(super) struct Gen<F: Write, B: Write, T: Write> {
    pub(super) r: Rng,
    pub(super) devices: Vec<Device>,
    pub(super) filler: Vec<u8>,
    pub(super) front: Side<F>,
    pub(super) back: Side<B>,
    pub(super) truth: T,
    pub(super) now: i64,
    pub(super) start: i64,
    pub(super) lb_port: u16,
    pub(super) stats: ScenarioStats,
    pub(super) line: Vec<u8>,
    pub(super) stream: Vec<u8>,
    pub(super) segs: Vec<(usize, usize)>,
    pub(super) order: Vec<usize>,
    pub(super) written: Vec<(usize, usize, i64)>,
    pub(super) opts: Vec<u8>,
    pub(super) addrs: SensorAddrs,
    pub(super) preamble_alone: bool,
}

pub(super) fn sock(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v) => format!("{v}:{port}"),
        IpAddr::V6(v) => format!("[{v}]:{port}"),
    }
}

impl<F: Write, B: Write, T: Write> Gen<F, B, T> {
    pub(super) fn ms(&mut self, lo: u64, hi: u64) -> i64 {
        (self.r.range(lo * 1000, hi * 1000) * 1000) as i64
    }
    pub(super) fn us(&mut self, lo: u64, hi: u64) -> i64 {
        (self.r.range(lo, hi) * 1000) as i64
    }

    pub(super) fn next_lb_port(&mut self) -> u16 {
        self.lb_port = if self.lb_port >= 60999 {
            32768
        } else {
            self.lb_port + 1
        };
        self.lb_port
    }

    pub(super) fn make_req(&mut self) -> Req {
        pub(super) const HOSTS: [&str; 4] = [
            "shop.example.com",
            "api.example.com",
            "www.example.org",
            "static.example.net",
        ];
        pub(super) const PATHS: [&str; 5] =
            ["/", "/api/v1/items", "/search", "/login", "/static/app.js"];
        pub(super) const UAS: [&str; 4] = [
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "curl/8.5.0",
            "okhttp/4.12.0",
        ];
        let roll = self.r.below(100);
        let (method, body_len) = if roll < 65 {
            ("GET", 0)
        } else if roll < 90 {
            ("POST", self.r.range(20, 12_000) as usize)
        } else if roll < 95 {
            ("PUT", self.r.range(1, 3000) as usize)
        } else {
            ("DELETE", 0)
        };
        let path = *self.r.pick(&PATHS);
        let rid = self.r.next_u64();
        Req {
            method,
            target: format!("{path}?rid={rid:016x}"),
            host: self.r.pick::<&str>(&HOSTS),
            body_len,
            body_off: self.r.below((self.filler.len() - 16_000) as u64) as usize,
            extra_cookie: if self.r.chance(10) {
                self.r.range(100, 3000) as usize
            } else {
                0
            },
            ua: self.r.pick::<&str>(&UAS),
        }
    }

    /// Append the request head (with identity lines inserted after `Host`) and body.
    /// Returns the head length.
    pub(super) fn write_req(&self, out: &mut Vec<u8>, q: &Req, ident: Option<&Ident>) -> usize {
        let start = out.len();
        let _ = write!(
            out,
            "{} {} HTTP/1.1\r\nHost: {}\r\n",
            q.method, q.target, q.host
        );
        if let Some(i) = ident {
            out.extend_from_slice(i.lines.as_bytes());
        }
        let _ = write!(out, "User-Agent: {}\r\nAccept: */*\r\n", q.ua);
        if q.extra_cookie > 0 {
            out.extend_from_slice(b"Cookie: session=");
            for i in 0..q.extra_cookie {
                out.push(b'a' + (i % 26) as u8);
            }
            out.extend_from_slice(b"\r\n");
        }
        if q.body_len > 0 {
            let _ = write!(
                out,
                "Content-Type: text/plain\r\nContent-Length: {}\r\n",
                q.body_len
            );
        }
        out.extend_from_slice(b"\r\n");
        let head = out.len() - start;
        out.extend_from_slice(&self.filler[q.body_off..q.body_off + q.body_len]);
        head
    }

    pub(super) fn header_ident(&mut self, dev: &Device, port: u16) -> Ident {
        let ip = dev.ip;
        let roll = self.r.below(100);
        pub(super) const XFF: [&str; 4] = [
            "X-Forwarded-For",
            "x-forwarded-for",
            "X-FORWARDED-FOR",
            "X-Forwarded-for",
        ];
        let name = |s: &str| Some(s.to_string());
        let plain = match ip {
            IpAddr::V4(v) => v.to_string(),
            IpAddr::V6(v) => v.to_string(),
        };
        let (source, header_name, lines, cport) = if roll < 5 {
            (IdentitySource::None, None, String::new(), None)
        } else if roll < 45 {
            let n = *self.r.pick(&XFF);
            let sub = self.r.below(6);
            match sub {
                0 => (
                    IdentitySource::XForwardedFor,
                    name(n),
                    format!("{n}: {plain}\r\n"),
                    None,
                ),
                1 => {
                    let a = public_v4(&mut self.r);
                    (
                        IdentitySource::XForwardedFor,
                        name(n),
                        format!("{n}: {a}, 10.1.2.3, {plain}\r\n"),
                        None,
                    )
                }
                2 => (
                    IdentitySource::XForwardedFor,
                    name(n),
                    format!("{n}: {}\r\n", sock(ip, port)),
                    Some(port),
                ),
                3 => (
                    IdentitySource::XForwardedFor,
                    name(n),
                    format!("{n}: 6.6.6.6\r\nAccept-Language: en\r\n{n}: {plain}\r\n"),
                    None,
                ),
                4 => {
                    let a = public_v6(&mut self.r);
                    (
                        IdentitySource::XForwardedFor,
                        name(n),
                        format!("{n}: {a},{plain}\r\n"),
                        None,
                    )
                }
                _ => (
                    IdentitySource::XForwardedFor,
                    name(n),
                    format!("{n}:{plain}\r\n"),
                    None,
                ),
            }
        } else if roll < 60 {
            (
                IdentitySource::XRealIp,
                name("X-Real-IP"),
                format!("X-Real-IP: {plain}\r\n"),
                None,
            )
        } else if roll < 70 {
            (
                IdentitySource::XClientIp,
                name("x-client-ip"),
                format!("x-client-ip: {plain}\r\n"),
                None,
            )
        } else {
            let sub = self.r.below(3);
            let v = match (sub, ip) {
                (0, IpAddr::V4(_)) => (
                    format!("for={plain};proto=http;by={}", self.addrs.lb_back),
                    None,
                ),
                (0, IpAddr::V6(_)) => (format!("for=\"[{plain}]\";proto=https"), None),
                (1, _) => (format!("for=\"{}\"", sock(ip, port)), Some(port)),
                _ => (
                    format!("for=192.0.2.43, for=\"{}\";proto=https", sock(ip, port)),
                    Some(port),
                ),
            };
            let n = if self.r.chance(50) {
                "Forwarded"
            } else {
                "forwarded"
            };
            (
                IdentitySource::Forwarded,
                name(n),
                format!("{n}: {}\r\n", v.0),
                v.1,
            )
        };
        Ident {
            source,
            lines,
            header_name,
            client_ip: (source != IdentitySource::None).then_some(ip),
            client_port: cport,
        }
    }

    pub(super) fn syn_options(&mut self, p: &SynPreset, ts: u32) {
        let mut o = std::mem::take(&mut self.opts);
        p.options(ts, &mut o);
        self.opts = o;
    }

    /// Three-way handshake. Client side uses `preset`; the server answers as Linux.
    /// Returns the timestamp of the first SYN as written.
    pub(super) fn handshake(
        &mut self,
        front: bool,
        c: &Conn,
        p: &SynPreset,
        tsval: u32,
        t: &mut i64,
    ) -> io::Result<i64> {
        self.syn_options(p, tsval);
        let opts = std::mem::take(&mut self.opts);
        let mut syn = c.seg(
            true,
            c.cseq.wrapping_sub(1),
            TcpFlags::SYN | p.extra_flags,
            &[],
        );
        syn.ack = 0;
        syn.window = p.window_value();
        syn.options = &opts;
        let first = self.emit(front, *t, &syn)?;
        // Occasionally retransmitted SYNs (1 s, then 2 s later, as Linux/Windows back off).
        if front && self.r.chance(3) {
            let n = self.r.range(1, 2);
            for k in 0..n {
                *t += 1_000_000_000 << k;
                if p.ip_id == IpIdMode::Random {
                    syn.ip.ip_id = syn.ip.ip_id.wrapping_add(1);
                }
                self.emit(front, *t, &syn)?;
            }
        }
        *t += self.us(30, 3000);
        let mut sa_opts = Vec::new();
        packet::LINUX.options(self.r.next_u32(), &mut sa_opts);
        let mut sa = c.seg(
            false,
            c.sseq.wrapping_sub(1),
            TcpFlags::SYN | TcpFlags::ACK,
            &[],
        );
        sa.window = 65160;
        sa.options = &sa_opts;
        self.emit(front, *t, &sa)?;
        *t += self.us(30, 3000);
        self.emit(front, *t, &c.seg(true, c.cseq, TcpFlags::ACK, &[]))?;
        self.opts = opts;
        Ok(first)
    }

    pub(super) fn emit(&mut self, front: bool, t: i64, p: &TcpPacket<'_>) -> io::Result<i64> {
        if front {
            self.stats.front_packets += 1;
            self.front.emit(t, p)
        } else {
            self.stats.back_packets += 1;
            self.back.emit(t, p)
        }
    }

    /// Send `self.stream` from one side: MSS segments plus cuts at `cuts` (stream offsets),
    /// with occasional reordering and retransmission when `perturb`. Records in
    /// `self.written` (start, end, ts) per written segment. Advances the sender's seq.
    pub(super) fn send_stream(
        &mut self,
        front: bool,
        c: &mut Conn,
        from_c: bool,
        cuts: &[usize],
        perturb: bool,
        t: &mut i64,
    ) -> io::Result<()> {
        let len = self.stream.len();
        self.segs.clear();
        let mut pos = 0;
        let mut ci = 0;
        while pos < len {
            while ci < cuts.len() && cuts[ci] <= pos {
                ci += 1;
            }
            let mut end = (pos + MSS).min(len);
            if ci < cuts.len() && cuts[ci] < end {
                end = cuts[ci];
            }
            self.segs.push((pos, end));
            pos = end;
        }
        self.order.clear();
        self.order.extend(0..self.segs.len());
        if perturb {
            let mut i = 0;
            while i + 1 < self.order.len() {
                if self.r.chance(3) {
                    self.order.swap(i, i + 1);
                    i += 2;
                    continue;
                }
                if self.r.chance(2) {
                    // Retransmission: the same segment again right after.
                    let s = self.order[i];
                    self.order.insert(i + 1, s);
                    i += 2;
                    continue;
                }
                i += 1;
            }
        }
        self.written.clear();
        let base = if from_c { c.cseq } else { c.sseq };
        let stream = std::mem::take(&mut self.stream);
        let order = std::mem::take(&mut self.order);
        let mut since_ack = 0;
        for &i in &order {
            let (a, b) = self.segs[i];
            let fl = if b == len {
                TcpFlags::ACK | TcpFlags::PSH
            } else {
                TcpFlags::ACK
            };
            let p = c.seg(from_c, base.wrapping_add(a as u32), fl, &stream[a..b]);
            *t += self.us(5, 120);
            let ts = self.emit(front, *t, &p)?;
            self.written.push((a, b, ts));
            since_ack += 1;
            if since_ack == 2 && b < len {
                since_ack = 0;
                // The receiver acknowledges what it has in order so far.
                let acked = base.wrapping_add(self.contiguous() as u32);
                let mut ackp = c.seg(
                    !from_c,
                    if from_c { c.sseq } else { c.cseq },
                    TcpFlags::ACK,
                    &[],
                );
                ackp.ack = acked;
                *t += self.us(5, 60);
                self.emit(front, *t, &ackp)?;
            }
        }
        if from_c {
            c.cseq = base.wrapping_add(len as u32);
        } else {
            c.sseq = base.wrapping_add(len as u32);
        }
        *t += self.us(20, 400);
        self.emit(
            front,
            *t,
            &c.seg(
                !from_c,
                if from_c { c.sseq } else { c.cseq },
                TcpFlags::ACK,
                &[],
            ),
        )?;
        self.stream = stream;
        self.order = order;
        Ok(())
    }

    /// Highest stream offset received in order, from `self.written`.
    pub(super) fn contiguous(&self) -> usize {
        let mut hw = 0;
        loop {
            let mut moved = false;
            for &(a, b, _) in &self.written {
                if a <= hw && b > hw {
                    hw = b;
                    moved = true;
                }
            }
            if !moved {
                return hw;
            }
        }
    }

    /// First written timestamp of a segment carrying stream offset `o`.
    pub(super) fn first_ts(&self, o: usize) -> i64 {
        self.written
            .iter()
            .find(|&&(a, b, _)| a <= o && o < b)
            .map_or(0, |w| w.2)
    }

    pub(super) fn close(&mut self, front: bool, c: &mut Conn, t: &mut i64) -> io::Result<()> {
        *t += self.us(50, 2000);
        self.emit(
            front,
            *t,
            &c.seg(true, c.cseq, TcpFlags::FIN | TcpFlags::ACK, &[]),
        )?;
        c.cseq = c.cseq.wrapping_add(1);
        *t += self.us(30, 500);
        self.emit(
            front,
            *t,
            &c.seg(false, c.sseq, TcpFlags::FIN | TcpFlags::ACK, &[]),
        )?;
        c.sseq = c.sseq.wrapping_add(1);
        *t += self.us(30, 500);
        self.emit(front, *t, &c.seg(true, c.cseq, TcpFlags::ACK, &[]))?;
        Ok(())
    }

    pub(super) fn response(&mut self, out_len: usize) {
        let body = self.r.range(100, 40_000) as usize;
        let off = self.r.below((self.filler.len() - 40_000) as u64) as usize;
        self.stream.clear();
        let _ = write!(
            self.stream,
            "HTTP/1.1 200 OK\r\nServer: synth\r\nContent-Type: text/plain\r\nX-Request-Bytes: {out_len}\r\nContent-Length: {body}\r\n\r\n"
        );
        self.stream.extend_from_slice(&self.filler[off..off + body]);
    }

    pub(super) fn front_conn(&mut self, dev: usize) -> FrontConn {
        let port = self.r.range(1024, 65535) as u16;
        let lb_port = if self.r.chance(40) { 80 } else { 443 };
        let n = if self.r.chance(40) {
            self.r.range(2, 4)
        } else {
            1
        } as usize;
        let reqs = (0..n).map(|_| self.make_req()).collect();
        FrontConn {
            dev,
            port,
            lb_port,
            reqs,
            tuple: None,
            syn_ts: None,
        }
    }

    pub(super) fn new_conn(
        &mut self,
        c: IpAddr,
        cport: u16,
        s: IpAddr,
        sport: u16,
        p: &SynPreset,
        hops: u8,
    ) -> Conn {
        Conn {
            c,
            cport,
            s,
            sport,
            cseq: self.r.next_u32(),
            sseq: self.r.next_u32(),
            c_ttl: p.ttl.saturating_sub(hops),
            s_ttl: 64,
            c_id: if p.ip_id == IpIdMode::Random {
                self.r.range(1, 0xffff) as u16
            } else {
                0
            },
            s_id: 0,
            c_df: p.df,
            c_win: 502,
        }
    }

    /// Open the front connection (handshake; for port 80 the requests and responses are
    /// written later by `front_exchange`).
    pub(super) fn front_open(
        &mut self,
        fc: &mut FrontConn,
        t: &mut i64,
    ) -> io::Result<Option<Conn>> {
        let d = self.devices[fc.dev].clone();
        if d.hidden {
            return Ok(None);
        }
        let lb = self.addrs.lb_for(d.ip);
        let c = self.new_conn(d.ip, fc.port, lb, fc.lb_port, d.preset, d.hops);
        let tsval = d
            .ts_base
            .wrapping_add(((*t - self.start) / 1_000_000) as u32);
        fc.syn_ts = Some(self.handshake(true, &c, d.preset, tsval, t)?);
        fc.tuple = Some(c.tuple());
        self.stats.front_connections += 1;
        Ok(Some(c))
    }

    pub(super) fn unit(&mut self) -> io::Result<()> {
        let mut t = self.now;
        let roll = self.r.below(100);
        let mode = if roll < 8 {
            BackMode::ProxyV1
        } else if roll < 16 {
            BackMode::ProxyV2
        } else if roll < 23 {
            BackMode::Transparent
        } else {
            BackMode::Headers
        };
        // Headers mode: 15% of back connections carry several clients' requests.
        let nfront = if matches!(mode, BackMode::Headers) && self.r.chance(15) {
            self.r.range(2, 3)
        } else {
            1
        } as usize;
        let mut fronts: Vec<FrontConn> = Vec::with_capacity(nfront);
        for _ in 0..nfront {
            let mut dev = self.r.below(self.devices.len() as u64) as usize;
            if matches!(mode, BackMode::Transparent) {
                // Transparent mode needs the back network to route the client's family: v4.
                while self.devices[dev].ip.is_ipv6() {
                    dev = self.r.below(self.devices.len() as u64) as usize;
                }
            }
            let fc = self.front_conn(dev);
            fronts.push(fc);
        }

        let backend = self.addrs.backend(self.r.range(1, 16) as u8);
        let pipelined = self.r.chance(15);
        let mut back: Option<Conn> = None;
        let mut truth_lines: Vec<TruthRecord> = Vec::new();
        for mut fc in fronts {
            let dev = self.devices[fc.dev].clone();
            let mut front_conn = self.front_open(&mut fc, &mut t)?;
            // Front: client sends its requests (plaintext on port 80; opaque TLS on 443).
            let mut front_req_stream = Vec::new();
            if let Some(c) = front_conn.as_mut() {
                self.stream.clear();
                if fc.lb_port == 80 {
                    for q in &fc.reqs {
                        let mut tmp = std::mem::take(&mut self.stream);
                        self.write_req(&mut tmp, q, None);
                        self.stream = tmp;
                    }
                } else {
                    // A TLS-record-shaped opaque blob: its length only.
                    let n: usize = fc.reqs.iter().map(|q| 300 + q.body_len).sum();
                    let off = self.r.below((self.filler.len() - 60_000) as u64) as usize;
                    self.stream.extend_from_slice(&[0x16, 0x03, 0x01]);
                    self.stream
                        .extend_from_slice(&self.filler[off..off + n.min(50_000)]);
                }
                t += self.ms(1, 20);
                self.send_stream(true, c, true, &[], false, &mut t)?;
                front_req_stream = std::mem::take(&mut self.stream);
            }
            // Back: open (or reuse) the back connection.
            let mut bc = match back.take() {
                Some(c) => c,
                None => {
                    t += self.us(100, 2000);
                    let (src, sport) = match mode {
                        BackMode::Transparent => (dev.ip, fc.port),
                        _ => (IpAddr::V4(self.addrs.lb_back), self.next_lb_port()),
                    };
                    let c = self.new_conn(src, sport, backend, BACKEND_PORT, &packet::LINUX, 0);
                    let tsval = self.r.next_u32();
                    self.handshake(false, &c, &packet::LINUX, tsval, &mut t)?;
                    self.stats.back_connections += 1;
                    c
                }
            };
            // The client-to-backend byte stream for this front connection.
            self.stream.clear();
            let mut starts: Vec<(usize, usize)> = Vec::new(); // (offset, head_len)
            let mut cuts: Vec<usize> = Vec::new();
            let mut idents: Vec<Ident> = Vec::new();
            match mode {
                BackMode::ProxyV1 => {
                    let fam = if dev.ip.is_ipv6() { "TCP6" } else { "TCP4" };
                    let lb = self.addrs.lb_for(dev.ip);
                    let _ = write!(
                        self.stream,
                        "PROXY {fam} {} {lb} {} {}\r\n",
                        dev.ip, fc.port, fc.lb_port
                    );
                    if self.r.chance(30) {
                        cuts.push(self.r.range(1, self.stream.len() as u64 - 1) as usize);
                    }
                }
                BackMode::ProxyV2 => {
                    self.stream.extend_from_slice(b"\r\n\r\n\0\r\nQUIT\n");
                    self.stream.push(0x21);
                    let lb = self.addrs.lb_for(dev.ip);
                    match (dev.ip, lb) {
                        (IpAddr::V4(a), IpAddr::V4(b)) => {
                            self.stream.push(0x11);
                            self.stream.extend_from_slice(&12u16.to_be_bytes());
                            self.stream.extend_from_slice(&a.octets());
                            self.stream.extend_from_slice(&b.octets());
                        }
                        (a, b) => {
                            self.stream.push(0x21);
                            self.stream.extend_from_slice(&36u16.to_be_bytes());
                            let o = |x: IpAddr| match x {
                                IpAddr::V6(v) => v.octets(),
                                IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
                            };
                            self.stream.extend_from_slice(&o(a));
                            self.stream.extend_from_slice(&o(b));
                        }
                    }
                    self.stream.extend_from_slice(&fc.port.to_be_bytes());
                    self.stream.extend_from_slice(&fc.lb_port.to_be_bytes());
                }
                _ => {}
            }
            // A third of preambles as their own segment, so a capture can end right after
            // one (rotated files). No draw when off: the default output stays the same.
            if !self.stream.is_empty() && self.preamble_alone && self.r.chance(33) {
                cuts.push(self.stream.len());
            }
            for q in &fc.reqs {
                let ident = match mode {
                    BackMode::Headers => self.header_ident(&dev, fc.port),
                    BackMode::ProxyV1 | BackMode::ProxyV2 | BackMode::Transparent => Ident {
                        source: match mode {
                            BackMode::ProxyV1 => IdentitySource::ProxyV1,
                            BackMode::ProxyV2 => IdentitySource::ProxyV2,
                            _ => IdentitySource::Transparent,
                        },
                        lines: String::new(),
                        header_name: None,
                        client_ip: Some(dev.ip),
                        client_port: Some(fc.port),
                    },
                };
                let off = self.stream.len();
                let mut tmp = std::mem::take(&mut self.stream);
                let head = self.write_req(&mut tmp, q, Some(&ident));
                self.stream = tmp;
                starts.push((off, head));
                // Heads split at random points (inside names too) in a third of requests.
                if self.r.chance(33) {
                    for _ in 0..self.r.range(1, 3) {
                        cuts.push(off + self.r.range(1, head as u64 - 1) as usize);
                    }
                }
                idents.push(ident);
            }
            cuts.sort_unstable();
            // Pipelined: all requests in one flight; otherwise request, response, request...
            let full = std::mem::take(&mut self.stream);
            let mut flights: Vec<(usize, usize)> = Vec::new();
            if pipelined || starts.len() == 1 {
                flights.push((0, full.len()));
            } else {
                for (i, s) in starts.iter().enumerate() {
                    let a = if i == 0 { 0 } else { s.0 };
                    let b = starts.get(i + 1).map_or(full.len(), |n| n.0);
                    flights.push((a, b));
                }
            }
            let mut req_i = 0;
            for (fa, fb) in flights {
                t += self.us(50, 3000);
                self.stream.clear();
                self.stream.extend_from_slice(&full[fa..fb]);
                let local_cuts: Vec<usize> = cuts
                    .iter()
                    .filter(|&&x| x > fa && x < fb)
                    .map(|&x| x - fa)
                    .collect();
                self.send_stream(false, &mut bc, true, &local_cuts, true, &mut t)?;
                let mut served = 0;
                while req_i < starts.len() && starts[req_i].0 < fb {
                    let (off, _) = starts[req_i];
                    let q = &fc.reqs[req_i];
                    let id = &idents[req_i];
                    let ts = self.first_ts(off - fa);
                    let rule = if id.source == IdentitySource::None {
                        JoinRule::NoIdentity
                    } else if dev.hidden {
                        JoinRule::NoFront
                    } else if id.client_port.is_some() {
                        JoinRule::IpPort
                    } else if fc.lb_port == 80 {
                        JoinRule::RequestMatch
                    } else if dev.nat {
                        JoinRule::IpTimeAmbiguous
                    } else {
                        JoinRule::IpTime
                    };
                    truth_lines.push(TruthRecord {
                        back: bc.tuple(),
                        ts_ns: ts,
                        method: q.method.to_string(),
                        target: q.target.clone(),
                        host: q.host.to_string(),
                        identity: id.source,
                        header_name: id.header_name.clone(),
                        client_ip: id.client_ip,
                        client_port: id.client_port,
                        front: fc.tuple,
                        front_syn_ts_ns: fc.syn_ts,
                        os: dev.preset.name,
                        nat: dev.nat,
                        join_rule: rule,
                    });
                    req_i += 1;
                    served += 1;
                }
                for _ in 0..served {
                    t += self.us(200, 20_000);
                    self.response(fb - fa);
                    self.send_stream(false, &mut bc, false, &[], true, &mut t)?;
                }
            }
            // Front: the LB relays the responses (plaintext) or opaque records, then closes.
            if let Some(mut c) = front_conn.take() {
                t += self.us(50, 500);
                if fc.lb_port == 80 {
                    for _ in 0..fc.reqs.len() {
                        self.response(front_req_stream.len());
                        self.send_stream(true, &mut c, false, &[], false, &mut t)?;
                    }
                } else {
                    self.response(0);
                    self.send_stream(true, &mut c, false, &[], false, &mut t)?;
                }
                self.close(true, &mut c, &mut t)?;
            }
            back = Some(bc);
        }
        if let Some(mut bc) = back {
            self.close(false, &mut bc, &mut t)?;
        }
        for tr in &truth_lines {
            self.line.clear();
            serde_json::to_writer(&mut self.line, tr).map_err(io::Error::other)?;
            self.line.push(b'\n');
            self.truth.write_all(&self.line)?;
        }
        self.stats.requests += truth_lines.len() as u64;
        self.now = t + self.us(10, 500);
        Ok(())
    }
}

/// Generate a scenario into three sinks. Returns what was written. The sinks are flushed.
pub fn generate<F: Write, B: Write, T: Write>(
    cfg: &ScenarioConfig,
    front: F,
    back: B,
    truth: T,
) -> io::Result<(ScenarioStats, F, B, T)> {
    if cfg.sensor > MAX_SENSOR {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("sensor {} is above {MAX_SENSOR}", cfg.sensor),
        ));
    }
    let mut r = Rng::new(cfg.seed);
    let mut dr = r.fork();
    let mut fr = r.fork();
    let devices = make_devices(&mut dr, 4000);
    let filler = make_filler(&mut fr, cfg.bodies);
    let mut g = Gen {
        r,
        devices,
        filler,
        front: Side::new(make_writer(front, cfg, "front")?, cfg.link, 100, 0),
        back: Side::new(
            make_writer(back, cfg, "back")?,
            cfg.link,
            200,
            cfg.clock_offset_ns,
        ),
        truth,
        now: cfg.start_ns,
        start: cfg.start_ns,
        lb_port: 32767,
        stats: ScenarioStats::default(),
        line: Vec::with_capacity(1024),
        stream: Vec::with_capacity(64 * 1024),
        segs: Vec::new(),
        order: Vec::new(),
        written: Vec::new(),
        opts: Vec::with_capacity(40),
        addrs: SensorAddrs::new(cfg.sensor),
        preamble_alone: cfg.preamble_alone,
    };
    while g.back.w.bytes_written() < cfg.back_bytes || g.front.w.bytes_written() < cfg.front_bytes {
        g.unit()?;
    }
    g.stats.front_bytes = g.front.w.bytes_written();
    g.stats.back_bytes = g.back.w.bytes_written();
    let stats = g.stats.clone();
    let f = g.front.w.finish()?;
    let b = g.back.w.finish()?;
    g.truth.flush()?;
    Ok((stats, f, b, g.truth))
}
