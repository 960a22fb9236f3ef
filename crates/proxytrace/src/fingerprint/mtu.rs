//! Link MTU names, from a database's `[mtu]` section or p0f's defaults.

/// p0f.fp's `[mtu]` section (p0f 3.09b), used when no database is loaded.
const DEFAULTS: &[(u32, &str)] = &[
    (576, "Ethernet or modem"),
    (1500, "Ethernet or modem"),
    (1452, "DSL"),
    (1454, "DSL"),
    (1492, "DSL"),
    (1240, "GIF"),
    (1280, "GIF"),
    (1300, "generic tunnel or VPN"),
    (1400, "generic tunnel or VPN"),
    (1420, "generic tunnel or VPN"),
    (1440, "generic tunnel or VPN"),
    (1450, "generic tunnel or VPN"),
    (1460, "generic tunnel or VPN"),
    (1476, "IPSec or GRE"),
    (1480, "IPIP or SIT"),
    (1490, "PPTP"),
    (256, "AX.25 radio modem"),
    (552, "SLIP"),
    (1470, "Google"),
    (1496, "VLAN"),
    (1656, "Ericsson HIS modem"),
    (9000, "jumbo Ethernet"),
    (3924, "loopback"),
    (16384, "loopback"),
    (16436, "loopback"),
];

/// MTU -> link name table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MtuTable {
    entries: Vec<(u32, String)>,
}

impl MtuTable {
    /// p0f's built-in table.
    pub fn defaults() -> MtuTable {
        MtuTable {
            entries: DEFAULTS
                .iter()
                .map(|(m, n)| (*m, (*n).to_string()))
                .collect(),
        }
    }

    /// Add a link type named `name` for `mtu`.
    pub fn push(&mut self, mtu: u32, name: &str) {
        self.entries.push((mtu, name.to_string()));
    }

    /// No MTU named (a database without an `[mtu]` section).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first label with this MTU, as p0f picks it.
    pub fn name(&self, mtu: u32) -> Option<&str> {
        self.entries
            .iter()
            .find(|(m, _)| *m == mtu)
            .map(|(_, n)| n.as_str())
    }
}

/// Link MTU implied by an MSS: + 40 for IPv4, + 60 for IPv6 (p0f's fp_mtu).
pub fn mtu_from_mss(mss: u16, ip_version: u8) -> u32 {
    u32::from(mss) + if ip_version == 6 { 60 } else { 40 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtu_names() {
        let t = MtuTable::defaults();
        // p0f -r tcp-fast-open.pcap logs `link=Ethernet or modem|raw_mtu=1500` for MSS 1460.
        assert_eq!(mtu_from_mss(1460, 4), 1500);
        assert_eq!(t.name(1500), Some("Ethernet or modem"));
        assert_eq!(mtu_from_mss(1440, 6), 1500);
        assert_eq!(t.name(mtu_from_mss(1452, 4)), Some("DSL"));
        assert_eq!(t.name(1501), None);
    }
}
