//! TCP option walker with p0f 3.09b's exact semantics.
//!
//! Hand-written rather than etherparse's `TcpOptionsIterator`: that iterator stops at the
//! first unknown kind (TFO 34, experimental 254) and hides EOL padding, and a p0f
//! signature needs both, plus p0f's precise notion of a malformed option (`bad`).
//!
//! Behaviour copied from p0f (checked against `p0f -r` on hand-built SYNs, see the tests):
//! - at most [`MAX_OPTIONS`] (24) options are recorded; bytes left after that make `bad`;
//! - MSS / WS / SACK-permitted / timestamp with a wrong length byte are `bad` but still
//!   read, and the walk advances by the *expected* length (4 / 3 / 2 / 10), not the stated one;
//! - an option that does not fit the header aborts the walk with `bad`;
//! - SACK with a length outside 10..=34 and any other kind with a length outside 2..=40
//!   abort with `bad`;
//! - EOL ends the walk: `eol+N` counts the bytes after it; a nonzero byte among them sets
//!   `opt+`, except when the only nonzero byte is the very last one (p0f's scan loop
//!   post-increments past it and then sees "end reached" - reproduced for parity).

/// p0f's MAX_TCP_OPT: how many options one signature records.
pub const MAX_OPTIONS: usize = 24;

/// TCP option kind 0: end of option list.
pub const KIND_EOL: u8 = 0;
/// TCP option kind 1: no-operation (padding).
pub const KIND_NOP: u8 = 1;
/// TCP option kind 2: maximum segment size.
pub const KIND_MSS: u8 = 2;
/// TCP option kind 3: window scale.
pub const KIND_WS: u8 = 3;
/// TCP option kind 4: SACK permitted.
pub const KIND_SACK_PERMITTED: u8 = 4;
/// TCP option kind 5: SACK blocks.
pub const KIND_SACK: u8 = 5;
/// TCP option kind 8: timestamps.
pub const KIND_TIMESTAMP: u8 = 8;

/// The option kinds in wire order (at most [`MAX_OPTIONS`]), inline: no allocation per packet.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionLayout {
    kinds: [u8; MAX_OPTIONS],
    len: u8,
    /// Bytes after an EOL option (`eol+N`); 0 without EOL.
    pub eol_pad: u8,
}

impl Default for OptionLayout {
    fn default() -> Self {
        OptionLayout {
            kinds: [0; MAX_OPTIONS],
            len: 0,
            eol_pad: 0,
        }
    }
}

impl std::fmt::Debug for OptionLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OptionLayout({self})")
    }
}

impl OptionLayout {
    /// Build a layout from kinds (used by the database parser); None if more than
    /// [`MAX_OPTIONS`].
    pub fn from_kinds(kinds: &[u8], eol_pad: u8) -> Option<OptionLayout> {
        if kinds.len() > MAX_OPTIONS {
            return None;
        }
        let mut l = OptionLayout {
            eol_pad,
            ..OptionLayout::default()
        };
        l.kinds[..kinds.len()].copy_from_slice(kinds);
        l.len = kinds.len() as u8;
        Some(l)
    }

    /// The option kinds in wire order.
    pub fn kinds(&self) -> &[u8] {
        &self.kinds[..usize::from(self.len)]
    }

    /// No options at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, kind: u8) {
        if let Some(slot) = self.kinds.get_mut(usize::from(self.len)) {
            *slot = kind;
            self.len += 1;
        }
    }

    /// Kinds as decimal numbers joined by commas (`2,1,3,1,1,8,4,0`), the style of
    /// Apache's mod_tcpfingerprint.
    pub fn numeric(&self) -> NumericKinds<'_> {
        NumericKinds(self)
    }
}

/// p0f names: `mss,nop,ws,sok,sack,ts,eol+N,?K`.
impl std::fmt::Display for OptionLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, &k) in self.kinds().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match k {
                KIND_EOL => write!(f, "eol+{}", self.eol_pad)?,
                KIND_NOP => f.write_str("nop")?,
                KIND_MSS => f.write_str("mss")?,
                KIND_WS => f.write_str("ws")?,
                KIND_SACK_PERMITTED => f.write_str("sok")?,
                KIND_SACK => f.write_str("sack")?,
                KIND_TIMESTAMP => f.write_str("ts")?,
                other => write!(f, "?{other}")?,
            }
        }
        Ok(())
    }
}

/// Display adaptor for [`OptionLayout::numeric`].
pub struct NumericKinds<'a>(&'a OptionLayout);

impl std::fmt::Display for NumericKinds<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, k) in self.0.kinds().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

