use super::super::tests::{render, Row};
use super::super::Format;
use super::*;
use std::sync::Mutex;
use unicode_width::UnicodeWidthStr;

/// A raw escape sequence or bidi override left in a cell (a pcapng interface name, a
/// file name) must not reach the terminal; escaped text (`\x1b`) passes unchanged.
#[test]
fn table_cells_neutralise_control_and_format_characters() {
    let rows = vec![Row {
        a: 1,
        b: Some("eth0\x1b[2J\u{202e}x\\x1b".into()),
    }];
    assert_eq!(
        render(Format::Table, rows),
        "a  b\n1  eth0\\x1b[2J\\u{202e}x\\x1b\n"
    );
}

#[derive(Serialize, Clone)]
struct Req {
    time: String,
    client_ip: String,
    method: String,
    target: String,
    flags: String,
    spoof_suspect: bool,
}

fn req(i: usize, client: &str, target: &str) -> Req {
    Req {
        time: format!("2026-01-01T00:00:{:02}.000000Z", i % 60),
        client_ip: client.into(),
        method: "GET".into(),
        target: target.into(),
        flags: if i % 2 == 0 {
            String::new()
        } else {
            "gap".into()
        },
        spoof_suspect: i % 3 == 0,
    }
}

fn opts(width: Option<usize>) -> TableOptions {
    TableOptions {
        width,
        exact: vec!["time".into(), "client_ip".into()],
        ..TableOptions::default()
    }
}

fn table(rows: &[Req], opts: TableOptions, flush_each: bool) -> String {
    let mut out = Vec::new();
    {
        let mut t = TablePrinter::with_options(&mut out, None, opts);
        for r in rows {
            let _ = Sink::row(&mut t, r.clone()).unwrap();
            if flush_each {
                Printer::<Req>::flush(&mut t).unwrap();
            }
        }
        Printer::<Req>::finish(&mut t).unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w - s.width()))
}

/// One line from cells and widths, as the table lays it out: two spaces between columns,
/// the last cell not padded.
fn line(cells: &[&str], widths: &[usize]) -> String {
    let mut parts: Vec<String> = cells.iter().zip(widths).map(|(c, &w)| pad(c, w)).collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end().to_owned();
        if let Some(c) = cells.last() {
            *last = (*c).to_owned();
        }
    }
    parts.join("  ") + "\n"
}

fn two_rows() -> Vec<Req> {
    let long = format!("/search?q={}", "x".repeat(200));
    vec![req(0, "10.0.0.1", &long), req(1, "10.0.0.22", "/")]
}

/// At 74 columns. Natural widths (header or widest value): time 27, client_ip 9, method 6,
/// target 210, flags 5, spoof_suspect 13, plus 5 gaps of 2: 280. The free-text target
/// shrinks first, to its floor 10 (80 wide); then the exact column whose header is wider
/// than its values, spoof_suspect, shrinks towards its values (5) by the 6 columns
/// missing: 7. Times and addresses are whole; the target and a header are cut with `…`.
#[test]
fn lines_fit_the_width_text_first_then_headers() {
    let got = table(&two_rows(), opts(Some(74)), false);
    let w = [27, 9, 6, 10, 5, 7];
    let want = [
        line(
            &["time", "client_ip", "method", "target", "flags", "spoof_…"],
            &w,
        ),
        line(
            &[
                "2026-01-01T00:00:00.000000Z",
                "10.0.0.1",
                "GET",
                "/search?q…",
                "",
                "true",
            ],
            &w,
        ),
        line(
            &[
                "2026-01-01T00:00:01.000000Z",
                "10.0.0.22",
                "GET",
                "/",
                "gap",
                "false",
            ],
            &w,
        ),
    ]
    .concat();
    assert_eq!(got, want);
    assert!(got.lines().all(|l| l.width() <= 74), "{got}");
}

/// At 60 columns even the cut cells do not fit (72 wide; 65 without spoof_suspect): with
/// drop_to_fit, columns are left out from the right until they do (time, client_ip,
/// method and the target, which then gets the rest: 60 - 27 - 9 - 6 - 6 = 12), and the
/// note names them. Without it every column stays, each at its floor (the target at 10,
/// spoof_suspect at its values' 5): 72 columns, wider than asked.
#[test]
fn columns_are_left_out_from_the_right_only_when_allowed() {
    let notes = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = notes.clone();
    let o = TableOptions {
        drop_to_fit: true,
        note: Some(Arc::new(move |n: &str| {
            seen.lock().unwrap().push(n.to_owned())
        })),
        ..opts(Some(60))
    };
    let got = table(&two_rows(), o, false);
    let w = [27, 9, 6, 12];
    let want = [
        line(&["time", "client_ip", "method", "target"], &w),
        line(
            &[
                "2026-01-01T00:00:00.000000Z",
                "10.0.0.1",
                "GET",
                "/search?q=x…",
            ],
            &w,
        ),
        line(
            &["2026-01-01T00:00:01.000000Z", "10.0.0.22", "GET", "/"],
            &w,
        ),
    ]
    .concat();
    assert_eq!(got, want);
    assert_eq!(
        *notes.lock().unwrap(),
        ["table: flags, spoof_suspect left out to fit 60 columns (choose columns with -f/--columns)"]
    );
    let kept = table(&two_rows(), opts(Some(60)), false);
    let w = [27, 9, 6, 10, 5, 5];
    let header = ["time", "client_ip", "method", "target", "flags", "spoo…"];
    assert_eq!(kept.lines().next(), Some(line(&header, &w).trim_end()));
    assert_eq!(kept.lines().map(UnicodeWidthStr::width).max(), Some(72));
}

