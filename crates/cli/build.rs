//! Build information for `proxytrace --version`: the commit (build/commit.rs), the target
//! and the profile.

#[path = "build/commit.rs"]
mod commit;

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let found = commit::describe(&dir);
    println!("cargo:rustc-env=PROXYTRACE_COMMIT={}", found.text);
    for p in &found.watch {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/commit.rs");
    for (name, var) in [
        ("PROXYTRACE_TARGET", "TARGET"),
        ("PROXYTRACE_PROFILE", "PROFILE"),
    ] {
        let value = std::env::var(var).unwrap_or_else(|_| "unknown".into());
        println!("cargo:rustc-env={name}={value}");
    }
}
