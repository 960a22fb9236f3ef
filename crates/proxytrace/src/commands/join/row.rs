//! [`JoinRow`]: one joined row, the schema of `join`'s output, composed of the request's
//! `requests` row, the front connection, the joined SYN's `syns` row (columns prefixed
//! `syn_`) and the join's own columns.

use super::columns::{absent, forward, Names};
use super::index::FrontIndex;
use super::rules::{Confidence, JoinMethod, JoinOutcome};
use crate::extract::connections::FirstProtocol;
use crate::extract::handshakes::SynRow;
use crate::extract::requests::RequestRow;
use crate::timefmt::{write_rfc3339, Precision};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::net::IpAddr;

/// One joined row. Columns, in order: every `requests` column, the front connection
/// ([`FrontColumns`]), every `syns` column prefixed `syn_` (empty without a SYN), then
/// [`JoinColumns`].
#[derive(Debug, Clone, PartialEq)]
pub struct JoinRow {
    /// The back-side request.
    pub request: RequestRow,
    /// The front connection of the joined SYN.
    pub front: FrontColumns,
    /// The joined SYN's `syns` row; `None` when no SYN joined.
    pub syn: Option<SynRow>,
    /// How the join was made.
    pub join: JoinColumns,
}

/// The front connection a request was joined to (client -> proxy); empty without a SYN.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FrontColumns {
    /// Client address.
    pub front_src_ip: Option<IpAddr>,
    /// Client port.
    pub front_src_port: Option<u16>,
    /// Proxy address.
    pub front_dst_ip: Option<IpAddr>,
    /// Proxy port.
    pub front_dst_port: Option<u16>,
    /// The SYN's time (front clock), at its capture's precision.
    pub front_syn_time: Option<String>,
}

/// The join's own columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct JoinColumns {
    /// The rule that decided.
    pub join_method: JoinMethod,
    /// How sure it is.
    pub join_confidence: Confidence,
    /// Distinct fingerprints that could match (1 for a certain match, 0 for none).
    pub join_candidates: u32,
    /// Back request time (clock-corrected) - front SYN time.
    pub join_delta_ns: Option<i64>,
    /// What the back connection carried: `http1` for a request; `tls`, `ssh`, `other` or
    /// `none` for a back connection that names its client (PROXY, `--transparent`) but
    /// carried no HTTP request (TLS passthrough): its request columns are empty.
    pub back_protocol: FirstProtocol,
}

/// The `syns` columns, prefixed, in [`SynRow`]'s field order (checked on every row).
pub(super) const SYN_COLUMNS: &[&str] = &[
    "syn_time",
    "syn_file",
    "syn_packet",
    "syn_src_ip",
    "syn_src_port",
    "syn_dst_ip",
    "syn_dst_port",
    "syn_direction",
    "syn_ip_version",
    "syn_ttl",
    "syn_initial_ttl",
    "syn_distance",
    "syn_ip_options_len",
    "syn_mss",
    "syn_window",
    "syn_window_form",
    "syn_window_scale",
    "syn_olayout",
    "syn_option_kinds",
    "syn_quirks",
    "syn_payload",
    "syn_signature",
    "syn_df",
    "syn_ip_id",
    "syn_ip_ecn",
    "syn_tcp_ecn",
    "syn_ts_val",
    "syn_ts_ecr",
    "syn_payload_len",
    "syn_link_mtu",
    "syn_link",
    "syn_syn_to_synack_ns",
    "syn_synack_to_ack_ns",
    "syn_retransmits",
    "syn_p0f_ignores",
    "syn_uptime_hint_s",
    "syn_ts_clock_hz",
    "syn_os_label",
    "syn_os_class",
    "syn_os_name",
    "syn_os_flavor",
    "syn_match_quality",
    "syn_match_distance",
];

/// What the `syns` columns' names start with in a joined row.
const SYN_NAMES_PREFIX: &str = "syn_";

const SYN_NAMES: Names = Names::Prefixed {
    prefix: SYN_NAMES_PREFIX,
    table: SYN_COLUMNS,
};

