//! `report`: one client's HTML page. Checked on the sample pair against its truth file and
//! against `join`'s and `requests`' own rows, on captures built packet by packet (hostile
//! strings, NAT, a shared fingerprint: the right answer known without any tool), and
//! rendered in headless Chromium (ignored where it is not installed).

use crate::util::{run, testdata};
use proxytrace::decode::TcpFlags;
use proxytrace::timefmt::{rfc3339, Precision};
use proxytrace_synth::packet::{self, IpParams, SynPreset, TcpPacket};
use proxytrace_synth::writer::{PcapConfig, PcapFlavor, PcapWriter};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

const CLIENT: &str = "62.5.161.246";

fn sample(name: &str) -> String {
    testdata(&format!("sample/{name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// A scratch directory for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d =
            std::env::temp_dir().join(format!("proxytrace-report-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run `report ARGS -o OUT` (OUT in `dir`); the page and stderr. Exit status 0 asserted.
fn page_in(dir: &Scratch, out: &str, args: &[&str]) -> (String, String) {
    let path = dir.path(out);
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", path.to_str().unwrap()]);
    let (code, stdout, err) = run(&all);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.is_empty(), "{stdout}");
    (std::fs::read_to_string(&path).unwrap(), err)
}

fn page(tag: &str, args: &[&str]) -> (String, String) {
    let dir = Scratch::new(tag);
    page_in(&dir, "page.html", args)
}

fn jsonl(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The rows of the table after `<h2 id="ID">`: each row's cells, without the header.
fn table_rows(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html.find(&format!("<h2 id=\"{id}\">")).unwrap();
    let rest = &html[start..];
    let table = &rest[rest.find("<table>").unwrap()..rest.find("</table>").unwrap()];
    table
        .split("<tr")
        .skip(2)
        .map(|tr| {
            tr.split("<td")
                .skip(1)
                .map(|td| {
                    let body = &td[td.find('>').unwrap() + 1..];
                    body[..body.find("</td>").unwrap()].to_owned()
                })
                .collect()
        })
        .collect()
}

/// The `<dd>` after `<dt>TERM</dt>`.
fn dd<'a>(html: &'a str, term: &str) -> &'a str {
    let at = html.find(&format!("<dt>{term}</dt><dd>")).unwrap() + term.len() + 13;
    &html[at..at + html[at..].find("</dd>").unwrap()]
}

/// `name n, ...` of a column's values, in name order (as the page's tally lines).
fn tally_line(rows: &[&Value], column: &str) -> String {
    let mut t: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows {
        *t.entry(r[column].as_str().unwrap().to_owned()).or_default() += 1;
    }
    t.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sample's client 62.5.161.246: its three requests as the truth file has them (and
/// none of another client's), the SYN it sent, the join's confidence and offset as `join`
/// gives them, and the time axis labelled in UTC.
#[test]
fn sample_page_holds_the_clients_requests_syn_and_time_axis() {
    let (front, back) = (sample("front.pcap"), sample("back.pcap"));
    let (html, err) = page(
        "sample",
        &["--client", CLIENT, "--front", &front, "--back", &back],
    );
    let truth = jsonl(&std::fs::read_to_string(sample("truth.jsonl")).unwrap());
    let (mine, others): (Vec<&Value>, Vec<&Value>) =
        truth.iter().partition(|t| t["client_ip"] == CLIENT);
    assert_eq!(mine.len(), 3);
    let rows = table_rows(&html, "requests");
    assert_eq!(rows.len(), 3, "{err}");
    for (row, t) in rows.iter().zip(&mine) {
        let time = rfc3339(t["ts_ns"].as_i64().unwrap(), Precision::NANO);
        assert_eq!(row[0], time);
        assert_eq!(row[2], t["identity"].as_str().unwrap());
        assert_eq!(row[3], t["method"].as_str().unwrap());
        assert_eq!(row[4], t["host"].as_str().unwrap());
        assert_eq!(row[5], t["target"].as_str().unwrap());
        // Every request came on the client's one front connection (truth: port 30457,
        // SYN at the truth's time), whose SYN p0f matches as macOS.
        let syn_time = rfc3339(t["front_syn_ts_ns"].as_i64().unwrap(), Precision::NANO);
        assert_eq!(row[10], format!("port 30457, SYN {syn_time}"));
        assert_eq!(t["os"], "macos");
        assert_eq!(row[12], "Apple macOS 12+ or iOS/iPadOS 15+");
        // The response (tshark: every one 200).
        assert_eq!(row[6], "200");
    }
    // Body bytes of the first and third (tshark's http.content_length on port 32768).
    assert_eq!(rows[0][7], "30331");
    assert_eq!(rows[2][7], "6042");
    for t in others {
        assert!(
            !html.contains(t["target"].as_str().unwrap()),
            "{}",
            t["target"]
        );
    }
    let conns = table_rows(&html, "front");
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0][0], "2026-01-01T00:00:00.000000000Z");
    assert_eq!(conns[0][1], "30457");
    assert_eq!(conns[0][3], "Apple macOS 12+ or iOS/iPadOS 15+");
    assert_eq!(conns[0].last().unwrap(), "3", "requests joined");
    // The join's own rows of this client: the same confidence and methods.
    let (code, out, jerr) = run(&[
        "join", "--front", &front, "--back", &back, "--format", "jsonl",
    ]);
    assert_eq!(code, 0, "{jerr}");
    let joined = jsonl(&out);
    let joined: Vec<&Value> = joined.iter().filter(|r| r["client_ip"] == CLIENT).collect();
    assert_eq!(
        dd(&html, "join confidence"),
        tally_line(&joined, "join_confidence")
    );
    assert_eq!(
        dd(&html, "join methods"),
        tally_line(&joined, "join_method")
    );
    assert_eq!(dd(&html, "join confidence"), "certain 1, probable 2");
    // The offset `join` estimated (its note), which the page reads back off the rows.
    assert!(jerr.contains("clock offset estimated 5409000 ns"), "{jerr}");
    assert!(dd(&html, "clock offset").starts_with("5409000 ns (5.409 ms) (the join"));
    // The axis: front SYN at 0 + 5.409 ms, requests at 24.011, 35.282 and 50.736 ms; a
    // 1/40 margin either side makes 4.276 to 51.869 ms, whose round step is 10 ms.
    let ticks: Vec<&str> = html
        .split("<text class=\"tick\"")
        .skip(1)
        .map(|t| &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()])
        .collect();
    assert_eq!(
        ticks,
        [
            "00:00:00.010",
            "00:00:00.020",
            "00:00:00.030",
            "00:00:00.040",
            "00:00:00.050"
        ]
    );
    assert_eq!(html.matches(">2026-01-01</text>").count(), 1);
    assert_eq!(html.matches("<circle class=\"request\"").count(), 3);
    assert_eq!(html.matches("<circle class=\"syn\"").count(), 1);
    assert_eq!(html.matches("<line class=\"link\"").count(), 3);
}

/// The page's bytes do not depend on the thread count, the chunking or mapping.
#[test]
fn page_bytes_are_the_same_for_any_thread_count_and_reading() {
    let (front, back) = (sample("front.pcap"), sample("back.pcap"));
    let dir = Scratch::new("determinism");
    let base = ["--client", CLIENT, "--front", &front, "--back", &back];
    let (one, _) = page_in(&dir, "a.html", &[&["--threads", "1"][..], &base].concat());
    for extra in [
        &["--threads", "2"][..],
        &["--threads", "3", "--chunk-size", "4096"],
        &["--threads", "2", "--no-mmap"],
    ] {
        let (other, _) = page_in(&dir, "b.html", &[extra, &base].concat());
        assert!(one == other, "{extra:?}");
    }
}

/// At most --max-rows requests are drawn; the page says so, and the tallies count all.
#[test]
fn rows_beyond_the_cap_are_counted_not_drawn() {
    let (front, back) = (sample("front.pcap"), sample("back.pcap"));
    let (html, _) = page(
        "cap",
        &[
            "--client",
            CLIENT,
            "--front",
            &front,
            "--back",
            &back,
            "--max-rows",
            "1",
        ],
    );
    assert_eq!(table_rows(&html, "requests").len(), 1);
    assert!(html.contains("The first 1 of 3 requests are drawn"));
    assert!(dd(&html, "requests").contains("the first 1 are drawn"));
    assert_eq!(html.matches("<circle class=\"request\"").count(), 1);
    // The user agent tally counts every request.
    let identity = &html[html.find("<th>user agent</th><th>requests</th>").unwrap()..];
    assert!(identity.contains("<td class=\"n\">3</td>"));
}

/// Without --front: the client's `requests` rows and nothing of the front side.
#[test]
fn back_only_page_is_the_clients_requests() {
    let back = sample("back.pcap");
    let (html, _) = page("back", &["--client", CLIENT, "--back", &back]);
    let (code, out, err) = run(&["requests", "--client", CLIENT, &back, "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let want = jsonl(&out);
    let rows = table_rows(&html, "requests");
    assert_eq!(rows.len(), want.len());
    assert_eq!(rows.len(), 3);
    for (row, r) in rows.iter().zip(&want) {
        assert_eq!(row[0], r["time"].as_str().unwrap());
        assert_eq!(row[5], r["target"].as_str().unwrap());
    }
    assert!(!html.contains("<h2 id=\"front\">"));
    assert!(!html.contains("<h2 id=\"stacks\">"));
    assert!(dd(&html, "front captures").starts_with("none: back side only"));
    assert!(!html.contains("class=\"syn\""));
}

#[test]
fn page_goes_to_standard_output_when_it_is_not_a_terminal() {
    let back = sample("back.pcap");
    let (code, out, err) = run(&["report", "--client", CLIENT, "--back", &back, "-q"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("<!DOCTYPE html>\n"), "{out}");
    assert!(out.ends_with("</html>\n"));
    assert!(err.is_empty(), "{err}");
    // The join's flags without a front side are a mistake, not ignored.
    let (code, _, err) = run(&[
        "report",
        "--client",
        CLIENT,
        "--back",
        &back,
        "--clock-offset",
        "0s",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("give --front too"), "{err}");
}

// ---- built captures ---------------------------------------------------------------

const S: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;
const T0: i64 = 1_700_000_000 * S;
const LB: [u8; 4] = [203, 0, 113, 10];
const NAT: [u8; 4] = [198, 51, 100, 7];
const PSH_ACK: u16 = 0x18;

struct Cap {
    w: PcapWriter<Vec<u8>>,
    frame: Vec<u8>,
    opts: Vec<u8>,
}

impl Cap {
    fn new() -> Cap {
        let cfg = PcapConfig {
            flavor: PcapFlavor::Nano,
            ..PcapConfig::default()
        };
        Cap {
            w: PcapWriter::new(Vec::new(), cfg).unwrap(),
            frame: Vec::new(),
            opts: Vec::new(),
        }
    }

    fn put(&mut self, ts_ns: i64, p: &TcpPacket<'_>) {
        self.frame.clear();
        p.build(&mut self.frame);
        self.w.packet(ts_ns, &self.frame).unwrap();
    }

    /// A client SYN from `preset` (TTL preset - 5) to the proxy's port 443.
    fn syn(&mut self, t: i64, ip: [u8; 4], port: u16, p: &SynPreset) {
        p.options(500, &mut self.opts);
        let opts = std::mem::take(&mut self.opts);
        let syn = TcpPacket {
            src: IpAddr::from(ip),
            dst: IpAddr::from(LB),
            ip: IpParams {
                ttl: p.ttl - 5,
                df: p.df,
                ip_id: 0x1234,
                ..IpParams::default()
            },
            src_port: port,
            dst_port: 443,
            seq: 1000 + u32::from(port),
            ack: 0,
            flags: TcpFlags::SYN | p.extra_flags,
            window: p.window_value(),
            options: &opts,
            ..TcpPacket::default()
        };
        self.put(t, &syn);
        self.opts = opts;
    }

    /// A back connection from the proxy (10.0.0.2) to the backend: its SYN at `t`, the
    /// request 1 ms later.
    fn request(&mut self, t: i64, port: u16, head: &[u8]) {
        let p = |seq: u32, flags: u16, payload| TcpPacket {
            src: IpAddr::from([10, 0, 0, 2]),
            dst: IpAddr::from([10, 0, 1, 1]),
            src_port: port,
            dst_port: 8080,
            seq,
            flags,
            payload,
            ..TcpPacket::default()
        };
        self.put(t, &p(1000, TcpFlags::SYN, b""));
        self.put(t + MS, &p(1001, PSH_ACK, head));
    }

    fn bytes(self) -> Vec<u8> {
        self.w.finish().unwrap()
    }
}

/// What an attacker writes in the headers the page shows.
const HOSTILE_TARGET: &str = "/<script>alert(1)</script>?a=1&b='x'";
const HOSTILE_HOST: &str = "\"><img src=x onerror=alert(2)>";
const HOSTILE_UA: &str = "</style><script>alert(3)</script><!--";

/// The front side: the NAT address sends a Linux SYN at T0 and a Windows SYN at 100 ms;
/// another address sends the same Linux SYN at 300 ms, a third a macOS one. The back
/// side: two requests naming the NAT address, at 201 and 251 ms, with hostile strings;
/// the second also with a private address left of it (a spoof flag).
fn hostile_pair(dir: &Scratch) -> (String, String) {
    let mut front = Cap::new();
    front.syn(T0, NAT, 40001, &packet::LINUX);
    front.syn(T0 + 100 * MS, NAT, 40002, &packet::WINDOWS);
    front.syn(T0 + 300 * MS, [198, 51, 100, 8], 40010, &packet::LINUX);
    front.syn(T0 + 320 * MS, [198, 51, 100, 9], 40011, &packet::MACOS);
    let head = |xff: &str| {
        format!(
            "GET {HOSTILE_TARGET} HTTP/1.1\r\nHost: {HOSTILE_HOST}\r\nUser-Agent: \
             {HOSTILE_UA}\r\nX-Forwarded-For: {xff}\r\n\r\n"
        )
    };
    let mut back = Cap::new();
    back.request(T0 + 200 * MS, 50001, head("198.51.100.7").as_bytes());
    back.request(
        T0 + 250 * MS,
        50002,
        head("10.9.9.9, 198.51.100.7").as_bytes(),
    );
    // A file name an attacker could choose too.
    let f = dir.path("front<b>.pcap");
    let b = dir.path("back<script>alert(4).pcap");
    std::fs::write(&f, front.bytes()).unwrap();
    std::fs::write(&b, back.bytes()).unwrap();
    (
        f.to_str().unwrap().to_owned(),
        b.to_str().unwrap().to_owned(),
    )
}

/// Every captured string is text on the page, never markup: no element an attacker
/// wrote, and each hostile value present, escaped.
#[test]
fn hostile_strings_are_escaped() {
    let dir = Scratch::new("hostile");
    let (front, back) = hostile_pair(&dir);
    let (html, err) = page_in(
        &dir,
        "page.html",
        &[
            "--client",
            "198.51.100.7",
            "--front",
            &front,
            "--back",
            &back,
            "--clock-offset",
            "0s",
        ],
    );
    assert_eq!(table_rows(&html, "requests").len(), 2, "{err}");
    assert!(!html.contains("<script"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>"));
    assert!(!html.contains("<!--"));
    assert_eq!(html.matches("</style>").count(), 1, "the page's own");
    assert_eq!(html.matches("<style>").count(), 1);
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    };
    for hostile in [HOSTILE_TARGET, HOSTILE_HOST, HOSTILE_UA, &back, &front] {
        assert!(html.contains(&esc(hostile)), "{hostile}");
    }
    // In the time axis' hover titles too.
    assert!(html.contains(&format!(
        "<title>2023-11-14T22:13:20.201000000Z GET {}{} (join ambiguous)",
        esc(HOSTILE_HOST),
        esc(HOSTILE_TARGET)
    )));
    // Nothing the page could fetch, and the policy that forbids it.
    assert!(!html.contains("http:") && !html.contains("https:") && !html.contains("//"));
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">"
    ));
    for href in html.split("href=\"").skip(1) {
        assert!(href.starts_with('#'), "{href}");
    }
    assert!(!html.contains(" src=\""));
}

/// NAT: two stacks from one address (NAT hint), the joined SYN's OS, the address that
/// shares the client's Linux signature, the spoof flag.
#[test]
fn nat_stacks_shared_fingerprint_and_spoof_flags() {
    let dir = Scratch::new("nat");
    let (front, back) = hostile_pair(&dir);
    let (html, err) = page_in(
        &dir,
        "page.html",
        &[
            "--client",
            "198.51.100.7",
            "--front",
            &front,
            "--back",
            &back,
            "--clock-offset",
            "0s",
        ],
    );
    // Both requests: ip_time to the latest SYN before them (the Windows one at 100 ms);
    // ambiguous, since two fingerprints came from the address in the window.
    let rows = table_rows(&html, "requests");
    for row in &rows {
        // Hand-built requests without responses: the capture ended first.
        assert_eq!(row[6], "(capture_end)", "{err}");
        assert_eq!(row[9], "ambiguous (ip_time)", "{err}");
        assert_eq!(row[10], "port 40002, SYN 2023-11-14T22:13:20.100000000Z");
        assert!(row[12].starts_with("Windows"), "{}", row[12]);
    }
    assert_eq!(rows[0][14], "");
    assert_eq!(rows[1][14], "private_left_of_public:x_forwarded_for");
    assert!(html.contains("<tr class=\"spoof\">"));
    assert!(html.contains("Requests with a spoof flag: <span class=\"warn\">1</span> of 2."));
    assert!(html.contains("NAT hint: several TCP stacks sent SYNs from 198.51.100.7"));
    assert_eq!(
        dd(&html, "clock offset"),
        "0 ns (0.000 ms) (given): back time = front time + offset"
    );
    // The client's two SYNs; the Linux one shared with .8 (not .9's macOS).
    let conns = table_rows(&html, "front");
    assert_eq!(conns.len(), 2);
    assert_eq!(
        (
            conns[0].last().unwrap().as_str(),
            conns[1].last().unwrap().as_str()
        ),
        ("0", "2"),
        "requests joined per connection"
    );
    let shared = &html[html.find("<h3>Other addresses").unwrap()..];
    assert!(shared.contains("<td>198.51.100.8</td><td class=\"n\">1</td>"));
    assert!(!shared.contains("198.51.100.9"));
    // The axis: 0 to 251 ms with a 1/40 margin: a 50 ms step, labelled with the date once.
    let ticks = html.matches("<text class=\"tick\"").count();
    assert_eq!(ticks, 6);
    assert!(html.contains(">22:13:20.000</text>") && html.contains(">22:13:20.250</text>"));
    assert_eq!(html.matches(">2023-11-14</text>").count(), 1);
}

// ---- headless Chromium ------------------------------------------------------------

/// Render `page` in headless Chromium: the DOM it built, and the URLs the page itself
/// asked the network for (read from Chromium's net log: requests whose network isolation
/// key is the page's file:// site; the browser's own background requests have another).
fn chromium(dir: &Scratch, page: &Path, tag: &str) -> (String, Vec<String>) {
    let netlog = dir.path(&format!("{tag}.netlog.json"));
    let profile = dir.path(&format!("{tag}.profile"));
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs (apt-get install chromium)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log: Value = serde_json::from_slice(&std::fs::read(&netlog).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    let urls = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.contains("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .filter(|u| !u.starts_with("file://"))
        .collect();
    (String::from_utf8(out.stdout).unwrap(), urls)
}

/// The pages render in Chromium with their content, and fetch nothing. The checks are
/// first shown able to fail: a page with an external image is seen fetching it, and the
/// page's own policy stops the same image.
#[test]
#[ignore = "needs chromium"]
fn pages_render_in_chromium_without_network_requests() {
    let dir = Scratch::new("chromium");
    let probe = "<img src=\"http://fetch-probe.invalid/x.png\">";
    // The control: without the policy, the probe image is requested.
    let control = dir.path("control.html");
    std::fs::write(
        &control,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>{probe}</body></html>"
        ),
    )
    .unwrap();
    let (_, urls) = chromium(&dir, &control, "control");
    assert_eq!(urls, ["http://fetch-probe.invalid/x.png"]);

    let (front, back) = (sample("front.pcap"), sample("back.pcap"));
    let (html, _) = page_in(
        &dir,
        "sample.html",
        &["--client", CLIENT, "--front", &front, "--back", &back],
    );
    let (dom, urls) = chromium(&dir, &dir.path("sample.html"), "sample");
    assert_eq!(urls, Vec::<String>::new());
    assert!(dom.contains("<h1>Client 62.5.161.246</h1>"));
    for want in [
        "/search?rid=a83ba63aa1a7562d",
        "/search?rid=4aeedf72eecb1326",
        "/search?rid=de5867f41ca22712",
        "Apple macOS 12+ or iOS/iPadOS 15+",
        ">00:00:00.010</text>",
        ">00:00:00.050</text>",
        ">2026-01-01</text>",
    ] {
        assert!(dom.contains(want), "{want}");
    }
    // The SVG was parsed as SVG (its circles are in the DOM).
    assert_eq!(dom.matches("<circle class=\"request\"").count(), 3);

    // The same page with an injected image (as if escaping had failed): its policy
    // stops the request.
    let injected = dir.path("injected.html");
    std::fs::write(
        &injected,
        html.replacen("<body>", &format!("<body>{probe}"), 1),
    )
    .unwrap();
    let (_, urls) = chromium(&dir, &injected, "injected");
    assert_eq!(urls, Vec::<String>::new());

    // The hostile page: its strings are text in the DOM, no element of theirs exists.
    let (hfront, hback) = hostile_pair(&dir);
    page_in(
        &dir,
        "hostile.html",
        &[
            "--client",
            "198.51.100.7",
            "--front",
            &hfront,
            "--back",
            &hback,
            "--clock-offset",
            "0s",
        ],
    );
    let (dom, urls) = chromium(&dir, &dir.path("hostile.html"), "hostile");
    assert_eq!(urls, Vec::<String>::new());
    assert!(!dom.contains("<script") && !dom.contains("<img"), "{dom}");
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(dom.contains("&lt;/style&gt;&lt;script&gt;alert(3)"));
}

/// The identity settings file applies to `report` as to the other request commands.
#[test]
fn identity_settings_file_applies() {
    let dir = Scratch::new("config");
    let conf = dir.path("case.conf");
    // Only X-Real-IP names the client: of the sample client's three requests, only the
    // one whose client it names is the client's (the others name no client then).
    std::fs::write(&conf, "--identity-header=X-Real-IP\n").unwrap();
    let out = dir.path("page.html");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .env("PROXYTRACE_CONFIG_PATH", &conf)
        .args([
            "report",
            "--client",
            CLIENT,
            "--back",
            &sample("back.pcap"),
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(
        err.contains("identity settings from PROXYTRACE_CONFIG_PATH="),
        "{err}"
    );
    let html = std::fs::read_to_string(&out).unwrap();
    let rows = table_rows(&html, "requests");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][2], "x_real_ip");
}

/// What the run lost is on the page, as the summary on standard error counts it: a
/// capture cut inside its last record.
#[test]
fn losses_of_the_run_are_on_the_page() {
    let dir = Scratch::new("losses");
    let cut = dir.path("cut.pcap");
    let bytes = std::fs::read(sample("back.pcap")).unwrap();
    std::fs::write(&cut, &bytes[..100_000]).unwrap();
    let (html, err) = page_in(
        &dir,
        "page.html",
        &["--client", CLIENT, "--back", cut.to_str().unwrap()],
    );
    assert!(err.contains("  skipped truncated_record: 1\n"), "{err}");
    assert!(html.contains("<li>skipped truncated_record: 1</li>"));
    // A whole capture loses nothing.
    let (html, _) = page_in(
        &dir,
        "whole.html",
        &["--client", CLIENT, "--back", &sample("back.pcap")],
    );
    assert!(!html.contains("Lost or capped"));
}
