//! The commit a build comes from, for `proxytrace --version`. Shared by build.rs and the
//! tests of crates/cli/src/version.rs (a build script cannot be tested on its own).

use std::path::{Path, PathBuf};
use std::process::Command;

/// What `--version` says about the source, and the files whose change should say it again.
pub struct Commit {
    /// `git rev-parse --short HEAD`, with `-dirty` when tracked files differ from it; the
    /// commit `cargo package` recorded (a crates.io download); or `unknown`.
    pub text: String,
    /// Files and directories whose change makes the build script run again.
    pub watch: Vec<PathBuf>,
}

/// Run git in `dir`; its standard output when it succeeded.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit of the package in `dir` (its manifest's directory).
pub fn describe(dir: &Path) -> Commit {
    // Only a checkout that tracks this package counts: a crates.io download unpacked
    // inside some other repository (a home directory kept in git) is not that commit.
    let tracked = git(dir, &["ls-files", "--error-unmatch", "Cargo.toml"]).is_some();
    if let Some(short) = git(dir, &["rev-parse", "--short", "HEAD"]).filter(|_| tracked) {
        let dirty = git(dir, &["status", "--porcelain", "--untracked-files=no"])
            .is_some_and(|s| !s.is_empty());
        let mut watch = Vec::new();
        let path = |name: &str| git(dir, &["rev-parse", "--git-path", name]);
        // HEAD moves on checkout, the branch's ref on commit, the index on add; the
        // sources (the workspace's crates) on edits, which may make it dirty.
        let branch = git(dir, &["symbolic-ref", "-q", "HEAD"]);
        for name in ["HEAD", "index", "packed-refs"]
            .into_iter()
            .map(str::to_string)
            .chain(branch)
        {
            if let Some(p) = path(&name) {
                watch.push(dir.join(p));
            }
        }
        if let Some(top) = git(dir, &["rev-parse", "--show-toplevel"]) {
            watch.push(Path::new(&top).join("crates"));
        }
        let text = if dirty {
            format!("{short}-dirty")
        } else {
            short
        };
        return Commit { text, watch };
    }
    let info = dir.join(".cargo_vcs_info.json");
    let text = std::fs::read_to_string(&info)
        .ok()
        .and_then(|json| from_vcs_info(&json))
        .unwrap_or_else(|| "unknown".to_string());
    Commit {
        text,
        watch: vec![info],
    }
}

/// The commit in `cargo package`'s `.cargo_vcs_info.json`
/// (`{"git": {"sha1": "...", "dirty": true}, "path_in_vcs": "..."}`), shortened as git
/// does by default (7 digits).
pub fn from_vcs_info(json: &str) -> Option<String> {
    let at = json.find("\"sha1\"")? + "\"sha1\"".len();
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start();
    let sha: String = rest
        .strip_prefix('"')?
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    if sha.len() < 7 {
        return None;
    }
    let dirty = json.contains("\"dirty\": true") || json.contains("\"dirty\":true");
    Some(format!(
        "{}{}",
        &sha[..7],
        if dirty { "-dirty" } else { "" }
    ))
}