/// What the walk found. Values are those of the last option of each kind, as in p0f.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkedOptions {
    /// The option kinds in order, with p0f's EOL padding count.
    pub layout: OptionLayout,
    /// MSS option value (the last one if repeated).
    pub mss: Option<u16>,
    /// Window scale option value.
    pub window_scale: Option<u8>,
    /// (own value TSval, echoed TSecr)
    pub timestamp: Option<(u32, u32)>,
    /// Malformed options (p0f `bad`).
    pub bad: bool,
    /// Nonzero bytes after EOL (p0f `opt+`, with p0f's last-byte blind spot).
    pub nonzero_after_eol: bool,
    /// Some window-scale option had a shift above 14. Like the two flags below this is
    /// sticky across repeated options, as p0f's quirk bits are (found by fuzzing against
    /// `p0f -r`): `ws(15),ws(7)` still has `exws`.
    pub ws_over_14: bool,
    /// Some timestamp option had TSval 0 (p0f `ts1-`).
    pub ts1_zero: bool,
    /// Some timestamp option had a nonzero TSecr (p0f `ts2+` on a pure SYN).
    pub ts2_nonzero: bool,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at.checked_add(1)?)?,
    ]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Walk raw TCP option bytes (the bytes between the fixed header and the data offset).
/// Never panics, whatever the bytes.
pub fn walk(opts: &[u8]) -> WalkedOptions {
    let mut w = WalkedOptions::default();
    let end = opts.len();
    let mut i = 0usize;
    let mut count = 0usize;
    // `i` indexes the byte after the kind byte while an option is handled (p0f's `data`).
    while i < end && count < MAX_OPTIONS {
        let kind = opts[i];
        w.layout.push(kind);
        count += 1;
        i += 1;
        // Bytes available from the length byte on.
        let left = end - i;
        match kind {
            KIND_EOL => {
                w.layout.eol_pad = u8::try_from(left).unwrap_or(u8::MAX);
                // p0f: `while (data < opt_end && !*data++);` then `data != opt_end`.
                while i < end {
                    let b = opts[i];
                    i += 1;
                    if b != 0 {
                        break;
                    }
                }
                if i != end {
                    w.nonzero_after_eol = true;
                    i = end;
                }
            }
            KIND_NOP => {}
            KIND_MSS => {
                if left < 3 {
                    w.bad = true;
                    return w;
                }
                if opts[i] != 4 {
                    w.bad = true;
                }
                w.mss = be16(opts, i + 1);
                i += 3;
            }
            KIND_WS => {
                if left < 2 {
                    w.bad = true;
                    return w;
                }
                if opts[i] != 3 {
                    w.bad = true;
                }
                w.window_scale = Some(opts[i + 1]);
                w.ws_over_14 |= opts[i + 1] > 14;
                i += 2;
            }
            KIND_SACK_PERMITTED => {
                if left < 1 {
                    w.bad = true;
                    return w;
                }
                if opts[i] != 2 {
                    w.bad = true;
                }
                i += 1;
            }
            KIND_TIMESTAMP => {
                if left < 9 {
                    w.bad = true;
                    return w;
                }
                if opts[i] != 10 {
                    w.bad = true;
                }
                w.timestamp = be32(opts, i + 1).zip(be32(opts, i + 5));
                if let Some((ts1, ts2)) = w.timestamp {
                    w.ts1_zero |= ts1 == 0;
                    w.ts2_nonzero |= ts2 != 0;
                }
                i += 9;
            }
            _ => {
                // SACK and unknown kinds: trust the length byte within limits.
                let (lo, hi) = if kind == KIND_SACK { (10, 34) } else { (2, 40) };
                let Some(&len) = opts.get(i) else {
                    w.bad = true;
                    return w;
                };
                let len = usize::from(len);
                if len < lo || len > hi || len - 1 > left {
                    w.bad = true;
                    return w;
                }
                i += len - 1;
            }
        }
    }
    if i != end {
        w.bad = true;
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the naive reference reports.
    #[derive(Debug, Default, PartialEq)]
    struct Naive {
        kinds: Vec<u8>,
        pad: u8,
        mss: Option<u16>,
        ws: Option<u8>,
        bad: bool,
        nz: bool,
    }

    /// Deliberately naive reference: slice patterns over the remaining bytes, one rule per
    /// arm, written from P0F.md plus p0f's observed corner cases (fixed-size options with a
    /// wrong length byte are `bad` yet skipped by their expected size; at most 24 options;
    /// the last EOL pad byte is not inspected), sharing no code with `walk`.
    fn naive(opts: &[u8]) -> Naive {
        let mut n = Naive::default();
        let mut rest = opts;
        while !rest.is_empty() {
            if n.kinds.len() == 24 {
                n.bad = true;
                return n;
            }
            n.kinds.push(rest[0]);
            rest = match rest {
                [0, tail @ ..] => {
                    n.pad = tail.len() as u8;
                    n.nz = tail.len() > 1 && tail[..tail.len() - 1].iter().any(|&b| b != 0);
                    return n;
                }
                [1, tail @ ..] => tail,
                [2, l, a, b, tail @ ..] => {
                    n.mss = Some(u16::from_be_bytes([*a, *b]));
                    n.bad |= *l != 4;
                    tail
                }
                [3, l, s, tail @ ..] => {
                    n.ws = Some(*s);
                    n.bad |= *l != 3;
                    tail
                }
                [4, l, tail @ ..] => {
                    n.bad |= *l != 2;
                    tail
                }
                [8, l, _, _, _, _, _, _, _, _, tail @ ..] => {
                    n.bad |= *l != 10;
                    tail
                }
                [5, l, ..] if (10..=34).contains(l) && usize::from(*l) <= rest.len() => {
                    &rest[usize::from(*l)..]
                }
                [k, l, ..]
                    if ![2, 3, 4, 5, 8].contains(k)
                        && (2..=40).contains(l)
                        && usize::from(*l) <= rest.len() =>
                {
                    &rest[usize::from(*l)..]
                }
                _ => {
                    n.bad = true;
                    return n;
                }
            };
        }
        n
    }

    fn check(opts: &[u8]) {
        let w = walk(opts);
        let n = naive(opts);
        assert_eq!(w.layout.kinds(), &n.kinds[..], "{opts:02x?}");
        assert_eq!(w.bad, n.bad, "bad {opts:02x?}");
        assert_eq!(w.nonzero_after_eol, n.nz, "opt+ {opts:02x?}");
        assert_eq!(w.mss, n.mss, "mss {opts:02x?}");
        assert_eq!(w.window_scale, n.ws, "ws {opts:02x?}");
        assert_eq!(w.layout.eol_pad, n.pad, "pad {opts:02x?}");
    }

    #[test]
    fn known_layouts() {
        // Linux: mss,sok,ts,nop,ws
        let linux = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let w = walk(&linux);
        assert_eq!(w.layout.to_string(), "mss,sok,ts,nop,ws");
        assert_eq!(w.layout.numeric().to_string(), "2,4,8,1,3");
        assert_eq!(
            (w.mss, w.window_scale, w.timestamp),
            (Some(1460), Some(7), Some((1, 0)))
        );
        assert!(!w.bad);
        // macOS: ...,sok,eol+1
        let mac = [
            2, 4, 5, 0xb4, 1, 3, 3, 6, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 4, 2, 0, 0,
        ];
        assert_eq!(
            walk(&mac).layout.to_string(),
            "mss,nop,ws,nop,nop,ts,sok,eol+1"
        );
        // Unknown kinds keep going (TFO 34 with an 8-byte cookie).
        let tfo = [34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1];
        assert_eq!(walk(&tfo).layout.to_string(), "?34,nop,nop");
        // Each bad rule (all checked against p0f -r in edge.pcap).
        for bad in [
            &[2u8, 3, 5, 0xb4][..], // MSS length 3
            &[3, 3][..],            // WS runs past the header
            &[5, 9, 0, 0][..],      // SACK length below 10
            &[5, 10, 0, 0][..],     // SACK past the header
            &[254, 1, 0, 0][..],    // unknown length below 2
            &[254, 41, 0, 0][..],   // unknown length above 40
            &[1; 40][..],           // more than 24 options
        ] {
            assert!(walk(bad).bad, "{bad:?}");
        }
        // EOL padding: nonzero in the middle is opt+, only in the last byte is not (p0f).
        assert!(walk(&[0, 0, 5, 0]).nonzero_after_eol);
        assert!(!walk(&[0, 0, 0, 5]).nonzero_after_eol);
        assert_eq!(
            walk(&[2, 4, 5, 0xb4, 0, 0, 0, 0]).layout.to_string(),
            "mss,eol+3"
        );
        assert_eq!(walk(&[]).layout.to_string(), "");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn random_bytes_agree_with_naive(opts in proptest::collection::vec(any::<u8>(), 0..=40)) {
            check(&opts);
        }

        #[test]
        fn option_like_bytes_agree_with_naive(
            opts in proptest::collection::vec(
                prop_oneof![Just(0u8), Just(1), Just(2), Just(3), Just(4), Just(5), Just(8),
                            Just(10), Just(34), Just(41), any::<u8>()],
                0..=40)
        ) {
            check(&opts);
        }

        #[test]
        fn never_panics_on_any_length(opts in proptest::collection::vec(any::<u8>(), 0..300)) {
            let w = walk(&opts);
            prop_assert!(w.layout.kinds().len() <= MAX_OPTIONS);
        }
    }
}
