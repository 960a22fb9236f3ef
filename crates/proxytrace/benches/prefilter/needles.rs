//! Fast case-insensitive scan of raw bytes for identity header names.
//!
//! A case-insensitive multi-pattern automaton (aho-corasick `ascii_case_insensitive`) runs
//! at about 0.6 GB/s; this scan runs one memchr "packed pair" prefilter per name instead,
//! keyed on two bytes of the name that do not change with case (`-`, `_`, digits), and
//! confirms each candidate with `eq_ignore_ascii_case`. Names with fewer than two such
//! bytes (`Forwarded`) fall back to memchr on one case-invariant byte, or memchr2 on both
//! cases of their rarest letter. All finders are built once in [`Prefilter::new`].
//!
//! A hit is only a candidate: it may lie in a body or a response. Callers confirm it by
//! parsing the request head (`proxytrace::http1::head`).
//!
//! Not part of the library: the bench measures it (benches/prefilter.rs) and
//! tests/prefilter.rs runs its tests; both include this file by path.

use memchr::arch::all::packedpair as portable;

use proxytrace::http1::head::{HeaderKind, FIXED_NAMES, P0F_PREFIXES};

/// One candidate occurrence of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hit {
    /// Byte offset of the name's first byte.
    pub offset: usize,
    /// Index of the name in [`Prefilter::names`].
    pub name: usize,
    pub kind: HeaderKind,
    /// The byte before the hit is `\n` (where a header name starts).
    pub at_line_start: bool,
}

#[derive(Debug, Clone)]
enum Scan {
    Pair {
        portable: portable::Finder,
        #[cfg(target_arch = "x86_64")]
        avx2: Option<memchr::arch::x86_64::avx2::packedpair::Finder>,
    },
    Byte(u8),
    Letter(u8, u8),
}

#[derive(Debug, Clone)]
struct Needle {
    name: Vec<u8>,
    kind: HeaderKind,
    strategy: Scan,
}

/// Letters from rarest to most common in HTTP heads and text (rough English frequency);
/// used to pick the memchr2 byte for names without case-invariant bytes.
const LETTER_RARITY: &[u8] = b"qjzxkvwyfbgpmhucldsnrtioae";

fn is_invariant(b: u8) -> bool {
    !b.is_ascii_alphabetic()
}

impl Needle {
    fn new(name: &[u8], kind: HeaderKind) -> Needle {
        let name = name.to_ascii_lowercase();
        let inv: Vec<usize> = (0..name.len().min(256))
            .filter(|&i| is_invariant(name[i]))
            .collect();
        let strategy = match (inv.first(), inv.last()) {
            (Some(&a), Some(&b)) if a != b => {
                // First and last invariant bytes: spread apart, fewer false candidates.
                let pair = portable::Pair::with_indices(&name, a as u8, b as u8);
                match pair.and_then(|p| portable::Finder::with_pair(&name, p).map(|f| (p, f))) {
                    Some((_pair, f)) => Scan::Pair {
                        portable: f,
                        #[cfg(target_arch = "x86_64")]
                        avx2: memchr::arch::x86_64::avx2::packedpair::Finder::with_pair(
                            &name, _pair,
                        ),
                    },
                    None => Scan::Byte(name[a]),
                }
            }
            (Some(&a), _) => Scan::Byte(name[a]),
            _ => {
                let rarest = LETTER_RARITY
                    .iter()
                    .copied()
                    .find(|l| name.contains(l))
                    .unwrap_or(name.first().copied().unwrap_or(b'a'));
                Scan::Letter(rarest, rarest.to_ascii_uppercase())
            }
        };
        Needle {
            name,
            kind,
            strategy,
        }
    }

    /// Offset of the byte the single-byte strategies search for.
    fn anchor(&self) -> usize {
        match self.strategy {
            Scan::Byte(b) | Scan::Letter(b, _) => memchr::memchr(b, &self.name).unwrap_or(0),
            Scan::Pair { .. } => 0,
        }
    }

