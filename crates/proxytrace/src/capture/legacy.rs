//! Legacy libpcap files.
//!
//! pcap-parser reads the 24-byte file header. Records are walked here: pcap-parser's
//! `LegacyPcapSlice` always uses the little-endian frame parser (big-endian files fail),
//! cannot start at an arbitrary offset, and reports truncation and garbage lengths alike as
//! `Incomplete`; the walker needs all three distinctions.

use super::error::CaptureError;
use super::format::{ByteOrder, TimeResolution};
use super::record::{RawRecord, Resync, SkipReason, Step, MAX_RECORD_LEN};
use std::path::Path;

/// libpcap's MAXIMUM_SNAPLEN: the bound on a sane record whatever the header says.
const LIBPCAP_MAX_SNAPLEN: u32 = 262_144;
/// Records in a row that must look right before a resync candidate is believed
/// (notes/ARCHITECTURE.md: 8 still gave false starts on pcap-in-payload traffic, 16 none).
pub(crate) const CHAIN_LEN: usize = 16;
/// Largest time step between consecutive records of a believable chain.
const CHAIN_MAX_DT_S: i64 = 3600;
/// Plausible record times, relative to the first record, when resynchronising.
const WINDOW_BEFORE_S: i64 = 86_400;
const WINDOW_AFTER_S: i64 = 366 * 86_400;

/// Reads the records of a legacy pcap file, with the file header's settings and the
/// first record's time that anchors resynchronisation.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyParser {
    /// Byte order of the file, from the magic.
    pub order: ByteOrder,
    /// Units of the sub-second timestamp field, from the magic.
    pub resolution: TimeResolution,
    /// Kuznetzov's modified format: 24-byte record headers.
    pub modified: bool,
    /// Format version as (major, minor); files before 2.3 may store the two record
    /// lengths the other way round.
    pub version: (u16, u16),
    /// Snap length as the file header states it (records longer than
    /// `max(snaplen, 256 KiB)`, capped at [`MAX_RECORD_LEN`], are damage).
    pub snaplen: u32,
    /// Link-layer type (LINKTYPE_*): the low 16 bits of the header's link-type field.
    pub link_type: u16,
    /// The upper bits of the link-type field (FCS length, ...), kept for `info`.
    pub link_type_flags: u16,
    /// Time of the first record (seconds), anchoring the resync window.
    pub first_ts_s: Option<i64>,
    max_caplen: u32,
}

impl LegacyParser {
    /// Parse the 24-byte file header. `magic` came from `format::detect`.
    pub fn from_header(
        path: &Path,
        head: &[u8],
        order: ByteOrder,
        resolution: TimeResolution,
        modified: bool,
    ) -> Result<LegacyParser, CaptureError> {
        if head.len() < 24 {
            return Err(CaptureError::TruncatedHeader {
                path: path.to_path_buf(),
                have: head.len(),
                need: 24,
            });
        }
        let (version, snaplen, network) = match pcap_parser::parse_pcap_header(head) {
            Ok((_, h)) => (
                (h.version_major, h.version_minor),
                h.snaplen,
                h.network.0 as u32,
            ),
            // pcap-parser does not know the byte-swapped "modified" magic; read it by hand.
            Err(_) => {
                let u16_at = |at: usize| order.u16([head[at], head[at + 1]]);
                let u32_at =
                    |at: usize| order.u32([head[at], head[at + 1], head[at + 2], head[at + 3]]);
                ((u16_at(4), u16_at(6)), u32_at(16), u32_at(20))
            }
        };
        Ok(LegacyParser {
            order,
            resolution,
            modified,
            version,
            snaplen,
            link_type: (network & 0xffff) as u16,
            link_type_flags: (network >> 16) as u16,
            first_ts_s: None,
            // A hostile header's snaplen must not let one record make a stream buffer
            // the rest of the file: past MAX_RECORD_LEN a length is damage.
            max_caplen: snaplen.clamp(LIBPCAP_MAX_SNAPLEN, MAX_RECORD_LEN),
        })
    }

    /// Bytes of the file header: the first record starts here.
    pub fn header_len(&self) -> usize {
        24
    }

    fn record_header_len(&self) -> usize {
        if self.modified {
            24
        } else {
            16
        }
    }

    #[inline]
    fn fields(&self, h: &[u8]) -> (u32, u32, u32, u32) {
        let o = self.order;
        let ts_s = o.u32([h[0], h[1], h[2], h[3]]);
        let frac = o.u32([h[4], h[5], h[6], h[7]]);
        let mut caplen = o.u32([h[8], h[9], h[10], h[11]]);
        let mut orig = o.u32([h[12], h[13], h[14], h[15]]);
        // Files older than format 2.3 wrote the two lengths the other way round.
        if self.version < (2, 3) && caplen > orig {
            std::mem::swap(&mut caplen, &mut orig);
        }
        (ts_s, frac, caplen, orig)
    }

