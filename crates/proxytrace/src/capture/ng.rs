//! pcapng.
//!
//! pcap-parser parses Section Header and Interface Description Blocks. The packet blocks are
//! read here because pcap-parser allocates a Vec of options per Enhanced Packet Block, has
//! Simple Packet Block truncation inverted, takes `if_tsoffset` little-endian in big-endian
//! sections, returns no resolution for power-of-two `if_tsresol`, and its capture type
//! panics on a second section.

use super::format::ByteOrder;
use super::record::{RawRecord, Resync, SkipReason, Step, MAX_RECORD_LEN};
use serde::Serialize;

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const NRB: u32 = 4;
const ISB: u32 = 5;
const EPB: u32 = 6;
const DSB: u32 = 10;
const CUSTOM_COPY: u32 = 0x0000_0bad;
const CUSTOM_NOCOPY: u32 = 0x4000_0bad;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Largest block we believe: a 16 MiB packet plus its block framing.
const MAX_BLOCK_LEN: u32 = MAX_RECORD_LEN + 64;
const CHAIN_LEN: usize = 16;

/// One interface declared by an IDB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// 0-based section this interface belongs to.
    pub section: u32,
    /// Interface id within its section (what packet blocks refer to).
    pub id_in_section: u32,
    /// Link-layer type (LINKTYPE_*); 0xffff for an IDB that could not be parsed.
    pub link_type: u16,
    /// Snap length the IDB declares, bytes; 0 means no limit.
    pub snaplen: u32,
    /// Timestamp units per second (10^6 unless if_tsresol says otherwise).
    pub units_per_sec: u64,
    /// if_tsoffset: seconds added to every timestamp.
    pub offset_s: i64,
    /// The `if_name` option, when present (invalid UTF-8 replaced).
    pub name: Option<String>,
    /// The section's byte order.
    pub order: ByteOrder,
}

/// Reads the blocks of a pcapng file, carrying the state records depend on: the current
/// section's byte order and every interface declared so far.
#[derive(Debug, Clone, PartialEq)]
pub struct NgParser {
    /// Byte order of the current section.
    pub order: ByteOrder,
    /// Every interface seen so far, across sections, in file order.
    pub interfaces: Vec<Interface>,
    /// Index in `interfaces` of the current section's interface 0.
    section_base: usize,
    /// Sections seen so far.
    pub sections: u32,
}

impl Default for NgParser {
    fn default() -> Self {
        NgParser {
            order: ByteOrder::Little,
            interfaces: Vec::new(),
            section_base: 0,
            sections: 0,
        }
    }
}

