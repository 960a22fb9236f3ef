//! Client identities from a request head (and the PROXY protocol source address).
//!
//! In layers, each importing only those before it: [`chain`] (the address chain model, a
//! leaf), [`forwarded`] (the RFC 7239 parser, built on the chain model), [`source`] (the
//! vocabulary: identity sources, spoof reasons, anomalies), [`policy`] (which entry names
//! the client) and [`filter`] (the `--client` filter). Everything is re-exported here, so
//! `crate::identity::X` names every item.

pub mod chain;
pub mod filter;
pub mod forwarded;
pub mod policy;
pub mod profile;
pub mod ranges;
pub mod source;

pub use chain::{
    is_leading_zero_ipv4, leading_zero_ipv4, parse_chain, parse_entry, Chain, ChainEntry,
    EntryForm, EntryKind, MAX_CHAIN_ENTRIES,
};
pub use filter::ClientFilter;
pub use forwarded::{parse_forwarded, Forwarded, ForwardedAnomalies, ForwardedElement};
pub use policy::{
    extract_identity, extract_identity_with, is_public, is_trusted, select_client, source_of,
    ChoicePolicy, Identity, IdentityBasis, SourceChain,
};
pub use profile::{
    PairTally, Profile, ProfileReason, ProfileTable, ProxyPair, SourceTally, MIN_PROFILE_REQUESTS,
    WRITTEN_PERCENT,
};
pub use ranges::{special_range, SpecialRange};
pub use source::{
    AnomalyKind, IdentityAnomaly, IdentitySource, P0fField, P0fKey, SpoofKind, SpoofReason,
};

#[cfg(test)]
mod tests;
