//! The first pass of `requests`, `flows` and `join`: learn which identity sources each
//! proxy writes (identity/profile.rs) before any row is built.
//!
//! Files that can be read twice are read whole a first time through the same reassembly
//! the rows use, so a profile rests on every request of the capture and on the same heads
//! the rows come from (header-like text inside a body never counts). That read keeps its
//! heads (up to [`MAX_LOG_BYTES`](super::MAX_LOG_BYTES), `replay.rs`), and the row pass
//! builds the rows from them without reading the captures again; beyond that bound the
//! captures are read twice. Standard
//! input and FIFOs cannot be read twice: the row pass then holds its first heads (a
//! bounded warm-up: [`WARM_UP_HEADS`](super::WARM_UP_HEADS),
//! [`WARM_UP_BYTES`](super::WARM_UP_BYTES), [`WARM_UP_NS`](super::WARM_UP_NS)), decides
//! from them, and builds their rows afterwards.

use super::{RequestRow, RequestStage, RequestsConfig};
use crate::engine::{Engine, Phase};
use crate::identity::ProfileTable;
use crate::pipeline::{self, Inputs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the profiles of a run were obtained, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileLearning {
    /// The user named the sources (`--identity-header`): nothing learned.
    Configured,
    /// Learned from a whole first read of the inputs.
    FirstPass {
        /// Proxy/backend pairs seen.
        pairs: usize,
        /// ... of which have a profile.
        with_profile: usize,
        /// Pairs beyond the table's cap (their rows use the default order).
        pairs_over_cap: u64,
        /// Time the first read took.
        elapsed: Duration,
        /// The row pass replays the first read's heads (else it reads the captures again:
        /// their heads outgrew [`MAX_LOG_BYTES`](super::MAX_LOG_BYTES), or a file failed).
        replayed: bool,
    },
    /// An input can be read only once: learned from the first heads of the row pass.
    WarmUp,
}

impl ProfileLearning {
    /// One line for the run report.
    pub fn note(&self) -> String {
        match self {
            ProfileLearning::Configured => {
                "identity: sources configured (--identity-header); no profile learned".into()
            }
            ProfileLearning::FirstPass {
                pairs,
                with_profile,
                pairs_over_cap,
                elapsed,
                replayed,
            } => {
                // The first read's time is not in the note: notes are compared across runs.
                let _ = elapsed;
                let how = if *replayed {
                    "learned by a first read of the back side, whose heads the rows are built from"
                } else {
                    "learned by a first read of the back side, read again for the rows"
                };
                let mut s = format!(
                    "identity profiles: {with_profile} of {pairs} proxy/backend pairs have one \
                     ({how})"
                );
                if *pairs_over_cap > 0 {
                    s.push_str(&format!(
                        "; {pairs_over_cap} requests of pairs over the table's cap use the default order"
                    ));
                }
                s
            }
            ProfileLearning::WarmUp => format!(
                "identity profiles: learned from the first {} heads / {} s of the stream, \
                 or those before it first paused (it cannot be read twice)",
                super::WARM_UP_HEADS,
                super::WARM_UP_NS / 1_000_000_000
            ),
        }
    }
}

/// `cfg` with the per-proxy profiles of `inputs` in place: learned by a first read when
/// every input can be read twice, left to the row pass's warm-up otherwise, not learned
/// when the user named the sources. Read errors of the first read are not reported here:
/// the row pass meets (and reports) the same files.
pub fn learn_profiles(
    engine: &Engine,
    inputs: &Inputs,
    cfg: &RequestsConfig,
) -> (RequestsConfig, ProfileLearning) {
    let mut out = cfg.clone();
    out.live = inputs.files().iter().any(|i| i.is_read_once());
    if !cfg.identity_sources.is_empty() {
        return (out, ProfileLearning::Configured);
    }
    if cfg.profiles.is_some() {
        let t = cfg.profiles.as_deref().map(table_note).unwrap_or((0, 0, 0));
        return (
            out,
            ProfileLearning::FirstPass {
                pairs: t.0,
                with_profile: t.1,
                pairs_over_cap: t.2,
                elapsed: Duration::ZERO,
                replayed: cfg.head_log.is_some(),
            },
        );
    }
    if out.live {
        out.warm_up = true;
        return (out, ProfileLearning::WarmUp);
    }
    let started = Instant::now();
    engine.phase(Phase::LearningProfiles, inputs.total_bytes());
    let mut stage = RequestStage::recording_learner(cfg);
    let mut none: Vec<RequestRow> = Vec::new();
    let complete = match pipeline::run(engine, inputs, &mut stage, &mut none) {
        Ok(report) => report.failed_files.is_empty(),
        Err(never) => match never {},
    };
    let (table, log) = stage.into_profiles_and_log();
    let (pairs, with_profile, pairs_over_cap) = table_note(&table);
    out.profiles = Some(Arc::new(table));
    // A file the first read could not read to its end: the row pass reads (and reports)
    // every file itself.
    out.head_log = log.filter(|_| complete).map(Arc::new);
    let replayed = out.head_log.is_some();
    (
        out,
        ProfileLearning::FirstPass {
            pairs,
            with_profile,
            pairs_over_cap,
            elapsed: started.elapsed(),
            replayed,
        },
    )
}

fn table_note(t: &ProfileTable) -> (usize, usize, u64) {
    let with = t
        .profiles()
        .iter()
        .filter(|(_, p)| p.chosen.is_some())
        .count();
    (t.len(), with, t.pairs_over_cap)
}
