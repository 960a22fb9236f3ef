//! Named counters: how a layer's statistics list themselves for the run report, each
//! with its kind, next to the statistics type (so a renamed field cannot silently leave
//! the summary).

use serde::Serialize;

crate::named_enum! {
    /// What a counter means to the reader of a summary.
    pub enum CounterKind {
        /// How much was seen or produced (heads, flows, bytes): not news.
        Volume => "volume",
        /// Something was lost or could not be read (gaps, unparsed heads, conflicts).
        Loss => "loss",
        /// A documented limit was reached and the excess dropped or released early.
        Cap => "cap",
    }
}

/// One named counter of a section of the run report (`pipeline::Section`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counter {
    /// Stable snake_case name.
    pub name: &'static str,
    /// Its value over the run.
    pub value: u64,
    /// Volume, loss or cap.
    pub kind: CounterKind,
}

impl Counter {
    /// A counter of `kind`.
    pub fn new(name: &'static str, value: u64, kind: CounterKind) -> Counter {
        Counter { name, value, kind }
    }
}

/// Statistics that can list themselves as counters. Implemented next to the statistics
/// type, so adding or renaming a field and its counter happen in one place (and each
/// implementation's test checks that every serialized field is listed).
pub trait Counters {
    /// Every counter, in a fixed order.
    fn counters(&self) -> Vec<Counter>;
}

/// Test helper: every field `stats` serializes to is one of its counters, so a counter
/// renamed or added without its [`Counters`] entry fails a test instead of vanishing from
/// the summary.
#[cfg(test)]
pub(crate) fn assert_counters_cover<T: Serialize + Counters>(stats: &T) {
    let value = serde_json::to_value(stats).expect("stats serialize");
    let fields = value.as_object().expect("stats serialize as a struct");
    let listed: Vec<&str> = stats.counters().iter().map(|c| c.name).collect();
    for name in fields.keys() {
        assert!(
            listed.contains(&name.as_str()),
            "{}: field {name} is not listed as a counter",
            std::any::type_name::<T>()
        );
    }
    assert_eq!(listed.len(), fields.len(), "{listed:?}");
}
