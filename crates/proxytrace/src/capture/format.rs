//! Format detection by magic number, never by file name.

crate::named_enum! {
    /// Byte order of a file's (or pcapng section's) headers.
    pub enum ByteOrder {
        /// Least significant byte first.
        Little => "little-endian",
        /// Most significant byte first.
        Big => "big-endian",
    }
}

impl ByteOrder {
    /// Read a `u16` from its 2 bytes in this order.
    #[inline]
    pub fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            ByteOrder::Little => u16::from_le_bytes(b),
            ByteOrder::Big => u16::from_be_bytes(b),
        }
    }
    /// Read a `u32` from its 4 bytes in this order.
    #[inline]
    pub fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        }
    }
    /// Read a `u64` from its 8 bytes in this order.
    #[inline]
    pub fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            ByteOrder::Little => u64::from_le_bytes(b),
            ByteOrder::Big => u64::from_be_bytes(b),
        }
    }
}

crate::named_enum! {
    /// Timestamp units of a legacy pcap file (pcapng has one per interface).
    pub enum TimeResolution {
        /// Microseconds (the classic magic).
        Micro => "microsecond",
        /// Nanoseconds (the 0xa1b23c4d magic).
        Nano => "nanosecond",
    }
}

crate::named_enum! {
    /// The compression a capture file is wrapped in.
    pub enum Compression {
        /// A plain capture.
        None => "none",
        /// gzip.
        Gzip => "gzip",
        /// Zstandard.
        Zstd => "zstd",
    }
}

/// What the first bytes say the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Legacy libpcap. `modified` is Alexey Kuznetzov's variant with 24-byte record headers.
    Pcap {
        /// Byte order of the file and record headers.
        order: ByteOrder,
        /// Units of the records' sub-second timestamp field.
        resolution: TimeResolution,
        /// The modified format (magic 0xa1b2cd34): record headers of 24 bytes, not 16.
        modified: bool,
    },
    /// pcapng; the byte order is per section and read from each SHB.
    PcapNg,
    /// A gzip or zstd stream; the capture inside is detected after decompression.
    Compressed(Compression),
}

const PCAPNG_SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Identify a file from its first 4 bytes. `None` when they match no known magic.
pub fn detect(magic: &[u8]) -> Option<FileFormat> {
    let m: [u8; 4] = magic.get(..4)?.try_into().ok()?;
    use ByteOrder::*;
    use TimeResolution::*;
    let pcap = |order, resolution, modified| {
        Some(FileFormat::Pcap {
            order,
            resolution,
            modified,
        })
    };
    match m {
        [0xd4, 0xc3, 0xb2, 0xa1] => pcap(Little, Micro, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => pcap(Big, Micro, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => pcap(Little, Nano, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => pcap(Big, Nano, false),
        [0x34, 0xcd, 0xb2, 0xa1] => pcap(Little, Micro, true),
        [0xa1, 0xb2, 0xcd, 0x34] => pcap(Big, Micro, true),
        PCAPNG_SHB => Some(FileFormat::PcapNg),
        [0x1f, 0x8b, _, _] => Some(FileFormat::Compressed(Compression::Gzip)),
        [0x28, 0xb5, 0x2f, 0xfd] => Some(FileFormat::Compressed(Compression::Zstd)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pcap_magic_in_both_orders() {
        let cases: [([u8; 4], ByteOrder, TimeResolution, bool); 6] = [
            (
                [0xd4, 0xc3, 0xb2, 0xa1],
                ByteOrder::Little,
                TimeResolution::Micro,
                false,
            ),
            (
                [0xa1, 0xb2, 0xc3, 0xd4],
                ByteOrder::Big,
                TimeResolution::Micro,
                false,
            ),
            (
                [0x4d, 0x3c, 0xb2, 0xa1],
                ByteOrder::Little,
                TimeResolution::Nano,
                false,
            ),
            (
                [0xa1, 0xb2, 0x3c, 0x4d],
                ByteOrder::Big,
                TimeResolution::Nano,
                false,
            ),
            (
                [0x34, 0xcd, 0xb2, 0xa1],
                ByteOrder::Little,
                TimeResolution::Micro,
                true,
            ),
            (
                [0xa1, 0xb2, 0xcd, 0x34],
                ByteOrder::Big,
                TimeResolution::Micro,
                true,
            ),
        ];
        for (magic, order, resolution, modified) in cases {
            assert_eq!(
                detect(&magic),
                Some(FileFormat::Pcap {
                    order,
                    resolution,
                    modified
                })
            );
        }
        assert_eq!(detect(&PCAPNG_SHB), Some(FileFormat::PcapNg));
        assert_eq!(detect(b"GET "), None);
        assert_eq!(detect(&[0xd4, 0xc3]), None);
    }
}
