//! Turning a reassembled request head into a row, or into profile tallies: the work a
//! flow shard does for each head, with the run's read-only context.

use super::reorder::OrderKey;
use super::stage::{untag_index, UnparsedHeads};
use super::text::{chain_text, join_values, p0f_text};
use super::{RequestRow, RequestsConfig};
use crate::decode::FiveTuple;
use crate::http1::head::{parse_request_head, HeaderKind, RequestHead};
use crate::http1::{HeadEvent, HeadFlags};
use crate::identity::{
    extract_identity, extract_identity_with, is_trusted, special_range, ChoicePolicy, Identity,
    IdentityBasis, IdentitySource, ProfileTable, ProxyPair,
};
use crate::proxy_protocol::{parse_proxy, ProxyHeader};
use crate::timefmt::{write_rfc3339, Precision};
use crate::vocab::escape::escape_bytes;
use std::net::IpAddr;

/// Per-file context for rows.
pub(crate) struct FileCtx {
    pub(crate) name: String,
    pub(crate) precision: Precision,
}

/// What building rows counted (per shard, summed into the stage's report).
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildCounts {
    pub(crate) heads: u64,
    pub(crate) preambles_unparsed: u64,
    pub(crate) rows_filtered: u64,
    pub(crate) unparsed: UnparsedHeads,
}

impl BuildCounts {
    pub(crate) fn merge(&mut self, o: &BuildCounts) {
        self.heads += o.heads;
        self.preambles_unparsed += o.preambles_unparsed;
        self.rows_filtered += o.rows_filtered;
        self.unparsed.merge(&o.unparsed);
    }
}

/// One head's share of its pair's profile tally.
pub(crate) struct Tally {
    pair: ProxyPair,
    /// The first head of a connection seen from its start.
    opens_connection: bool,
    preamble: bool,
    sources: Vec<(IdentitySource, bool)>,
    user_agent: bool,
}

impl Tally {
    /// Count it into `table` (the run's one table, in the order the heads were completed,
    /// so a full table keeps the pairs a sequential read keeps).
    pub(crate) fn add_to(&self, table: &mut ProfileTable) {
        let Some(t) = table.tally_mut(self.pair) else {
            return;
        };
        if self.opens_connection {
            t.connections += 1;
            t.preambles += u64::from(self.preamble);
        }
        t.add_request(&self.sources, self.user_agent);
    }
}

/// The read-only context rows are built with: shared by every shard during a chunk.
pub(crate) struct Builder<'a> {
    pub(crate) cfg: &'a RequestsConfig,
    pub(crate) extra: &'a [&'a [u8]],
    /// The profiles rows are built with: the config's, or the warm-up's once decided.
    pub(crate) profiles: Option<&'a ProfileTable>,
    pub(crate) files: &'a [FileCtx],
}

