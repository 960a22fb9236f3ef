//! `proxytrace -V` (the version and the commit) and `--version` (also the features built
//! in, the target and the profile). build.rs finds the commit (build/commit.rs).

use std::sync::OnceLock;

/// The cargo features of this build that change what the binary can do. Adding one is a
/// line here, e.g. `("parquet", cfg!(feature = "parquet")),` (the feature must exist in
/// crates/cli/Cargo.toml, or the check of cfg names refuses it).
const FEATURES: &[(&str, bool)] = &[("parquet", cfg!(feature = "parquet"))];

/// The commit the binary was built from: `git rev-parse --short HEAD`, `-dirty` when
/// tracked files differed from it, the packaged commit of a crates.io download, or
/// `unknown`.
pub const COMMIT: &str = env!("PROXYTRACE_COMMIT");

/// `-V`: `0.1.0 (1a2b3c4)`.
pub fn short() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| format!("{} ({COMMIT})", env!("CARGO_PKG_VERSION")))
}

/// `--version`: the version, then a line each for the commit, the features, the target
/// and the profile.
pub fn long() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| {
        let on: Vec<&str> = FEATURES
            .iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect();
        format!(
            "{}\ncommit:   {COMMIT}\nfeatures: {}\ntarget:   {} ({})",
            env!("CARGO_PKG_VERSION"),
            if on.is_empty() {
                "none".to_string()
            } else {
                on.join(", ")
            },
            env!("PROXYTRACE_TARGET"),
            env!("PROXYTRACE_PROFILE"),
        )
    })
}

#[cfg(test)]
#[path = "../build/commit.rs"]
mod commit;

#[cfg(test)]
mod tests {
    use super::commit::{describe, from_vcs_info};
    use std::path::Path;
    use std::process::Command;

    fn git(args: &[&str]) -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// In a git checkout: the short HEAD, `-dirty` exactly when tracked files differ
    /// (checked here by git itself, independently of the function's own calls).
    #[test]
    fn a_checkout_gives_its_head() {
        let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
            return; // Not built from a checkout (a source tarball): nothing to compare.
        };
        let dirty = !git(&["status", "--porcelain", "--untracked-files=no"])
            .unwrap_or_default()
            .is_empty();
        let found = describe(Path::new(env!("CARGO_MANIFEST_DIR")));
        let expect = if dirty { format!("{head}-dirty") } else { head };
        assert_eq!(found.text, expect);
        assert!(
            found.watch.iter().any(|p| p.ends_with("HEAD")),
            "{:?}",
            found.watch
        );
    }

    /// Outside a checkout (a crates.io download): the commit `cargo package` recorded,
    /// else `unknown`.
    #[test]
    fn outside_a_checkout_the_packaged_commit_or_unknown() {
        let dir = std::env::temp_dir().join(format!("proxytrace-version-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(describe(&dir).text, "unknown");
        std::fs::write(
            dir.join(".cargo_vcs_info.json"),
            "{\n  \"git\": {\n    \"sha1\": \"4b75bd3c0ffee00000000000000000000000000a\"\n  },\n  \"path_in_vcs\": \"crates/cli\"\n}",
        )
        .unwrap();
        assert_eq!(describe(&dir).text, "4b75bd3");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            from_vcs_info(r#"{"git":{"sha1":"0123456789abcdef","dirty":true}}"#).as_deref(),
            Some("0123456-dirty")
        );
        assert_eq!(from_vcs_info(r#"{"git":{"sha1":"12"}}"#), None);
    }
}
