//! TCP sequence numbers: 32-bit, compared by wrapping distance (RFC 9293 section 3.4).

/// A TCP sequence number. Ordered only relative to another one within 2^31 bytes, so it
/// has no `Ord`: ask [`Seq::since`] for the signed distance instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seq(pub u32);

/// The sequence number `n` bytes further on (wrapping).
impl std::ops::Add<usize> for Seq {
    type Output = Seq;
    fn add(self, n: usize) -> Seq {
        // Truncation is the point: sequence space is modulo 2^32.
        Seq(self.0.wrapping_add(n as u32))
    }
}

/// The sequence number `n` bytes before (wrapping).
impl std::ops::Sub<usize> for Seq {
    type Output = Seq;
    fn sub(self, n: usize) -> Seq {
        Seq(self.0.wrapping_sub(n as u32))
    }
}

impl Seq {
    /// Signed distance from `earlier` to `self`: positive when `self` is ahead.
    pub fn since(self, earlier: Seq) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// Unsigned distance from `earlier` to `self` (wrapping): how far ahead `self` is
    /// when it is known to be ahead.
    pub fn ahead_of(self, earlier: Seq) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_wrap() {
        let a = Seq(u32::MAX - 1);
        let b = a + 4;
        assert_eq!(b, Seq(2));
        assert_eq!(b.since(a), 4);
        assert_eq!(a.since(b), -4);
        assert_eq!(b - 4, a);
        assert_eq!(b.ahead_of(a), 4);
    }
}
