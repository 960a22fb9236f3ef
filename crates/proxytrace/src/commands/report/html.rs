//! The page: [`ClientView::write_html`]. Every value from a capture goes through [`Esc`];
//! attributes are always double-quoted. The page loads nothing: a Content-Security-Policy
//! that allows only inline style, no script, no image, no font, no link to elsewhere.

use super::view::{ClientView, Connection, Offset, RequestEntry, Tally};
use crate::extract::connections::FirstProtocol;
use crate::vocab::escape::{is_hidden_format, push_escaped_char};
use std::fmt;
use std::io::{self, Write};

/// The policy: nothing but the inline style. With no script, `'unsafe-inline'` styles
/// can only restyle the page, and an image or a font that an injected tag asked for
/// would not load.
pub(super) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.6em 0 .4em;border-bottom:1px solid #ccc}
nav a{margin-right:1em}
table{border-collapse:collapse;margin:.4em 0;font-size:12.5px}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3;position:sticky;top:0}
td{font-family:ui-monospace,monospace;white-space:nowrap}
td.w{white-space:normal;overflow-wrap:anywhere;min-width:14em;max-width:40em}
div.scroll{overflow-x:auto;max-width:100%}
td.n{text-align:right}
tr.spoof td{background:#fdecea}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em;margin:.4em 0}dt{font-weight:600}dd{margin:0}
.warn{color:#a00;font-weight:600}
.c-certain{color:#2e7d32}.c-probable{color:#1565c0}.c-ambiguous{color:#ef6c00}.c-none{color:#777}
svg{max-width:100%;height:auto;border:1px solid #eee}
svg text{font:11px system-ui,sans-serif;fill:#333}
";

/// Text escaped for HTML, in element content and in double-quoted attributes alike:
/// `& < > " '` as character references; control and hidden format characters as the
/// rows write them (`\xNN`, `\u{XXXX}`; rows are escaped already, this is the last line).
pub(super) struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut start = 0;
        for (i, c) in s.char_indices() {
            let entity = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                c if c.is_control() || is_hidden_format(c) => {
                    f.write_str(&s[start..i])?;
                    let mut shown = String::new();
                    push_escaped_char(&mut shown, c, false);
                    f.write_str(&shown)?;
                    start = i + c.len_utf8();
                    continue;
                }
                _ => continue,
            };
            f.write_str(&s[start..i])?;
            f.write_str(entity)?;
            start = i + c.len_utf8();
        }
        f.write_str(&s[start..])
    }
}

/// A column of a table: its title and how a row's cell reads.
pub(super) struct Column<R> {
    pub title: &'static str,
    /// Shown only with a front side (the join's columns).
    pub front_only: bool,
    /// Long text (targets, user agents, signatures): wrapped anywhere; other cells stay
    /// on one line.
    pub wide: bool,
    pub cell: fn(&R) -> String,
}

/// The same column, wrapped as long text.
const fn wide<R>(c: Column<R>) -> Column<R> {
    Column { wide: true, ..c }
}

/// The requests table, in order. A new column of the `requests` row (a response's status,
/// its size) is one more line here.
pub(super) const REQUEST_COLUMNS: &[Column<RequestEntry>] = &[
    col("time", |e| e.request.time.clone()),
    col("client", client_text),
    col("identity source", |e| {
        e.request
            .identity_source
            .map(|s| s.name().into_owned())
            .unwrap_or_default()
    }),
    col("method", |e| match &e.join {
        Some(j) if j.back_protocol != FirstProtocol::Http1 => {
            format!("({} connection)", j.back_protocol)
        }
        _ => e.request.method.clone(),
    }),
    wide(col("host", |e| e.request.host.clone())),
    wide(col("target", |e| e.request.target.clone())),
    // The response: its status, or why there is none.
    col("status", |e| {
        match (e.request.status, e.request.response_missing) {
            (Some(s), _) => s.to_string(),
            (None, Some(why)) => format!("({why})"),
            (None, None) => String::new(),
        }
    }),
    col("response bytes", |e| {
        e.request
            .response_body_bytes
            .map(|b| b.to_string())
            .unwrap_or_default()
    }),
    col("response µs", |e| {
        e.request
            .response_time_us
            .map(|t| t.to_string())
            .unwrap_or_default()
    }),
    front("join", |e| {
        e.join
            .as_ref()
            .map(|j| format!("{} ({})", j.confidence, j.method))
            .unwrap_or_default()
    }),
    front("front connection", |e| {
        e.join
            .as_ref()
            .and_then(|j| j.front.as_ref())
            .map(|(port, time, _)| format!("port {port}, SYN {time}"))
            .unwrap_or_default()
    }),
    front("candidates", |e| {
        e.join
            .as_ref()
            .map(|j| j.candidates.to_string())
            .unwrap_or_default()
    }),
    wide(front("OS", |e| {
        e.join
            .as_ref()
            .and_then(|j| j.os.clone())
            .unwrap_or_default()
    })),
    wide(front("SYN signature", |e| {
        e.join
            .as_ref()
            .and_then(|j| j.signature.clone())
            .unwrap_or_default()
    })),
    wide(col("spoof reasons", |e| e.request.spoof_reasons.clone())),
    wide(col("chain", |e| e.request.chain.clone())),
    wide(col("flags", |e| e.request.flags.clone())),
    wide(col("user agent", |e| e.request.user_agent.clone())),
    col("back connection", |e| {
        let r = &e.request;
        format!(
            "{} -> {} #{}",
            socket(r.src_ip, r.src_port),
            socket(r.dst_ip, r.dst_port),
            r.request_on_connection
        )
    }),
    wide(col("file:packet", |e| {
        format!("{}:{}", e.request.file, e.request.packet)
    })),
];

/// The front connections table (the client's SYNs).
const CONNECTION_COLUMNS: &[Column<Connection>] = &[
    col("SYN time (front clock)", |c| c.syn.time.clone()),
    col("client port", |c| c.syn.src_port.to_string()),
    col("to", |c| socket(c.syn.dst_ip, c.syn.dst_port)),
    wide(col("OS", |c| {
        let s = &c.syn;
        match (&s.os_name, s.os_flavor.as_deref()) {
            (None, _) => "???".to_owned(),
            (Some(n), None | Some("")) => n.clone(),
            (Some(n), Some(f)) => format!("{n} {f}"),
        }
    })),
    col("match", |c| c.syn.match_quality.to_owned()),
    wide(col("signature", |c| c.syn.signature.clone())),
    col("TTL", |c| c.syn.ttl.to_string()),
    col("MSS", |c| opt(c.syn.mss)),
    col("retransmits", |c| c.syn.retransmits.to_string()),
    col("SYN+ACK to ACK", |c| {
        c.syn
            .synack_to_ack_ns
            .map(|ns| format!("{:.3} ms", ns as f64 / 1e6))
            .unwrap_or_default()
    }),
    col("uptime hint", |c| {
        c.syn
            .uptime_hint_s
            .map(|s| format!("{s} s"))
            .unwrap_or_default()
    }),
    wide(col("file:packet", |c| {
        format!("{}:{}", c.syn.file, c.syn.packet)
    })),
];

const fn col<R>(title: &'static str, cell: fn(&R) -> String) -> Column<R> {
    Column {
        title,
        front_only: false,
        wide: false,
        cell,
    }
}

const fn front<R>(title: &'static str, cell: fn(&R) -> String) -> Column<R> {
    Column {
        title,
        front_only: true,
        wide: false,
        cell,
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn socket(ip: std::net::IpAddr, port: u16) -> String {
    std::net::SocketAddr::new(ip, port).to_string()
}

fn client_text(e: &RequestEntry) -> String {
    match (e.request.client_ip, e.request.client_port) {
        (Some(ip), Some(port)) => socket(ip, port),
        (Some(ip), None) => ip.to_string(),
        (None, _) => String::new(),
    }
}

impl ClientView {
    /// Write the page. Its bytes depend only on the view (no time of writing).
    pub fn write_html(&self, w: &mut dyn Write) -> io::Result<()> {
        let client = self.client.to_string();
        write!(
            w,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
             <meta name=\"referrer\" content=\"no-referrer\">\n\
             <meta name=\"generator\" content=\"proxytrace report\">\n\
             <title>proxytrace report: {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
            Esc(&client)
        )?;
        writeln!(w, "<h1>Client {}</h1>", Esc(&client))?;
        let front = self.front_files.is_some();
        write!(
            w,
            "<nav><a href=\"#decided\">how decided</a><a href=\"#timeline\">timeline</a>\
             <a href=\"#identity\">identity</a>"
        )?;
        if front {
            write!(
                w,
                "<a href=\"#front\">front connections</a><a href=\"#stacks\">stacks and NAT</a>"
            )?;
        }
        writeln!(w, "<a href=\"#requests\">requests</a></nav>")?;
        self.write_decided(w)?;
        writeln!(w, "<h2 id=\"timeline\">Timeline</h2>")?;
        super::axis::write_timeline(self, w)?;
        self.write_identity(w)?;
        if front {
            self.write_front(w)?;
            self.write_stacks(w)?;
        }
        self.write_requests(w)?;
        writeln!(w, "</body>\n</html>")
    }

    /// The header: inputs, totals, how the join decided, the clock offset, the run's
    /// notes, unreadable files.
    fn write_decided(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "<h2 id=\"decided\">How the rows were decided</h2>")?;
        if self.interrupted {
            writeln!(
                w,
                "<p class=\"warn\">Interrupted: the page holds what was read until then.</p>"
            )?;
        }
        if !self.failed_files.is_empty() {
            writeln!(
                w,
                "<p class=\"warn\">Captures that could not be read to their end:</p><ul>"
            )?;
            for (file, error) in &self.failed_files {
                writeln!(w, "<li>{}: {}</li>", Esc(file), Esc(error))?;
            }
            writeln!(w, "</ul>")?;
        }
        writeln!(w, "<dl>")?;
        dd(w, "back captures", &self.back_files.join(", "))?;
        match &self.front_files {
            Some(f) => dd(w, "front captures", &f.join(", "))?,
            None => dd(
                w,
                "front captures",
                "none: back side only, so requests only (no join, no SYN fingerprints)",
            )?,
        }
        let drawn = self.requests.len() as u64;
        let mut requests = format!(
            "{} (from the back side, whose identity sources name {})",
            self.requests_total, self.client
        );
        if drawn < self.requests_total {
            requests.push_str(&format!(
                "; the first {drawn} are drawn (at most {} rows per table)",
                self.max_rows
            ));
        }
        dd(w, "requests", &requests)?;
        if let (Some(a), Some(b)) = (&self.first_request, &self.last_request) {
            dd(w, "first and last request", &format!("{a} to {b}"))?;
        }
        if self.front_files.is_some() {
            let mut syns = self.syns_total.to_string();
            let drawn = self.connections.len() as u64;
            if drawn < self.syns_total {
                syns.push_str(&format!("; the first {drawn} are drawn"));
            }
            dd(w, "front connections (client SYNs)", &syns)?;
            dd(w, "join confidence", &tally_line(&self.join_confidence))?;
            dd(w, "join methods", &tally_line(&self.join_methods))?;
            let offset = match self.offset {
                Offset::Given(o) => {
                    format!("{} (given): back time = front time + offset", ns_text(o))
                }
                Offset::Joined(o) => format!(
                    "{} (the join's, read off its rows): back time = front time + offset; \
                     front times are plotted shifted by it",
                    ns_text(o)
                ),
                Offset::Unknown => "unknown (no request of this client joined): front times \
                                    are plotted as captured"
                    .to_owned(),
            };
            dd(w, "clock offset", &offset)?;
        }
        writeln!(w, "</dl>")?;
        if !self.losses.is_empty() {
            writeln!(
                w,
                "<p class=\"warn\">Lost or capped in the run (counted, not guessed; the \
                 rows may miss what these held):</p><ul>"
            )?;
            for l in &self.losses {
                writeln!(w, "<li>{}</li>", Esc(l))?;
            }
            writeln!(w, "</ul>")?;
        }
        if !self.notes.is_empty() {
            writeln!(
                w,
                "<p>Notes of the run (the join's cover every client):</p><ul>"
            )?;
            for n in &self.notes {
                writeln!(w, "<li>{}</li>", Esc(n))?;
            }
            writeln!(w, "</ul>")?;
        }
        Ok(())
    }

    fn write_identity(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(
            w,
            "<h2 id=\"identity\">Identity sources and spoof flags</h2>"
        )?;
        writeln!(
            w,
            "<p>Requests with a spoof flag: <span class=\"{}\">{}</span> of {}.</p>",
            if self.spoof_suspects > 0 { "warn" } else { "" },
            self.spoof_suspects,
            self.requests_total
        )?;
        tally_table(w, "identity source", &self.identity_sources)?;
        tally_table(w, "spoof reason", &self.spoof_reasons)?;
        tally_table(w, "request flag", &self.flags)?;
        tally_table(w, "host", &self.hosts)?;
        tally_table(w, "user agent", &self.user_agents)
    }

    fn write_front(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "<h2 id=\"front\">Front connections</h2>")?;
        writeln!(
            w,
            "<p>Every SYN the client sent on the front side ({} drawn of {}), with its p0f \
             signature and OS, and the requests the join put on it.</p>",
            self.connections.len(),
            self.syns_total
        )?;
        write!(w, "<div class=\"scroll\"><table>\n<tr>")?;
        for c in CONNECTION_COLUMNS {
            write!(w, "<th>{}</th>", Esc(c.title))?;
        }
        writeln!(w, "<th>requests joined</th></tr>")?;
        for conn in &self.connections {
            write!(w, "<tr>")?;
            for c in CONNECTION_COLUMNS {
                write!(w, "<td{}>{}</td>", td_class(c), Esc(&(c.cell)(conn)))?;
            }
            let key = (conn.syn.src_port, conn.syn.time.clone());
            let joined = self.joined_to.get(&key).copied().unwrap_or(0);
            writeln!(w, "<td class=\"n\">{joined}</td></tr>")?;
        }
        writeln!(w, "</table></div>")?;
        if self.joined_elsewhere > 0 {
            writeln!(
                w,
                "<p>{} joined requests went to connections beyond the first {} counted.</p>",
                self.joined_elsewhere, self.max_rows
            )?;
        }
        Ok(())
    }

    fn write_stacks(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(
            w,
            "<h2 id=\"stacks\">Stacks behind the address, and NAT</h2>"
        )?;
        if self.nat_hint() {
            writeln!(
                w,
                "<p class=\"warn\">NAT hint: several TCP stacks sent SYNs from {} (signatures \
                 that differ other than by TCP Fast Open): more than one host, or a shared \
                 proxy, is behind the address.</p>",
                Esc(&self.client.to_string())
            )?;
        } else {
            writeln!(w, "<p>One TCP stack (or none) seen from this address.</p>")?;
        }
        writeln!(
            w,
            "<div class=\"scroll\"><table>\n<tr><th>signature</th><th>OS</th><th>SYNs</th><th>TTLs</th>\
             <th>first</th><th>last</th><th>other addresses with it</th></tr>"
        )?;
        for (sig, s) in &self.stacks {
            let shared = self.shared.get(sig);
            let others = shared.map_or(0, |sh| sh.addresses.len());
            let more = shared.is_some_and(|sh| sh.unlisted_syns > 0);
            let ttls: Vec<String> = s.ttls.iter().map(u8::to_string).collect();
            writeln!(
                w,
                "<tr><td class=\"w\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td class=\"n\">{}{}</td></tr>",
                Esc(sig),
                Esc(&s.os),
                s.syns,
                Esc(&ttls.join(", ")),
                Esc(&s.first),
                Esc(&s.last),
                if more { "at least " } else { "" },
                others
            )?;
        }
        writeln!(w, "</table></div>")?;
        if self.unlisted_stack_syns > 0 {
            writeln!(
                w,
                "<p>{} SYNs carried signatures beyond the first {} kept.</p>",
                self.unlisted_stack_syns,
                super::MAX_CLIENT_SIGNATURES
            )?;
        }
        writeln!(
            w,
            "<h3>Other addresses with the client's signatures</h3>\n<p>The same p0f \
             signature from another address: the same kind of stack (common for popular \
             systems), or the same host behind another address.</p>"
        )?;
        if self.shared.is_empty() {
            return writeln!(w, "<p>None.</p>");
        }
        writeln!(
            w,
            "<div class=\"scroll\"><table>\n<tr><th>signature</th><th>address</th><th>SYNs</th><th>first</th>\
             <th>last</th></tr>"
        )?;
        for (sig, sh) in &self.shared {
            for (ip, a) in &sh.addresses {
                writeln!(
                    w,
                    "<tr><td class=\"w\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                    Esc(sig),
                    Esc(&ip.to_string()),
                    a.syns,
                    Esc(&a.first),
                    Esc(&a.last)
                )?;
            }
            if sh.unlisted_syns > 0 {
                writeln!(
                    w,
                    "<tr><td>{}</td><td colspan=\"4\">{} more SYNs from addresses beyond the \
                     first {} listed</td></tr>",
                    Esc(sig),
                    sh.unlisted_syns,
                    super::MAX_SHARED_ADDRESSES
                )?;
            }
        }
        writeln!(w, "</table></div>")
    }

    fn write_requests(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "<h2 id=\"requests\">Requests</h2>")?;
        let drawn = self.requests.len() as u64;
        if drawn < self.requests_total {
            writeln!(
                w,
                "<p class=\"warn\">The first {drawn} of {} requests are drawn (at most {} \
                 rows per table); the tallies above count them all.</p>",
                self.requests_total, self.max_rows
            )?;
        } else {
            writeln!(w, "<p>{drawn} requests, in time order.</p>")?;
        }
        let front = self.front_files.is_some();
        let columns: Vec<&Column<RequestEntry>> = REQUEST_COLUMNS
            .iter()
            .filter(|c| front || !c.front_only)
            .collect();
        write!(w, "<div class=\"scroll\"><table>\n<tr>")?;
        for c in &columns {
            write!(w, "<th>{}</th>", Esc(c.title))?;
        }
        writeln!(w, "</tr>")?;
        for e in &self.requests {
            let class = if e.request.spoof_suspect {
                " class=\"spoof\""
            } else {
                ""
            };
            write!(w, "<tr{class}>")?;
            for c in &columns {
                let text = (c.cell)(e);
                match (&e.join, c.title) {
                    (Some(j), "join") => {
                        write!(w, "<td class=\"c-{}\">{}</td>", j.confidence, Esc(&text))?
                    }
                    _ => write!(w, "<td{}>{}</td>", td_class(c), Esc(&text))?,
                }
            }
            writeln!(w, "</tr>")?;
        }
        writeln!(w, "</table></div>")
    }
}

/// The class attribute of a column's cells.
fn td_class<R>(c: &Column<R>) -> &'static str {
    if c.wide {
        " class=\"w\""
    } else {
        ""
    }
}

