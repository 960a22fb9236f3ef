//! Uptime from two TCP timestamps of one host (p0f's `check_ts_tcp`), as a hint only:
//! Linux 4.10+, Windows 10+, macOS and iOS add a random per-connection offset to TSval,
//! so the "uptime" is then meaningless although the frequency still is.

/// One observation of a host's TCP timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsSample {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// The host's own TSval.
    pub tsval: u32,
}

/// An uptime estimate. Always a hint (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uptime {
    /// Timestamp clock frequency, rounded as p0f does (1..10 exact, then to 5/10/50/100).
    pub freq_hz: u32,
    /// The measured frequency before rounding.
    pub raw_freq_hz: f64,
    /// Seconds since the clock started: TSval of the later sample / `freq_hz`.
    pub uptime_s: u64,
    /// Seconds after which a 32-bit TSval wraps at this frequency (p0f's "modulo").
    pub wrap_s: u64,
    /// Always true: the TSval offset may be randomised, so treat the uptime as a hint.
    pub hint: bool,
}

/// Shortest spacing between samples p0f accepts (MIN_TWAIT).
pub const MIN_WAIT_MS: i64 = 25;
/// Longest spacing between samples (p0f MAX_TWAIT).
pub const MAX_WAIT_MS: i64 = 10 * 60 * 1000;
/// Fewest ticks between samples.
pub const MIN_TICKS: u32 = 5;
/// Lowest plausible clock frequency (p0f MIN_TSCALE).
pub const MIN_FREQ_HZ: f64 = 0.7;
/// Highest plausible clock frequency (p0f MAX_TSCALE).
pub const MAX_FREQ_HZ: f64 = 1500.0;

/// Estimate uptime from two samples of the same host, in either order. None unless the
/// samples are 25 ms to 10 min apart, the clock moved forward by at least 5 ticks and the
/// frequency is between 0.7 and 1500 Hz.
pub fn estimate_uptime(a: TsSample, b: TsSample) -> Option<Uptime> {
    let (early, late) = if a.ts_ns <= b.ts_ns { (a, b) } else { (b, a) };
    let ms = late.ts_ns.checked_sub(early.ts_ns)? / 1_000_000;
    if !(MIN_WAIT_MS..=MAX_WAIT_MS).contains(&ms) {
        return None;
    }
    // Wrapping difference: a TSval may wrap between the samples. A "difference" in the
    // upper half is a clock going backwards.
    let ticks = late.tsval.wrapping_sub(early.tsval);
    if ticks < MIN_TICKS || ticks > !ticks {
        return None;
    }
    let raw = f64::from(ticks) * 1000.0 / ms as f64;
    if !(MIN_FREQ_HZ..=MAX_FREQ_HZ).contains(&raw) {
        return None;
    }
    // p0f's rounding, verbatim (it rounds up from .4 of a step, not to nearest).
    let f = raw as u32;
    let freq = match f {
        0 => 1,
        1..=10 => f,
        11..=50 => (f + 3) / 5 * 5,
        51..=100 => (f + 7) / 10 * 10,
        101..=500 => (f + 33) / 50 * 50,
        _ => (f + 67) / 100 * 100,
    };
    Some(Uptime {
        freq_hz: freq,
        raw_freq_hz: raw,
        uptime_s: u64::from(late.tsval / freq),
        wrap_s: u64::from(u32::MAX / freq),
        hint: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ms: i64, tsval: u32) -> TsSample {
        TsSample {
            ts_ns: ms * 1_000_000,
            tsval,
        }
    }

    #[test]
    fn linux_1000hz() {
        // 1 s apart, 1000 ticks: 1000 Hz; TSval 86_400_000 = one day at 1 kHz.
        let u = estimate_uptime(s(0, 86_399_000), s(1000, 86_400_000)).unwrap();
        assert_eq!(u.freq_hz, 1000);
        assert_eq!(u.uptime_s, 86_400);
        assert_eq!(u.wrap_s, 4_294_967); // 2^32 - 1 ticks / 1000 Hz
        assert!(u.hint);
        // Order does not matter.
        assert_eq!(
            estimate_uptime(s(1000, 86_400_000), s(0, 86_399_000)),
            Some(u)
        );
    }

    #[test]
    fn rounding_follows_p0f() {
        // 12 Hz -> (12 + 3) / 5 * 5 = 15; 11 -> 10; 97 -> 100; 260 -> 250; 1049 -> 1100; 1032 -> 1000.
        for (hz, want) in [
            (12u32, 15u32),
            (11, 10),
            (97, 100),
            (260, 250),
            (1049, 1100),
            (1032, 1000),
            (7, 7),
        ] {
            let u = estimate_uptime(s(0, 1000), s(10_000, 1000 + hz * 10)).unwrap();
            assert_eq!(u.freq_hz, want, "{hz} Hz");
        }
    }

    #[test]
    fn rejections() {
        // Too close, too far, too few ticks, backwards, too fast.
        assert_eq!(estimate_uptime(s(0, 0), s(24, 100)), None);
        assert_eq!(estimate_uptime(s(0, 0), s(600_001, 600_000)), None);
        assert_eq!(estimate_uptime(s(0, 100), s(1000, 104)), None);
        assert_eq!(estimate_uptime(s(0, 100), s(1000, 50)), None);
        assert_eq!(estimate_uptime(s(0, 0), s(100, 200_000)), None);
        // Wrap-around forward is fine: 0xFFFF_FF00 -> 0x0000_0100 is 512 ticks in 1 s.
        let u = estimate_uptime(s(0, 0xFFFF_FF00), s(1000, 0x100)).unwrap();
        assert_eq!(u.freq_hz, 500);
    }
}
