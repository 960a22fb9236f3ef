//! pcap and pcapng writers, to any `std::io::Write`.
//!
//! Hand-written: pcap-parser only reads, and tests need byte layouts no other writer
//! offers (big-endian sections, the Kuznetzov variant, power-of-two `if_tsresol`, unknown
//! blocks, IDBs in the middle of a section). Each record is assembled in a reused buffer
//! and handed to the sink with one `write_all`; wrap files in a large `BufWriter`.

use proxytrace::capture::ByteOrder;
use std::io::{self, Write};

/// Something that takes packet records: either writer.
pub trait PacketSink {
    /// Write one record; `data` is what was captured, `orig_len` the length on the wire.
    fn record(&mut self, ts_ns: i64, data: &[u8], orig_len: u32) -> io::Result<()>;
    /// Bytes written so far, headers included.
    fn bytes_written(&self) -> u64;
    /// Records written so far.
    fn records_written(&self) -> u64;
}

#[inline]
fn put16(out: &mut Vec<u8>, o: ByteOrder, v: u16) {
    match o {
        ByteOrder::Little => out.extend_from_slice(&v.to_le_bytes()),
        ByteOrder::Big => out.extend_from_slice(&v.to_be_bytes()),
    }
}

#[inline]
fn put32(out: &mut Vec<u8>, o: ByteOrder, v: u32) {
    match o {
        ByteOrder::Little => out.extend_from_slice(&v.to_le_bytes()),
        ByteOrder::Big => out.extend_from_slice(&v.to_be_bytes()),
    }
}

#[inline]
fn put64(out: &mut Vec<u8>, o: ByteOrder, v: u64) {
    match o {
        ByteOrder::Little => out.extend_from_slice(&v.to_le_bytes()),
        ByteOrder::Big => out.extend_from_slice(&v.to_be_bytes()),
    }
}

/// Legacy pcap flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcapFlavor {
    /// Magic 0xa1b2c3d4, microsecond timestamps.
    Micro,
    /// Magic 0xa1b23c4d, nanosecond timestamps.
    Nano,
    /// Kuznetzov's patched libpcap (magic 0xa1b2cd34): microseconds, 24-byte record headers
    /// carrying ifindex, protocol and packet type.
    Modified,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcapConfig {
    pub order: ByteOrder,
    pub flavor: PcapFlavor,
    /// The full 32-bit header field: link type in the low 16 bits (upper bits may carry
    /// FCS information).
    pub link_type: u32,
    pub snaplen: u32,
    /// Version written in the header (2.4 normally; below 2.3 readers swap lengths).
    pub version: (u16, u16),
}

impl Default for PcapConfig {
    fn default() -> Self {
        PcapConfig {
            order: ByteOrder::Little,
            flavor: PcapFlavor::Micro,
            link_type: 1,
            snaplen: 262_144,
            version: (2, 4),
        }
    }
}

/// Legacy pcap writer.
pub struct PcapWriter<W: Write> {
    out: W,
    cfg: PcapConfig,
    buf: Vec<u8>,
    bytes: u64,
    records: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Write the 24-byte file header.
    pub fn new(out: W, cfg: PcapConfig) -> io::Result<Self> {
        let mut w = PcapWriter {
            out,
            cfg,
            buf: Vec::with_capacity(65_600),
            bytes: 0,
            records: 0,
        };
        let o = cfg.order;
        let magic: u32 = match cfg.flavor {
            PcapFlavor::Micro => 0xa1b2_c3d4,
            PcapFlavor::Nano => 0xa1b2_3c4d,
            PcapFlavor::Modified => 0xa1b2_cd34,
        };
        let b = &mut w.buf;
        put32(b, o, magic);
        put16(b, o, cfg.version.0);
        put16(b, o, cfg.version.1);
        put32(b, o, 0); // thiszone
        put32(b, o, 0); // sigfigs
        put32(b, o, cfg.snaplen);
        put32(b, o, cfg.link_type);
        w.flush_buf()?;
        Ok(w)
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Write a packet, cutting it to the snap length (`orig_len` = its full length).
    pub fn packet(&mut self, ts_ns: i64, frame: &[u8]) -> io::Result<()> {
        let cut = frame.len().min(self.cfg.snaplen as usize);
        self.record(ts_ns, &frame[..cut], frame.len() as u32)
    }

    /// Write a raw 16- or 24-byte record header with arbitrary fields then `data` (for
    /// damaged-file tests: caplen need not match `data.len()`).
    pub fn raw_record(
        &mut self,
        ts_s: u32,
        frac: u32,
        caplen: u32,
        orig_len: u32,
        data: &[u8],
    ) -> io::Result<()> {
        let o = self.cfg.order;
        put32(&mut self.buf, o, ts_s);
        put32(&mut self.buf, o, frac);
        put32(&mut self.buf, o, caplen);
        put32(&mut self.buf, o, orig_len);
        if self.cfg.flavor == PcapFlavor::Modified {
            put32(&mut self.buf, o, 1); // ifindex
            put16(&mut self.buf, o, 0x0800); // protocol
            self.buf.push(0); // packet type: to us
            self.buf.push(0); // padding
        }
        self.out.write_all(&self.buf)?;
        self.out.write_all(data)?;
        self.bytes += (self.buf.len() + data.len()) as u64;
        self.buf.clear();
        self.records += 1;
        Ok(())
    }

    /// Flush and return the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }
}

impl<W: Write> PacketSink for PcapWriter<W> {
    /// Timestamps before 1970 or after 2106 cannot be written in pcap; they are clamped.
    fn record(&mut self, ts_ns: i64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let ts_ns = ts_ns.max(0);
        let secs = (ts_ns / 1_000_000_000).min(i64::from(u32::MAX)) as u32;
        let sub = (ts_ns % 1_000_000_000) as u32;
        let frac = match self.cfg.flavor {
            PcapFlavor::Nano => sub,
            PcapFlavor::Micro | PcapFlavor::Modified => sub / 1000,
        };
        self.raw_record(secs, frac, data.len() as u32, orig_len, data)
    }
    fn bytes_written(&self) -> u64 {
        self.bytes
    }
    fn records_written(&self) -> u64 {
        self.records
    }
}

/// An interface to declare in a pcapng section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NgInterface {
    pub link_type: u16,
    pub snaplen: u32,
    /// Raw `if_tsresol` byte: 10^-n with the high bit clear, 2^-n with it set. `None`
    /// writes no option (microseconds).
    pub tsresol: Option<u8>,
    /// `if_tsoffset` in seconds; `None` writes no option.
    pub tsoffset_s: Option<i64>,
    pub name: Option<String>,
}