impl Serialize for JoinRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The length is a hint (neither csv nor serde_json uses it).
        let mut row = s.serialize_struct("JoinRow", SYN_COLUMNS.len())?;
        forward(&mut row, &self.request, Names::Same)?;
        forward(&mut row, &self.front, Names::Same)?;
        match &self.syn {
            Some(syn) => forward(&mut row, syn, SYN_NAMES)?,
            None => absent(&mut row, SYN_COLUMNS)?,
        }
        forward(&mut row, &self.join, Names::Same)?;
        row.end()
    }
}

impl JoinRow {
    /// The row of a back-side request and the outcome of its join against `index`.
    pub fn new(index: &FrontIndex<'_>, request: RequestRow, o: &JoinOutcome) -> JoinRow {
        let tuple = o.syn.and_then(|s| index.five_tuple(&s));
        let front_syn_time = o.syn.map(|f| {
            let precision = index
                .vars
                .get(f.detail as usize)
                .and_then(|v| index.files.get(v.file as usize))
                .map_or(Precision::NANO, |m| m.precision);
            let mut t = String::with_capacity(32);
            write_rfc3339(&mut t, f.ts_ns, precision);
            t
        });
        JoinRow {
            request,
            front: FrontColumns {
                front_src_ip: tuple.map(|f| f.src_ip),
                front_src_port: tuple.map(|f| f.src_port),
                front_dst_ip: tuple.map(|f| f.dst_ip),
                front_dst_port: tuple.map(|f| f.dst_port),
                front_syn_time,
            },
            syn: o.syn.and_then(|s| index.syn_row(&s)),
            join: JoinColumns {
                join_method: o.method,
                join_confidence: o.confidence,
                join_candidates: o.candidates,
                join_delta_ns: o.delta_ns,
                back_protocol: FirstProtocol::Http1,
            },
        }
    }
}

impl crate::vocab::schema::Columns for FrontColumns {
    fn columns() -> Vec<crate::vocab::schema::Column> {
        use crate::vocab::schema::{Column, ColumnType::*};
        vec![
            Column::opt(
                "front_src_ip",
                Ip,
                "Front connection: client address (empty without a SYN).",
            ),
            Column::opt("front_src_port", UInt16, "Front connection: client port."),
            Column::opt("front_dst_ip", Ip, "Front connection: proxy address."),
            Column::opt("front_dst_port", UInt16, "Front connection: proxy port."),
            Column::opt(
                "front_syn_time",
                Timestamp,
                "The SYN's time (front clock), at its capture's precision.",
            ),
        ]
    }
}

impl crate::vocab::schema::Columns for JoinColumns {
    fn columns() -> Vec<crate::vocab::schema::Column> {
        use crate::vocab::schema::{Column, ColumnType::*};
        vec![
            Column::req("join_method", Text, "The rule that decided."),
            Column::req("join_confidence", Text, "How sure it is."),
            Column::req("join_candidates", UInt32, "Distinct fingerprints that could match (1 for a certain match, 0 for none)."),
            Column::opt("join_delta_ns", Int64, "Back request time (clock-corrected) - front SYN time."),
            Column::req("back_protocol", Text, "What the back connection carried: `http1` for a request; `tls`, `ssh`, `other` or `none` for a back connection that names its client (PROXY, `--transparent`) but carried no HTTP request (TLS passthrough): its request columns are empty."),
        ]
    }
}

/// Composed as the row serializes: the request, the front connection, the SYN's columns
/// prefixed (each can be empty: no SYN joined), the join's own.
impl crate::vocab::schema::Columns for JoinRow {
    fn columns() -> Vec<crate::vocab::schema::Column> {
        let mut v = RequestRow::columns();
        v.extend(FrontColumns::columns());
        v.extend(
            SynRow::columns()
                .iter()
                .map(|c| c.prefixed_optional(SYN_NAMES_PREFIX)),
        );
        v.extend(JoinColumns::columns());
        v
    }
}