    #[inline]
    fn ts_ns(&self, ts_s: u32, frac: u32) -> i64 {
        let sub = match self.resolution {
            TimeResolution::Micro => i64::from(frac) * 1000,
            TimeResolution::Nano => i64::from(frac),
        };
        i64::from(ts_s) * 1_000_000_000 + sub
    }

    /// Read the record at `pos`. `at_eof` says `buf` runs to the end of the file;
    /// without it, a record not wholly in view is [`Step::NeedMore`].
    #[inline]
    pub fn step<'a>(&mut self, buf: &'a [u8], pos: usize, at_eof: bool) -> Step<'a> {
        let hl = self.record_header_len();
        let avail = buf.len().saturating_sub(pos);
        if avail < hl {
            return match (avail, at_eof) {
                (0, true) => Step::End,
                (_, true) => Step::SkippedRecord(SkipReason::TruncatedRecord, buf.len()),
                _ => Step::NeedMore,
            };
        }
        let (ts_s, frac, caplen, orig) = self.fields(&buf[pos..pos + hl]);
        if caplen > self.max_caplen {
            return Step::Damaged(SkipReason::DamagedHeader);
        }
        let data_start = pos + hl;
        let end = data_start + caplen as usize;
        if end > buf.len() {
            return if at_eof {
                Step::SkippedRecord(SkipReason::TruncatedRecord, buf.len())
            } else {
                Step::NeedMore
            };
        }
        self.first_ts_s.get_or_insert(i64::from(ts_s));
        Step::Record(
            RawRecord {
                ts_ns: self.ts_ns(ts_s, frac),
                interface: 0,
                link_type: self.link_type,
                caplen,
                orig_len: orig,
                data: &buf[data_start..end],
            },
            end,
        )
    }

    /// Whether a record header at `pos` looks real; returns the next record's position
    /// and this record's time.
    fn plausible(&self, buf: &[u8], pos: usize) -> Option<(usize, i64)> {
        let hl = self.record_header_len();
        let h = buf.get(pos..pos + hl)?;
        let (ts_s, frac, caplen, orig) = self.fields(h);
        let frac_limit = match self.resolution {
            TimeResolution::Micro => 1_000_000,
            TimeResolution::Nano => 1_000_000_000,
        };
        if frac >= frac_limit || caplen == 0 || caplen > self.max_caplen {
            return None;
        }
        if orig < caplen || orig > self.max_caplen.max(LIBPCAP_MAX_SNAPLEN) {
            return None;
        }
        let ts = i64::from(ts_s);
        if let Some(first) = self.first_ts_s {
            if ts < first - WINDOW_BEFORE_S || ts > first + WINDOW_AFTER_S {
                return None;
            }
        }
        Some((pos + hl + caplen as usize, ts))
    }

    /// Validate a chain of records from `pos`: `Some(true)` believable, `Some(false)` not,
    /// `None` when the chain runs past the bytes in view before the end of file.
    pub(crate) fn chain_ok(&self, buf: &[u8], pos: usize, at_eof: bool) -> Option<bool> {
        let mut p = pos;
        let mut prev_ts: Option<i64> = None;
        for _ in 0..CHAIN_LEN {
            if p == buf.len() {
                // A chain that ends exactly at the end of the file is complete.
                return if at_eof { Some(true) } else { None };
            }
            if p + self.record_header_len() > buf.len() && !at_eof {
                return None;
            }
            let Some((next, ts)) = self.plausible(buf, p) else {
                return Some(false);
            };
            if next > buf.len() {
                return if at_eof { Some(false) } else { None };
            }
            if let Some(prev) = prev_ts {
                if (ts - prev).abs() > CHAIN_MAX_DT_S {
                    return Some(false);
                }
            }
            prev_ts = Some(ts);
            p = next;
        }
        Some(true)
    }

    /// Find the first byte offset at or after `from` where a believable chain of records
    /// starts: 16 plausible records in a row, or all of them up to the end of the file.
    pub fn resync(&self, buf: &[u8], from: usize, at_eof: bool) -> Resync {
        for p in from..buf.len() {
            match self.chain_ok(buf, p, at_eof) {
                Some(true) => return Resync::Found(p),
                Some(false) => {}
                None => return Resync::NeedMore(p),
            }
        }
        if at_eof {
            Resync::NotFound
        } else {
            Resync::NeedMore(buf.len())
        }
    }
}