impl Builder<'_> {
    /// What one head adds to the profile tallies of its proxy/backend pair (worked out in
    /// a shard; added to the run's one table in order, [`Tally::add_to`]).
    pub(crate) fn tally(&self, ev: &HeadEvent) -> Option<Tally> {
        let head = parse_request_head(&ev.head, self.extra).ok()?;
        let proxy_src = match ev.proxy_preamble.as_deref().map(parse_proxy) {
            Some(Ok(p)) => Some(p.src),
            _ => None,
        };
        let id = extract_identity(Some(&head), proxy_src.flatten(), &self.cfg.trusted);
        let sources: Vec<(IdentitySource, bool)> = id
            .sources
            .iter()
            .filter_map(|c| {
                let a = c.selected_entry()?.addr?;
                Some((c.source, special_range(a).is_some()))
            })
            .collect();
        Some(Tally {
            pair: pair_of(&ev.flow),
            opens_connection: ev.ordinal == 1 && !ev.flags.contains(HeadFlags::MIDSTREAM_START),
            preamble: proxy_src.is_some(),
            sources,
            user_agent: head.user_agent.is_some(),
        })
    }

    /// How to choose the client on `flow`: the user's sources, the pair's profile, or the
    /// default order.
    fn policy(&self, flow: &FiveTuple) -> ChoicePolicy<'_> {
        let profile = self.profiles.and_then(|t| t.profile(&pair_of(flow)));
        let front_public = profile.and_then(|p| p.front_public).unwrap_or(false);
        if !self.cfg.identity_sources.is_empty() {
            return ChoicePolicy {
                trusted: &self.cfg.trusted,
                basis: IdentityBasis::Configured,
                sources: &self.cfg.identity_sources,
                front_public,
            };
        }
        match profile.filter(|p| !p.written.is_empty()) {
            Some(p) => ChoicePolicy {
                trusted: &self.cfg.trusted,
                basis: IdentityBasis::Profile,
                sources: &p.written,
                front_public,
            },
            None => ChoicePolicy {
                front_public,
                ..ChoicePolicy::default_order(&self.cfg.trusted)
            },
        }
    }

    /// The row of one head, with its place in the output order; `None` when the head does
    /// not parse or the filters leave it out (counted in `counts`).
    pub(crate) fn build(
        &self,
        mut ev: HeadEvent,
        counts: &mut BuildCounts,
    ) -> Option<(OrderKey, RequestRow)> {
        counts.heads += 1;
        let (file_ord, index) = untag_index(ev.packet_index);
        ev.packet_index = index;
        let head = match parse_request_head(&ev.head, self.extra) {
            Ok(h) => h,
            Err(e) => {
                counts.unparsed.add(e);
                return None;
            }
        };
        let proxy = match ev.proxy_preamble.as_deref().map(parse_proxy) {
            Some(Ok(p)) => Some(p),
            Some(Err(_)) => {
                // Addresses of a header that does not parse are not believed; the rows
                // say so, whatever the reassembly thought of the preamble's framing.
                counts.preambles_unparsed += 1;
                ev.flags.set(HeadFlags::PREAMBLE_INVALID);
                None
            }
            None => None,
        };
        let proxy_src = proxy.as_ref().and_then(|p| p.src);
        let identity = extract_identity_with(Some(&head), proxy_src, &self.policy(&ev.flow));
        let file = self.files.get(file_ord as usize)?;
        // Filter before formatting: `-c --client` on a big capture keeps few rows.
        if !self.cfg.fields.keeps(&head) || !self.keep(self.client_of(&ev.flow, &identity)) {
            counts.rows_filtered += 1;
            return None;
        }
        let row = self.row(&ev, &head, &identity, proxy, file);
        Some(((row.ts_ns, file_ord, row.packet, ev.ordinal, 0), row))
    }

    /// The client a row will name: the transparent source, else the identity's choice.
    fn client_of(&self, flow: &FiveTuple, id: &Identity<'_>) -> Option<IpAddr> {
        if self.transparent_source(flow.src_ip) {
            Some(flow.src_ip)
        } else {
            id.client_ip
        }
    }

    /// With `--transparent`, a source address that is not a trusted proxy is the client
    /// itself; connections from the proxy's own (trusted) address still use headers.
    fn transparent_source(&self, src: IpAddr) -> bool {
        self.cfg.transparent && !is_trusted(src, &self.cfg.trusted)
    }

    fn keep(&self, client: Option<IpAddr>) -> bool {
        if self.cfg.identified_only && client.is_none() {
            return false;
        }
        self.cfg.clients.matches_opt(client)
    }

    fn row(
        &self,
        ev: &HeadEvent,
        head: &RequestHead<'_>,
        id: &Identity<'_>,
        proxy: Option<ProxyHeader>,
        file: &FileCtx,
    ) -> RequestRow {
        let FiveTuple {
            src_ip,
            src_port,
            dst_ip,
            dst_port,
            ..
        } = ev.flow;
        let mut time = String::with_capacity(32);
        write_rfc3339(&mut time, ev.ts_ns, file.precision);
        let (mut client_ip, mut client_port) = (id.client_ip, id.client_port);
        let mut source = id.identity_source;
        let mut basis = id.basis;
        let mut chain = id
            .identity_source
            .and_then(|s| id.source(s))
            .map(|c| chain_text(&c.chain))
            .unwrap_or_default();
        let mut spoof_reasons = id.spoof_reasons_string();
        let mut spoof = id.spoof_suspect;
        if self.transparent_source(src_ip) {
            // The proxy spoofed the client's own address as the source: nothing the client
            // wrote can override that. The port is the proxy's choice under `usesrc clientip`.
            if let Some(named) = client_ip.filter(|c| c.to_canonical() != src_ip.to_canonical()) {
                spoof = true;
                if !spoof_reasons.is_empty() {
                    spoof_reasons.push('|');
                }
                let named_by = source.map(|s| s.name()).unwrap_or_default();
                spoof_reasons.push_str(&format!("transparent_vs_{named_by}:{named}"));
            }
            client_ip = Some(src_ip);
            client_port = None;
            source = Some(IdentitySource::Transparent);
            basis = IdentityBasis::Configured;
            chain = src_ip.to_string();
        }
        let header_named = id
            .identity_source
            .is_some_and(|s| s != IdentitySource::ProxyProtocol);
        if ev.flags.contains(HeadFlags::PREAMBLE_INVALID)
            && header_named
            && source != Some(IdentitySource::Transparent)
        {
            // The preamble that should have named the client is broken, so a header the
            // client may have written names it instead: never silently.
            spoof = true;
            if !spoof_reasons.is_empty() {
                spoof_reasons.push('|');
            }
            spoof_reasons.push_str("preamble_invalid");
        }
        if let Some(p) = proxy
            .as_ref()
            .filter(|_| source == Some(IdentitySource::ProxyProtocol))
        {
            chain = p.src.map(|s| s.to_string()).unwrap_or_default();
        }
        let mut flags: Vec<&str> = ev.flags.names().collect();
        flags.extend(head.anomalies.names());
        let anomalies = id.anomalies_string();
        let mut flags = flags.join("|");
        if !anomalies.is_empty() {
            if !flags.is_empty() {
                flags.push('|');
            }
            flags.push_str(&anomalies);
        }
        let r = &ev.response;
        RequestRow {
            time,
            file: file.name.clone(),
            packet: ev.packet_index,
            src_ip,
            src_port,
            dst_ip,
            dst_port,
            method: escape_bytes(head.method),
            host: head.host.map(escape_bytes).unwrap_or_default(),
            target: escape_bytes(head.target),
            http_version: head.version.name(),
            user_agent: head.user_agent.map(escape_bytes).unwrap_or_default(),
            client_ip,
            client_port,
            identity_source: source,
            identity_basis: basis,
            chain,
            xff: join_values(head.fields(HeaderKind::XForwardedFor).map(|f| f.value)),
            x_real_ip: join_values(head.fields(HeaderKind::XRealIp).map(|f| f.value)),
            forwarded: join_values(head.fields(HeaderKind::Forwarded).map(|f| f.value)),
            proxy_version: proxy.as_ref().map(|p| p.version),
            proxy_src: proxy.as_ref().and_then(|p| p.src),
            proxy_dst: proxy.as_ref().and_then(|p| p.dst),
            spoof_suspect: spoof,
            spoof_reasons,
            p0f: p0f_text(id),
            request_on_connection: ev.ordinal,
            flags,
            status: r.status,
            response_head_bytes: r.head_bytes,
            response_body_bytes: r.body_bytes,
            response_body_framing: r.framing,
            content_type: r
                .content_type
                .as_deref()
                .map(escape_bytes)
                .unwrap_or_default(),
            response_time_us: r.first_byte_ts.map(|t| t.saturating_sub(ev.ts_ns) / 1_000),
            closed_after: r.status.map(|_| r.closed_after),
            response_missing: r.missing,
            ts_ns: ev.ts_ns,
            source_addrs: if self.cfg.source_addresses {
                source_addrs(id)
            } else {
                Vec::new()
            },
            proxy,
        }
    }
}

/// The address each source of `id` names (IPv4-mapped as IPv4).
fn source_addrs(id: &Identity<'_>) -> Vec<(IdentitySource, IpAddr)> {
    let proxy = id
        .proxy_src
        .map(|p| (IdentitySource::ProxyProtocol, p.ip().to_canonical()));
    proxy
        .into_iter()
        .chain(
            id.sources
                .iter()
                .filter_map(|c| Some((c.source, c.selected_entry()?.addr?.to_canonical()))),
        )
        .collect()
}

/// The profile key of a back-side flow (source = proxy).
fn pair_of(flow: &FiveTuple) -> ProxyPair {
    ProxyPair {
        proxy: flow.src_ip,
        backend: flow.dst_ip,
        backend_port: flow.dst_port,
    }
}