impl NgInterface {
    pub fn new(link_type: u16) -> NgInterface {
        NgInterface {
            link_type,
            snaplen: 262_144,
            tsresol: None,
            tsoffset_s: None,
            name: None,
        }
    }

    /// Timestamp units per second (as the reader computes them).
    pub fn units_per_sec(&self) -> u64 {
        match self.tsresol {
            None => 1_000_000,
            Some(r) if r & 0x80 == 0 => 10u64.pow(u32::from(r & 0x7f)),
            Some(r) => 1u64 << (r & 0x7f),
        }
    }

    /// Raw timestamp units for `ts_ns` (floor), after removing `if_tsoffset`.
    pub fn units(&self, ts_ns: i64) -> u64 {
        let rel = i128::from(ts_ns) - i128::from(self.tsoffset_s.unwrap_or(0)) * 1_000_000_000;
        let rel = rel.max(0) as u128;
        (rel * u128::from(self.units_per_sec()) / 1_000_000_000) as u64
    }
}

pub const BT_SHB: u32 = 0x0a0d_0d0a;
pub const BT_IDB: u32 = 1;
pub const BT_SPB: u32 = 3;
pub const BT_EPB: u32 = 6;

/// pcapng writer: sections, interfaces, packet blocks, and arbitrary blocks.
pub struct NgWriter<W: Write> {
    out: W,
    order: ByteOrder,
    buf: Vec<u8>,
    /// Interfaces of the current section.
    ifaces: Vec<NgInterface>,
    bytes: u64,
    records: u64,
    /// Interface the [`PacketSink`] impl writes to.
    pub default_interface: u32,
}

impl<W: Write> NgWriter<W> {
    /// Start the file with a Section Header Block in byte order `order`.
    pub fn new(out: W, order: ByteOrder) -> io::Result<Self> {
        let mut w = NgWriter {
            out,
            order,
            buf: Vec::with_capacity(65_600),
            ifaces: Vec::new(),
            bytes: 0,
            records: 0,
            default_interface: 0,
        };
        w.section(order)?;
        Ok(w)
    }

    /// Start a new section (new SHB). Its interfaces start again from id 0.
    pub fn section(&mut self, order: ByteOrder) -> io::Result<()> {
        self.order = order;
        self.ifaces.clear();
        let o = order;
        self.begin(BT_SHB);
        put32(&mut self.buf, o, 0x1a2b_3c4d);
        put16(&mut self.buf, o, 1);
        put16(&mut self.buf, o, 0);
        put64(&mut self.buf, o, u64::MAX); // section length unknown
        self.end_block()
    }

    /// Declare an interface (IDB) in the current section, wherever we are; returns its id.
    pub fn interface(&mut self, iface: NgInterface) -> io::Result<u32> {
        let o = self.order;
        self.begin(BT_IDB);
        put16(&mut self.buf, o, iface.link_type);
        put16(&mut self.buf, o, 0);
        put32(&mut self.buf, o, iface.snaplen);
        let mut any = false;
        if let Some(name) = &iface.name {
            self.option(2, name.as_bytes());
            any = true;
        }
        if let Some(r) = iface.tsresol {
            self.option(9, &[r]);
            any = true;
        }
        if let Some(off) = iface.tsoffset_s {
            let b = match o {
                ByteOrder::Little => off.to_le_bytes(),
                ByteOrder::Big => off.to_be_bytes(),
            };
            self.option(14, &b);
            any = true;
        }
        if any {
            self.option(0, &[]); // opt_endofopt
        }
        self.ifaces.push(iface);
        self.end_block()?;
        Ok((self.ifaces.len() - 1) as u32)
    }