    /// Next candidate start at or after `from`.
    fn candidate(&self, hay: &[u8], from: usize) -> Option<usize> {
        let rest = hay.get(from..)?;
        match &self.strategy {
            Scan::Pair {
                portable,
                #[cfg(target_arch = "x86_64")]
                avx2,
            } => {
                #[cfg(target_arch = "x86_64")]
                if let Some(f) = avx2 {
                    if rest.len() >= f.min_haystack_len() {
                        return f.find_prefilter(rest).map(|c| from + c);
                    }
                }
                portable.find_prefilter(rest).map(|c| from + c)
            }
            Scan::Byte(_) | Scan::Letter(_, _) => {
                // Search for the anchor byte from `from + anchor` so that every start
                // >= from is considered exactly once.
                let anchor = self.anchor();
                let sub = rest.get(anchor..)?;
                let i = match self.strategy {
                    Scan::Byte(b) => memchr::memchr(b, sub),
                    Scan::Letter(l, u) => memchr::memchr2(l, u, sub),
                    Scan::Pair { .. } => None,
                }?;
                Some(from + i)
            }
        }
    }

    fn matches_at(&self, hay: &[u8], at: usize) -> bool {
        hay.get(at..at.saturating_add(self.name.len()))
            .is_some_and(|w| w.eq_ignore_ascii_case(&self.name))
    }
}

/// The set of identity header names to look for, with finders built once.
#[derive(Debug, Clone)]
pub struct Prefilter {
    needles: Vec<Needle>,
}

impl Prefilter {
    /// The fixed identity names, the p0f SPOE prefixes, and `extra` names (deduplicated,
    /// empty names ignored).
    pub fn new(extra: &[&[u8]]) -> Prefilter {
        let mut needles: Vec<Needle> = Vec::new();
        let mut add = |name: &[u8], kind: HeaderKind| {
            if !name.is_empty() && !needles.iter().any(|n| n.name.eq_ignore_ascii_case(name)) {
                needles.push(Needle::new(name, kind));
            }
        };
        for (n, k) in FIXED_NAMES {
            add(n, k);
        }
        for p in P0F_PREFIXES {
            add(p, HeaderKind::P0f);
        }
        for (i, n) in extra.iter().enumerate() {
            add(n, HeaderKind::Custom(u16::try_from(i).unwrap_or(u16::MAX)));
        }
        Prefilter { needles }
    }