/// One `<dt>`/`<dd>` pair.
fn dd(w: &mut dyn Write, term: &str, value: &str) -> io::Result<()> {
    writeln!(w, "<dt>{}</dt><dd>{}</dd>", Esc(term), Esc(value))
}

/// A tally as a two-column table, most frequent first.
fn tally_table(w: &mut dyn Write, what: &str, t: &Tally) -> io::Result<()> {
    if t.counts.is_empty() {
        return writeln!(w, "<p>No {} seen.</p>", Esc(what));
    }
    writeln!(
        w,
        "<div class=\"scroll\"><table>\n<tr><th>{}</th><th>requests</th></tr>",
        Esc(what)
    )?;
    for (value, n) in t.by_count() {
        let shown = if value.is_empty() { "(empty)" } else { value };
        writeln!(
            w,
            "<tr><td class=\"w\">{}</td><td class=\"n\">{n}</td></tr>",
            Esc(shown)
        )?;
    }
    if t.other > 0 {
        writeln!(
            w,
            "<tr><td>(values beyond the first {} distinct)</td><td class=\"n\">{}</td></tr>",
            super::MAX_TALLY_VALUES,
            t.other
        )?;
    }
    writeln!(w, "</table></div>")
}

/// `name count` pairs, in the values' order.
fn tally_line<T: fmt::Display>(counts: &std::collections::BTreeMap<T, u64>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A duration in nanoseconds, with milliseconds beside it.
fn ns_text(ns: i64) -> String {
    format!("{ns} ns ({:.3} ms)", ns as f64 / 1e6)
}
