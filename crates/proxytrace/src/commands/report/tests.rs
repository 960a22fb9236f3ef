//! Tests of the page's parts: HTML escaping, the time axis' steps and labels, the tallies'
//! cap. The page as a whole is tested over captures in the binary's integration tests.

use super::axis::{tick_step, ticks};
use super::html::Esc;
use super::view::Tally;
use super::MAX_TALLY_VALUES;

const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
/// 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000 * S;

#[test]
fn escaping_covers_markup_quotes_and_hidden_characters() {
    let e = |s: &str| Esc(s).to_string();
    assert_eq!(e("plain /search?q=1"), "plain /search?q=1");
    assert_eq!(
        e("<script>alert('x')</script>"),
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    );
    assert_eq!(
        e("\"><img src=x onerror=a()>"),
        "&quot;&gt;&lt;img src=x onerror=a()&gt;"
    );
    assert_eq!(e("a&amp;b"), "a&amp;amp;b");
    // Controls and bidirectional overrides as the rows write them, never raw.
    assert_eq!(e("a\u{0}b\u{202e}c"), "a\\x00b\\u{202e}c");
    assert_eq!(e("é€"), "é€");
}

#[test]
fn tick_steps_are_round_and_few() {
    assert_eq!(tick_step(47 * MS), 10 * MS);
    assert_eq!(tick_step(263 * MS), 50 * MS);
    assert_eq!(tick_step(7 * S), S);
    assert_eq!(tick_step(8 * S), 2 * S);
    assert_eq!(tick_step(3 * 3600 * S), 30 * 60 * S);
    assert_eq!(tick_step(1), 1);
    // Beyond the longest round step: the span divided evenly.
    let huge = 100 * 365 * 86_400 * S;
    assert_eq!(tick_step(huge), huge / 8);
}

#[test]
fn tick_labels_show_the_step_and_the_date_once_a_day() {
    let t = ticks(T0 - 6 * MS, T0 + 257 * MS, 50 * MS);
    let labels: Vec<&str> = t.iter().map(|(_, l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "22:13:20.000",
            "22:13:20.050",
            "22:13:20.100",
            "22:13:20.150",
            "22:13:20.200",
            "22:13:20.250"
        ]
    );
    assert_eq!(t[0].0, T0);
    assert_eq!(t[0].2.as_deref(), Some("2023-11-14"));
    assert!(t[1..].iter().all(|(_, _, d)| d.is_none()));
    // Across midnight: the date again on the first tick of the new day.
    let midnight = 1_700_006_400 * S; // 2023-11-15T00:00:00Z
    let t = ticks(midnight - 2 * 3600 * S, midnight + 3600 * S, 3600 * S);
    let shown: Vec<(&str, Option<&str>)> = t
        .iter()
        .map(|(_, l, d)| (l.as_str(), d.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [
            ("22:00:00", Some("2023-11-14")),
            ("23:00:00", None),
            ("00:00:00", Some("2023-11-15")),
            ("01:00:00", None)
        ]
    );
    // Day steps show the date alone; nanosecond steps all nine digits.
    let t = ticks(T0, T0 + 2 * 86_400 * S, 86_400 * S);
    assert_eq!(t[0].1, "2023-11-15");
    assert!(t.iter().all(|(_, _, d)| d.is_none()));
    let t = ticks(T0 + 1, T0 + 3, 1);
    assert_eq!(t[0].1, "22:13:20.000000001");
    // Before 1970 and at the ends of the range: no panic, still bounded.
    assert!(!ticks(-5 * S, -S, S).is_empty());
    assert!(ticks(i64::MAX - 10, i64::MAX, 1).len() <= 11);
    assert!(ticks(i64::MIN, i64::MIN + 10, 1).len() <= 11);
}

#[test]
fn tallies_keep_a_bounded_number_of_values() {
    let mut t = Tally::default();
    for i in 0..MAX_TALLY_VALUES + 10 {
        t.add(&format!("ua {i}"));
    }
    t.add("ua 0");
    t.add("ua 99999");
    assert_eq!(t.counts.len(), MAX_TALLY_VALUES);
    assert_eq!(t.other, 11);
    assert_eq!(t.by_count()[0], ("ua 0", 2));
}