/// `drop_first` names what goes first: method (then, from the right, spoof_suspect: 64
/// wide without method, target at 10 and spoof_suspect at 5); the target gets the rest,
/// 60 - 27 - 9 - 5 - 6 = 13.
#[test]
fn columns_named_to_go_first_go_first() {
    let notes = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = notes.clone();
    let o = TableOptions {
        drop_to_fit: true,
        drop_first: vec!["method".into()],
        note: Some(Arc::new(move |n: &str| {
            seen.lock().unwrap().push(n.to_owned())
        })),
        ..opts(Some(60))
    };
    let got = table(&two_rows(), o, false);
    let w = [27, 9, 13, 5];
    let want = [
        line(&["time", "client_ip", "target", "flags"], &w),
        line(
            &[
                "2026-01-01T00:00:00.000000Z",
                "10.0.0.1",
                "/search?q=xx…",
                "",
            ],
            &w,
        ),
        line(
            &["2026-01-01T00:00:01.000000Z", "10.0.0.22", "/", "gap"],
            &w,
        ),
    ]
    .concat();
    assert_eq!(got, want);
    assert_eq!(
        *notes.lock().unwrap(),
        ["table: method, spoof_suspect left out to fit 60 columns (choose columns with -f/--columns)"]
    );
}

/// A live input flushes after every row: the first row sets the widths and shows at
/// once; a later IPv6 client, wider than its column, is not cut: the widths are worked
/// out again from every row so far (the long target too, with no width limit) and the
/// header written again above it.
#[test]
fn a_wider_exact_value_writes_the_header_again() {
    let rows = vec![
        req(1, "10.0.0.1", "/a"),
        req(2, "2001:db8::1234:5678:9abc", "/a-much-longer-target"),
    ];
    let got = table(&rows, opts(None), true);
    let w1 = [27, 9, 6, 6, 5, 13];
    let w2 = [27, 24, 6, 21, 5, 13];
    let header = [
        "time",
        "client_ip",
        "method",
        "target",
        "flags",
        "spoof_suspect",
    ];
    let want = [
        line(&header, &w1),
        line(
            &[
                "2026-01-01T00:00:01.000000Z",
                "10.0.0.1",
                "GET",
                "/a",
                "gap",
                "false",
            ],
            &w1,
        ),
        line(&header, &w2),
        line(
            &[
                "2026-01-01T00:00:02.000000Z",
                "2001:db8::1234:5678:9abc",
                "GET",
                "/a-much-longer-target",
                "",
                "false",
            ],
            &w2,
        ),
    ]
    .concat();
    assert_eq!(got, want);
}

/// Widths come from the first page (100 rows): later rows are written at once, cut to
/// them, and the printer holds no more than one page of rows meanwhile.
#[test]
fn later_pages_keep_the_first_pages_widths() {
    let mut out = Vec::new();
    let mut t = TablePrinter::with_options(&mut out, None, opts(None));
    for i in 0..PAGE_ROWS - 1 {
        let _ = Sink::row(&mut t, req(i, "10.0.0.1", "/a")).unwrap();
    }
    assert_eq!(t.page.len(), PAGE_ROWS - 1);
    assert!(t.layout.is_none());
    let _ = Sink::row(&mut t, req(0, "10.0.0.1", "/a")).unwrap();
    assert!(t.page.is_empty());
    let _ = Sink::row(&mut t, req(1, "10.0.0.1", "/the-101st-row")).unwrap();
    Printer::<Req>::finish(&mut t).unwrap();
    drop(t);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), PAGE_ROWS + 2);
    assert!(lines[PAGE_ROWS + 1].contains("  /the-…  gap"), "{text}");
}

/// Colour: the header bold, a spoof suspicion red (the client of its row too), flags
/// yellow, padding outside the codes; without colour not one escape byte.
#[test]
fn colour_only_when_asked() {
    let rows = vec![req(3, "10.0.0.1", "/")];
    let plain = table(&rows, opts(None), false);
    assert!(!plain.contains('\x1b'));
    let got = table(
        &rows,
        TableOptions {
            color: true,
            ..opts(None)
        },
        false,
    );
    let b = |s: &str| format!("\x1b[1m{s}\x1b[0m");
    let want = format!(
        "{}{}  {}  {}  {}  {}  {}\n\
         2026-01-01T00:00:03.000000Z  \x1b[31m10.0.0.1\x1b[0m   GET     /       \x1b[33mgap\x1b[0m    \x1b[31mtrue\x1b[0m\n",
        b("time"),
        " ".repeat(23),
        b("client_ip"),
        b("method"),
        b("target"),
        b("flags"),
        b("spoof_suspect"),
    );
    assert_eq!(got, want);
}

/// Wide characters count two columns: the 16-column target `日本語のテキスト` must lose 6
/// to fit 80 (natural 86), so it is cut to 10: four characters (8 columns), the marker
/// and one space of padding.
#[test]
fn wide_characters_count_two_columns() {
    let rows = vec![req(1, "10.0.0.1", "日本語のテキスト")];
    let got = table(&rows, opts(Some(80)), false);
    assert!(got.contains("  日本語の…   gap  "), "{got}");
    assert_eq!(
        got.lines().map(UnicodeWidthStr::width).max(),
        Some(80),
        "{got}"
    );
}