    /// The names searched for (lower case), indexed as in [`Hit::name`].
    pub fn names(&self) -> impl Iterator<Item = (&[u8], HeaderKind)> + '_ {
        self.needles.iter().map(|n| (n.name.as_slice(), n.kind))
    }

    /// Append every occurrence of every name to `out`, sorted by (offset, name index).
    /// Overlapping hits are all reported (`Forwarded` inside `X-Forwarded-For`).
    pub fn find_all(&self, hay: &[u8], out: &mut Vec<Hit>) {
        let start = out.len();
        for (idx, n) in self.needles.iter().enumerate() {
            let mut from = 0;
            while let Some(at) = n.candidate(hay, from) {
                if n.matches_at(hay, at) {
                    out.push(Hit {
                        offset: at,
                        name: idx,
                        kind: n.kind,
                        at_line_start: at > 0 && hay.get(at - 1) == Some(&b'\n'),
                    });
                }
                from = at + 1;
            }
        }
        if let Some(new) = out.get_mut(start..) {
            new.sort_unstable();
        }
    }

    /// Whether any name occurs in `hay` (stops at the first confirmed hit).
    pub fn contains_any(&self, hay: &[u8]) -> bool {
        self.needles.iter().any(|n| {
            let mut from = 0;
            while let Some(at) = n.candidate(hay, from) {
                if n.matches_at(hay, at) {
                    return true;
                }
                from = at + 1;
            }
            false
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Deliberately naive oracle: every offset, every name, `eq_ignore_ascii_case`.
    fn naive(p: &Prefilter, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for off in 0..hay.len() {
            for (i, (name, _)) in p.names().enumerate() {
                if hay.len() - off >= name.len()
                    && hay[off..off + name.len()].eq_ignore_ascii_case(name)
                {
                    v.push((off, i));
                }
            }
        }
        v
    }

    fn fast(p: &Prefilter, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        p.find_all(hay, &mut out);
        out.iter().map(|h| (h.offset, h.name)).collect()
    }

    #[test]
    fn strategies_chosen_as_designed() {
        let p = Prefilter::new(&[b"Forwarded", b"X-Custom-IP", b"Via", b"a-b"]);
        let s: Vec<&str> = p
            .needles
            .iter()
            .map(|n| match n.strategy {
                Scan::Pair { .. } => "pair",
                Scan::Byte(_) => "byte",
                Scan::Letter(_, _) => "letter",
            })
            .collect();
        // 6 fixed + 3 p0f prefixes + x-custom-ip + via + a-b ("Forwarded" is a duplicate).
        assert_eq!(
            s,
            vec![
                "pair", "letter", "pair", "pair", "pair", "pair", "pair", "pair", "pair", "pair",
                "letter", "byte"
            ]
        );
        assert!(matches!(p.needles[1].strategy, Scan::Letter(b'w', b'W')));
    }

    #[test]
    fn finds_all_casings_and_overlaps() {
        let p = Prefilter::new(&[]);
        let hay = b"GET / HTTP/1.1\r\nx-FoRwArDeD-fOr: 1\r\nFORWARDED: for=x\r\nX-REAL-IP:2\r\nTrue-Client-IP: 3\r\nx_tcp_os: Linux\r\n\r\n";
        let mut hits = Vec::new();
        p.find_all(hay, &mut hits);
        let got: Vec<(usize, HeaderKind, bool)> = hits
            .iter()
            .map(|h| (h.offset, h.kind, h.at_line_start))
            .collect();
        // Offsets checked with Python re.finditer on the lower-cased bytes.
        assert_eq!(
            got,
            vec![
                (16, HeaderKind::XForwardedFor, true),
                (18, HeaderKind::Forwarded, false),
                (36, HeaderKind::Forwarded, true),
                (54, HeaderKind::XRealIp, true),
                (67, HeaderKind::TrueClientIp, true),
                (86, HeaderKind::P0f, true),
            ]
        );
        assert_eq!(&hay[86..92], b"x_tcp_");
        assert!(p.contains_any(hay));
        assert!(!p.contains_any(b"GET / HTTP/1.1\r\nHost: x-forwarde\r\nX-Real-I: 1\r\n\r\n"));
        assert!(p.contains_any(b"Host: x-forwarded\r\n"));
        assert!(!p.contains_any(b""));
    }

    #[test]
    fn long_haystack_uses_vector_path() {
        let p = Prefilter::new(&[]);
        let mut hay = vec![b'-'; 10_000];
        hay.extend_from_slice(b"X-Forwarded-For");
        hay.extend(std::iter::repeat_n(b'a', 5000));
        hay.extend_from_slice(b"cf-connecting-IP");
        assert_eq!(fast(&p, &hay), naive(&p, &hay));
        assert_eq!(fast(&p, &hay).len(), 3);
    }

    fn planted() -> impl Strategy<Value = Vec<u8>> {
        let names: Vec<&'static [u8]> = vec![
            b"x-forwarded-for",
            b"forwarded",
            b"x-real-ip",
            b"x-client-ip",
            b"true-client-ip",
            b"cf-connecting-ip",
            b"x-p0f-",
            b"x-tcp-",
            b"x_tcp_",
            b"my-hdr",
            b"x-forwarded",
            b"forwarde",
        ];
        let piece = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(proptest::sample::select(b"-_xXfF0\r\n".to_vec()), 0..20),
            (proptest::sample::select(names), any::<u64>()).prop_map(|(n, mask)| {
                n.iter()
                    .enumerate()
                    .map(|(i, &b)| {
                        if mask >> (i % 64) & 1 == 1 {
                            b.to_ascii_uppercase()
                        } else {
                            b
                        }
                    })
                    .collect()
            }),
        ];
        proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn fast_equals_naive(hay in planted()) {
            let p = Prefilter::new(&[b"My-Hdr"]);
            let f = fast(&p, &hay);
            prop_assert_eq!(&f, &naive(&p, &hay));
            prop_assert_eq!(p.contains_any(&hay), !f.is_empty());
        }
    }
}