#[inline]
fn read_u32(order: ByteOrder, b: &[u8], at: usize) -> u32 {
    order.u32([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn is_known_type(t: u32) -> bool {
    matches!(
        t,
        SHB | IDB | OPB | SPB | NRB | ISB | EPB | DSB | CUSTOM_COPY | CUSTOM_NOCOPY
    ) || (7..=9).contains(&t)
}

fn min_len(t: u32) -> u32 {
    match t {
        SHB => 28,
        IDB => 20,
        EPB | OPB => 32,
        SPB => 16,
        ISB => 24,
        _ => 12,
    }
}

/// Convert a raw pcapng timestamp to nanoseconds since the epoch, exactly. `Err` holds
/// the nearest representable time when the true one does not fit i64 nanoseconds
/// (before 1677-09-21 or after 2262-04-11 UTC).
fn ts_to_ns(units: u64, units_per_sec: u64, offset_s: i64) -> Result<i64, i64> {
    // u64 units times 10^9 fits a u128, and adding an i64 offset in seconds fits an i128.
    let ns = (u128::from(units) * 1_000_000_000) / u128::from(units_per_sec.max(1));
    let total = ns as i128 + i128::from(offset_s) * 1_000_000_000;
    i64::try_from(total).map_err(|_| if total < 0 { i64::MIN } else { i64::MAX })
}

/// Decode `if_tsresol`: high bit clear means 10^-n, set means 2^-n seconds per unit.
/// Valid are the resolutions whose units per second fit a u64: 10^0..=10^-19 and
/// 2^0..=2^-63 (libpcap accepts the same range); None for anything finer.
fn units_per_sec(tsresol: u8) -> Option<u64> {
    let n = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(n)
    } else {
        1u64.checked_shl(n).filter(|_| n < 64)
    }
}

impl NgParser {
    /// A parser for a file whose first section has byte order `order`.
    pub fn new(order: ByteOrder) -> NgParser {
        NgParser {
            order,
            ..NgParser::default()
        }
    }

    /// The block type and total length at `pos`, in the byte order that applies there.
    fn header(&self, buf: &[u8], pos: usize) -> Option<(u32, u32, ByteOrder)> {
        let h = buf.get(pos..pos + 12)?;
        let t = read_u32(ByteOrder::Little, h, 0);
        if t == SHB {
            // The SHB's own byte-order magic decides how its length reads.
            let order = if read_u32(ByteOrder::Little, h, 8) == BYTE_ORDER_MAGIC {
                ByteOrder::Little
            } else if read_u32(ByteOrder::Big, h, 8) == BYTE_ORDER_MAGIC {
                ByteOrder::Big
            } else {
                return None;
            };
            return Some((SHB, read_u32(order, h, 4), order));
        }
        let t = read_u32(self.order, h, 0);
        Some((t, read_u32(self.order, h, 4), self.order))
    }

    fn length_ok(t: u32, len: u32) -> bool {
        len.is_multiple_of(4) && len >= min_len(t) && len <= MAX_BLOCK_LEN
    }

    /// Read the block at `pos`, taking in section and interface blocks as they come.
    /// `at_eof` says `buf` runs to the end of the file; without it, a block not wholly in
    /// view is [`Step::NeedMore`].
    pub fn step<'a>(&mut self, buf: &'a [u8], pos: usize, at_eof: bool) -> Step<'a> {
        let avail = buf.len().saturating_sub(pos);
        if avail < 12 {
            return match (avail, at_eof) {
                (0, true) => Step::End,
                (_, true) => {
                    // The block type tells whether a packet record was cut; with fewer
                    // than 4 bytes nobody can tell, and they count as bytes.
                    let ty = buf.get(pos..pos + 4).map(|b| read_u32(self.order, b, 0));
                    let reason = if matches!(ty, Some(EPB | SPB | OPB)) {
                        SkipReason::TruncatedRecord
                    } else {
                        SkipReason::TruncatedBlock
                    };
                    Step::SkippedRecord(reason, buf.len())
                }
                _ => Step::NeedMore,
            };
        }
        let Some((t, len, order)) = self.header(buf, pos) else {
            return Step::Damaged(SkipReason::DamagedHeader);
        };
        if !Self::length_ok(t, len) {
            return Step::Damaged(SkipReason::DamagedHeader);
        }
        let end = pos + len as usize;
        if end > buf.len() {
            return if at_eof {
                let reason = if matches!(t, EPB | SPB | OPB) {
                    SkipReason::TruncatedRecord
                } else {
                    SkipReason::TruncatedBlock
                };
                Step::SkippedRecord(reason, buf.len())
            } else {
                Step::NeedMore
            };
        }
        let block = &buf[pos..end];
        if read_u32(order, block, block.len() - 4) != len {
            return Step::Damaged(SkipReason::BlockLengthMismatch);
        }
        match t {
            SHB => self.section(block, order, end),
            IDB => self.interface(block, end),
            EPB => self.enhanced(block, end),
            SPB => self.simple(block, end),
            OPB => self.obsolete(block, end),
            _ => Step::Block(end),
        }
    }

    fn section<'a>(&mut self, block: &[u8], order: ByteOrder, end: usize) -> Step<'a> {
        match pcap_parser::pcapng::parse_sectionheaderblock(block) {
            Ok(_) => {
                self.order = order;
                self.section_base = self.interfaces.len();
                self.sections += 1;
                Step::Block(end)
            }
            Err(_) => Step::SkippedRecord(SkipReason::BadSectionOrInterface, end),
        }
    }

    fn interface<'a>(&mut self, block: &[u8], end: usize) -> Step<'a> {
        let parsed = match self.order {
            ByteOrder::Little => pcap_parser::pcapng::parse_interfacedescriptionblock_le(block),
            ByteOrder::Big => pcap_parser::pcapng::parse_interfacedescriptionblock_be(block),
        };
        let Ok((_, idb)) = parsed else {
            // Count it, and keep interface numbering aligned with what packet blocks expect.
            self.push_interface(0xffff, 0, 1_000_000, 0, None);
            return Step::SkippedRecord(SkipReason::BadSectionOrInterface, end);
        };
        let mut units = 1_000_000;
        let mut bad_resolution = false;
        let mut offset_s = 0i64;
        let mut name = None;
        for opt in &idb.options {
            let Ok(v) = opt.as_bytes() else { continue };
            match opt.code.0 {
                2 => name = Some(String::from_utf8_lossy(v).into_owned()),
                // Unusable: damage, and the interface keeps the default microseconds.
                9 => match v.first().and_then(|&r| units_per_sec(r)) {
                    Some(u) => units = u,
                    None => bad_resolution = true,
                },
                14 if v.len() >= 8 => {
                    offset_s = self
                        .order
                        .u64([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]])
                        as i64
                }
                _ => {}
            }
        }
        self.push_interface(
            (idb.linktype.0 & 0xffff) as u16,
            idb.snaplen,
            units,
            offset_s,
            name,
        );
        if bad_resolution {
            Step::DamagedBlock(SkipReason::BadIfTsresol, end)
        } else {
            Step::Block(end)
        }
    }

    fn push_interface(
        &mut self,
        link_type: u16,
        snaplen: u32,
        units_per_sec: u64,
        offset_s: i64,
        name: Option<String>,
    ) {
        self.interfaces.push(Interface {
            section: self.sections.saturating_sub(1),
            id_in_section: (self.interfaces.len() - self.section_base) as u32,
            link_type,
            snaplen,
            units_per_sec,
            offset_s,
            name,
            order: self.order,
        });
    }

    /// The file-wide interface for a section-local id.
    fn iface(&self, id: u32) -> Option<(u32, &Interface)> {
        let global = self.section_base.checked_add(id as usize)?;
        self.interfaces.get(global).map(|i| (global as u32, i))
    }

    #[allow(clippy::too_many_arguments)]
    fn packet<'a>(
        &self,
        block: &'a [u8],
        end: usize,
        iface_id: u32,
        ts_units: Option<u64>,
        caplen: u32,
        orig_len: u32,
        data_at: usize,
    ) -> Step<'a> {
        let Some((global, iface)) = self.iface(iface_id) else {
            return Step::SkippedRecord(SkipReason::UnknownInterface, end);
        };
        // Data plus the trailing length must fit in the block.
        let data_end = data_at + caplen as usize;
        if data_end + 4 > block.len() {
            return Step::SkippedRecord(SkipReason::BadPacketBlock, end);
        }
        let ts = ts_units.map_or(Ok(0), |u| ts_to_ns(u, iface.units_per_sec, iface.offset_s));
        let raw = RawRecord {
            ts_ns: ts.unwrap_or_else(|nearest| nearest),
            interface: global,
            link_type: iface.link_type,
            caplen,
            orig_len,
            data: &block[data_at..data_end],
        };
        match ts {
            Ok(_) => Step::Record(raw, end),
            Err(_) => Step::DamagedRecord(raw, SkipReason::TimestampOutOfRange, end),
        }
    }

    fn enhanced<'a>(&self, b: &'a [u8], end: usize) -> Step<'a> {
        let o = self.order;
        let ts = (u64::from(read_u32(o, b, 12)) << 32) | u64::from(read_u32(o, b, 16));
        self.packet(
            b,
            end,
            read_u32(o, b, 8),
            Some(ts),
            read_u32(o, b, 20),
            read_u32(o, b, 24),
            28,
        )
    }

    fn obsolete<'a>(&self, b: &'a [u8], end: usize) -> Step<'a> {
        let o = self.order;
        let iface = u32::from(o.u16([b[8], b[9]]));
        let ts = (u64::from(read_u32(o, b, 12)) << 32) | u64::from(read_u32(o, b, 16));
        self.packet(
            b,
            end,
            iface,
            Some(ts),
            read_u32(o, b, 20),
            read_u32(o, b, 24),
            28,
        )
    }

    fn simple<'a>(&self, b: &'a [u8], end: usize) -> Step<'a> {
        let orig = read_u32(self.order, b, 8);
        // The captured length is implicit: the original length, cut to what the block holds.
        let room = (b.len() - 16) as u32;
        let caplen = orig.min(room);
        let snap = self.iface(0).map_or(0, |(_, i)| i.snaplen);
        let caplen = if snap > 0 { caplen.min(snap) } else { caplen };
        self.packet(b, end, 0, None, caplen, orig, 12)
    }

    /// Whether a block at `pos` has believable framing: known type, sane length and a
    /// matching trailing length. `None` when the bytes to judge it are not in view yet.
    fn plausible(&self, buf: &[u8], pos: usize, at_eof: bool) -> Option<Option<usize>> {
        if pos + 12 > buf.len() {
            return if at_eof { Some(None) } else { None };
        }
        let Some((t, len, order)) = self.header(buf, pos) else {
            return Some(None);
        };
        if !is_known_type(t) || !Self::length_ok(t, len) {
            return Some(None);
        }
        let end = pos + len as usize;
        match buf.get(end - 4..end) {
            Some(tail) => Some((read_u32(order, tail, 0) == len).then_some(end)),
            None if at_eof => Some(None),
            None => None,
        }
    }

    /// Find the first 4-byte-aligned offset at or after `from` where a believable chain of
    /// blocks starts: 16 blocks in a row with a known type, a sane length and a matching
    /// trailing length, or all of them up to the end of the file.
    pub fn resync(&self, buf: &[u8], from: usize, at_eof: bool) -> Resync {
        // Blocks start at multiples of 4 from the file start.
        let mut p = from.next_multiple_of(4);
        'candidates: while p < buf.len() {
            let mut q = p;
            for _ in 0..CHAIN_LEN {
                if q == buf.len() {
                    // A chain ending exactly at the end of the file is complete.
                    return if at_eof {
                        Resync::Found(p)
                    } else {
                        Resync::NeedMore(p)
                    };
                }
                match self.plausible(buf, q, at_eof) {
                    Some(Some(next)) => q = next,
                    Some(None) => {
                        p += 4;
                        continue 'candidates;
                    }
                    None => return Resync::NeedMore(p),
                }
            }
            return Resync::Found(p);
        }
        if at_eof {
            Resync::NotFound
        } else {
            Resync::NeedMore(p.min(buf.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_powers_of_ten_and_two() {
        assert_eq!(units_per_sec(6), Some(1_000_000));
        assert_eq!(units_per_sec(9), Some(1_000_000_000));
        assert_eq!(units_per_sec(0x80 | 10), Some(1024));
        assert_eq!(units_per_sec(0x80 | 64), None);
        assert_eq!(units_per_sec(20), None);
        // The edges of the valid range: 10^19 and 2^63 units per second still fit a u64.
        assert_eq!(units_per_sec(19), Some(10_000_000_000_000_000_000));
        assert_eq!(units_per_sec(0x80 | 63), Some(1 << 63));
        assert_eq!(units_per_sec(0), Some(1));
        assert_eq!(units_per_sec(0x80), Some(1));
        assert_eq!(units_per_sec(0x7f), None);
        assert_eq!(units_per_sec(0xff), None);
    }

    #[test]
    fn timestamps_convert_exactly() {
        assert_eq!(ts_to_ns(1_500_000, 1_000_000, 0), Ok(1_500_000_000));
        assert_eq!(ts_to_ns(1024 * 3 + 512, 1024, 0), Ok(3_500_000_000));
        assert_eq!(ts_to_ns(1, 1_000_000_000, 10), Ok(10_000_000_001));
        // Before 1970 through a negative offset is representable.
        assert_eq!(ts_to_ns(0, 1, -5), Ok(-5_000_000_000));
    }

    #[test]
    fn timestamps_outside_i64_nanoseconds_are_errors_with_the_nearest_time() {
        // i64::MAX ns is 9_223_372_036.854775807 s: one more second is out of range.
        assert_eq!(ts_to_ns(9_223_372_036, 1, 0), Ok(9_223_372_036_000_000_000));
        assert_eq!(ts_to_ns(9_223_372_037, 1, 0), Err(i64::MAX));
        assert_eq!(ts_to_ns(u64::MAX, 1, 0), Err(i64::MAX));
        // In range by units, pushed out by if_tsoffset, either way.
        assert_eq!(ts_to_ns(1, 1, i64::MAX), Err(i64::MAX));
        assert_eq!(ts_to_ns(0, 1, -9_223_372_037), Err(i64::MIN));
        // A large negative offset can bring large units back into range.
        // 10^10 s does not fit in ns, but with an offset of -5 * 10^9 s the time does.
        assert_eq!(
            ts_to_ns(10_000_000_000, 1, -5_000_000_000),
            Ok(5_000_000_000_000_000_000)
        );
    }
}
