//! The published row schema of every row command (docs/schema.md and
//! `docs/schema/<command>.schema.json` are rendered from it and tested against it).

use crate::commands::join::{ClientJoinRow, JoinRow};
use crate::commands::proxies::ProxyRow;
use crate::commands::requests::FlowRow;
use crate::commands::syns::ClientSummaryRow;
use crate::extract::connections::ConnectionRow;
use crate::extract::handshakes::SynRow;
use crate::extract::requests::RequestRow;
use crate::vocab::schema::{Columns, CommandSchema, JsonExtra};

const PROXY: JsonExtra = JsonExtra {
    name: "proxy",
    doc: "The parsed PROXY header (version, command, addresses, TLVs), when the connection began with one.",
};

/// Every row command's schema, in the order docs/schema.md lists them.
pub fn command_schemas() -> Vec<CommandSchema> {
    let s = |command, stem, about, columns, json_extra: &[JsonExtra]| CommandSchema {
        command,
        stem,
        about,
        columns,
        json_extra: json_extra.to_vec(),
    };
    vec![
        s("requests", "requests", "One back-side HTTP/1 request with the client it names.", RequestRow::columns(), &[PROXY]),
        s("flows", "flows", "One back-side conversation (5-tuple) of one client.", FlowRow::columns(), &[]),
        s("connections", "connections", "One back-side TCP connection.", ConnectionRow::columns(), &[PROXY]),
        s("syns", "syns", "One SYN or SYN+ACK, fingerprinted as p0f does.", SynRow::columns(), &[]),
        s("syns --summary", "syns-summary", "One client address: what its SYNs showed.", ClientSummaryRow::columns(), &[]),
        s("join", "join", "One back-side request joined to its front connection: the `requests` columns, the front connection, the joined SYN's `syns` columns prefixed `syn_` (empty without a SYN), the join's own.", JoinRow::columns(), &[]),
        s("join --summary", "join-summary", "One client address: what the join found.", ClientJoinRow::columns(), &[]),
        s("proxies", "proxies", "One proxy/backend pair: its identity sources and the one chosen.", ProxyRow::columns(), &[]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::schema::{render_json_schema, render_markdown};
    use std::path::PathBuf;

    /// The published files and what the code renders; with `UPDATE_SCHEMA=1` the files
    /// are rewritten instead.
    #[test]
    fn published_schemas_are_up_to_date() {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        let schemas = command_schemas();
        let mut files = vec![(docs.join("schema.md"), render_markdown(&schemas))];
        for s in &schemas {
            let path = docs.join("schema").join(format!("{}.schema.json", s.stem));
            files.push((path, render_json_schema(s)));
        }
        let update = std::env::var_os("UPDATE_SCHEMA").is_some();
        let mut stale = Vec::new();
        for (path, text) in files {
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "out of date (regenerate with UPDATE_SCHEMA=1 cargo test -p proxytrace --lib published_schemas): {stale:?}"
        );
    }

    #[test]
    fn every_column_name_is_unique_and_documented() {
        for s in command_schemas() {
            let mut names: Vec<&str> = s.columns.iter().map(|c| c.name.as_ref()).collect();
            names.extend(s.json_extra.iter().map(|x| x.name));
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "{}: a name twice", s.command);
            for c in &s.columns {
                assert!(!c.doc.is_empty(), "{} {}", s.command, c.name);
            }
        }
    }
}