    /// Interfaces declared in the current section.
    pub fn interfaces(&self) -> &[NgInterface] {
        &self.ifaces
    }

    /// Enhanced Packet Block. Timestamps use the interface's resolution and offset (an
    /// undeclared interface id is written as-is with microseconds, to test readers).
    pub fn epb(&mut self, iface: u32, ts_ns: i64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let units = match self.ifaces.get(iface as usize) {
            Some(i) => i.units(ts_ns),
            None => NgInterface::new(1).units(ts_ns),
        };
        let o = self.order;
        self.begin(BT_EPB);
        put32(&mut self.buf, o, iface);
        put32(&mut self.buf, o, (units >> 32) as u32);
        put32(&mut self.buf, o, units as u32);
        put32(&mut self.buf, o, data.len() as u32);
        put32(&mut self.buf, o, orig_len);
        self.packet_data_and_end(data)
    }

    /// Simple Packet Block (interface 0, no timestamp). The captured length is implicit:
    /// `data` is written padded; readers take min(orig_len, room, snaplen).
    pub fn spb(&mut self, data: &[u8], orig_len: u32) -> io::Result<()> {
        self.begin(BT_SPB);
        put32(&mut self.buf, self.order, orig_len);
        self.packet_data_and_end(data)
    }

    /// Any block: `body` (padded to 4 bytes) between the type/length and trailing length.
    pub fn block(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        self.begin(block_type);
        self.buf.extend_from_slice(body);
        self.pad4();
        self.end_block()
    }

    fn packet_data_and_end(&mut self, data: &[u8]) -> io::Result<()> {
        // Write the head, then the data straight from the caller's slice (no copy), then
        // padding and trailing length.
        let pad = (4 - data.len() % 4) % 4;
        let total = self.buf.len() + data.len() + pad + 4;
        self.patch_len(total as u32);
        self.out.write_all(&self.buf)?;
        self.out.write_all(data)?;
        self.buf.clear();
        self.buf.extend_from_slice(&[0u8; 3][..pad]);
        put32(&mut self.buf, self.order, total as u32);
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.bytes += total as u64;
        self.records += 1;
        Ok(())
    }

    fn begin(&mut self, block_type: u32) {
        self.buf.clear();
        put32(&mut self.buf, self.order, block_type);
        put32(&mut self.buf, self.order, 0);
    }

    fn option(&mut self, code: u16, value: &[u8]) {
        put16(&mut self.buf, self.order, code);
        put16(&mut self.buf, self.order, value.len() as u16);
        self.buf.extend_from_slice(value);
        self.pad4();
    }

    fn pad4(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn patch_len(&mut self, total: u32) {
        let b = match self.order {
            ByteOrder::Little => total.to_le_bytes(),
            ByteOrder::Big => total.to_be_bytes(),
        };
        self.buf[4..8].copy_from_slice(&b);
    }

    fn end_block(&mut self) -> io::Result<()> {
        let total = (self.buf.len() + 4) as u32;
        self.patch_len(total);
        put32(&mut self.buf, self.order, total);
        self.out.write_all(&self.buf)?;
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> PacketSink for NgWriter<W> {
    fn record(&mut self, ts_ns: i64, data: &[u8], orig_len: u32) -> io::Result<()> {
        self.epb(self.default_interface, ts_ns, data, orig_len)
    }
    fn bytes_written(&self) -> u64 {
        self.bytes
    }
    fn records_written(&self) -> u64 {
        self.records
    }
}

/// Either writer behind one type, for code that picks the format at run time.
pub enum AnyWriter<W: Write> {
    Pcap(PcapWriter<W>),
    Ng(NgWriter<W>),
}

impl<W: Write> AnyWriter<W> {
    pub fn finish(self) -> io::Result<W> {
        match self {
            AnyWriter::Pcap(w) => w.finish(),
            AnyWriter::Ng(w) => w.finish(),
        }
    }
}

impl<W: Write> PacketSink for AnyWriter<W> {
    #[inline]
    fn record(&mut self, ts_ns: i64, data: &[u8], orig_len: u32) -> io::Result<()> {
        match self {
            AnyWriter::Pcap(w) => w.record(ts_ns, data, orig_len),
            AnyWriter::Ng(w) => w.record(ts_ns, data, orig_len),
        }
    }
    fn bytes_written(&self) -> u64 {
        match self {
            AnyWriter::Pcap(w) => w.bytes_written(),
            AnyWriter::Ng(w) => w.bytes_written(),
        }
    }
    fn records_written(&self) -> u64 {
        match self {
            AnyWriter::Pcap(w) => w.records_written(),
            AnyWriter::Ng(w) => w.records_written(),
        }
    }
}
