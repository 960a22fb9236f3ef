//! The vocabulary both format parsers and the walker share: records, skip reasons and the
//! parser's step results. A leaf: the parsers (legacy, ng) and the walker import it, so
//! the dependency runs one way (walk -> legacy/ng -> record).

/// Largest record we accept whatever the header's snap length says: libpcap's
/// MAXIMUM_SNAPLEN (256 KiB) is exceeded by some link types (D-Bus 128 MiB is theoretical,
/// USB and netlink captures reach a few MiB), so be generous but finite.
pub const MAX_RECORD_LEN: u32 = 16 * 1024 * 1024;
/// One capture record, borrowed from the mapped file or the stream buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// 1-based ordinal among the file's packet records, as Wireshark numbers frames.
    /// Skipped records consume a number too, so indexes match other tools.
    pub index: u64,
    /// Byte offset of the record (pcap record header or pcapng block) in the
    /// (decompressed) file.
    pub offset: u64,
    /// Nanoseconds since the Unix epoch (0 for pcapng Simple Packet Blocks, which carry none).
    pub ts_ns: i64,
    /// Interface number: 0 for legacy pcap; for pcapng, the file-wide interface ordinal
    /// counting across sections.
    pub interface: u32,
    /// Link-layer type (LINKTYPE_*) of the record's interface.
    pub link_type: u16,
    /// Bytes captured (the length of `data`).
    pub caplen: u32,
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// The whole record as the file stores it, `data` inside it: the pcap record header
    /// and data, or the pcapng packet block with its options and trailing length (what
    /// `carve` copies byte for byte).
    pub raw: &'a [u8],
    /// Where `data` starts in the bytes the walk reads from: the file offset for a
    /// whole-file walk; under the parallel engine, the position in the chunk's source
    /// bytes, so a job can keep offsets instead of copies.
    pub data_offset: u64,
}

crate::named_enum! {
    /// Why bytes or records were skipped. Records skipped count as records read.
    pub enum SkipReason {
        /// The file ends inside a record: its header or data is cut short.
        TruncatedRecord => "truncated_record",
        /// A record header whose lengths cannot be right (caplen beyond any sane snap length,
        /// a pcapng block length that is not a multiple of 4, ...): bytes skipped until the
        /// next plausible record chain.
        DamagedHeader => "damaged_header",
        /// A pcapng block whose trailing length differs from its leading length.
        BlockLengthMismatch => "block_length_mismatch",
        /// A pcapng packet block whose captured length exceeds its block.
        BadPacketBlock => "bad_packet_block",
        /// A pcapng packet block naming an interface no IDB declared.
        UnknownInterface => "unknown_interface",
        /// A pcapng section or interface header that cannot be parsed.
        BadSectionOrInterface => "bad_section_or_interface",
        /// A non-packet pcapng block cut short by the end of the file.
        TruncatedBlock => "truncated_block",
        /// A pcapng interface whose `if_tsresol` gives no usable units per second (finer
        /// than 10^-19 or 2^-63 s, the range whose units fit a u64, as libpcap rejects; or an
        /// empty option). The interface is kept and its timestamps read as microseconds.
        BadIfTsresol => "bad_if_tsresol",
        /// A packet whose time does not fit i64 nanoseconds (before 1677-09-21 or after
        /// 2262-04-11 UTC). The packet is kept, at the nearest representable time.
        TimestampOutOfRange => "timestamp_out_of_range",
        /// A packet outside the `--since`/`--until` window: read (its header), not decoded.
        OutsideTimeWindow => "outside_time_window",
    }
}

impl SkipReason {
    /// Whether this skip stands for a packet record (counted in `records`) or for raw
    /// bytes between records (counted in `damaged_bytes`).
    pub fn is_record(self) -> bool {
        matches!(
            self,
            SkipReason::TruncatedRecord
                | SkipReason::BadPacketBlock
                | SkipReason::UnknownInterface
                | SkipReason::OutsideTimeWindow
        )
    }
}

/// A record as the parser sees it, before the walker numbers it.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Interface number (see [`Record::interface`]).
    pub interface: u32,
    /// Link-layer type (LINKTYPE_*).
    pub link_type: u16,
    /// Bytes captured (the length of `data`).
    pub caplen: u32,
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// What a parser found at a position.
#[derive(Debug)]
pub enum Step<'a> {
    /// A packet record ending at `next`.
    Record(RawRecord<'a>, usize),
    /// A non-packet block (pcapng SHB, IDB, statistics, unknown types) ending at `next`.
    Block(usize),
    /// A packet record with a field that cannot be right (a time out of range): emitted
    /// like [`Step::Record`], and listed as damage of `reason` at its offset.
    DamagedRecord(RawRecord<'a>, SkipReason, usize),
    /// A non-packet block used despite a bad field (an IDB's `if_tsresol`): counted like
    /// [`Step::Block`], and listed as damage of `reason` at its offset.
    DamagedBlock(SkipReason, usize),
    /// A record that exists but cannot be emitted: counted as a packet record read and
    /// skipped when `reason.is_record()`, else as skipped bytes.
    SkippedRecord(SkipReason, usize),
    /// Not enough bytes in view to decide; only returned when not at end of file.
    NeedMore,
    /// `pos` is exactly the end of the file.
    End,
    /// The bytes at `pos` are not a valid record: resynchronise.
    Damaged(SkipReason),
}

/// Outcome of a search for the next plausible record after damage.
#[derive(Debug, PartialEq, Eq)]
pub enum Resync {
    /// A plausible record chain starts here.
    Found(usize),
    /// Nothing plausible starts before this position; more bytes are needed to judge it.
    NeedMore(usize),
    /// Nothing plausible until the end of file.
    NotFound,
}
