//! `proxytrace generate man|bash|zsh|fish|powershell` and `--version`. The man pages are
//! rendered by `man -l` with groff's warnings on, the completion scripts checked by their
//! shells' syntax check (`bash -n`, `zsh -n`, `fish -n`); the tests that need a tool this
//! machine may lack are ignored by default (CI runs them when the tool is installed).

use crate::util::run;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The commands every man page set has (commands added later are not required here).
const COMMANDS: &[&str] = &[
    "info",
    "requests",
    "flows",
    "connections",
    "syns",
    "join",
    "proxies",
    "report",
    "help",
    "carve",
    "generate",
];

/// A fresh directory under the temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p =
            std::env::temp_dir().join(format!("proxytrace-generate-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `generate WHAT` to standard output, status 0 and nothing on stderr.
fn generated(what: &str) -> String {
    let (status, out, err) = run(&["generate", what]);
    assert_eq!(status, 0, "{err}");
    assert_eq!(err, "");
    out
}

/// `generate WHAT` into a file of its own, for a tool to read.
fn generated_file(what: &str, dir: &TempDir, name: &str) -> PathBuf {
    std::fs::create_dir_all(&dir.0).unwrap();
    let p = dir.0.join(name);
    std::fs::write(&p, generated(what)).unwrap();
    p
}

/// Run `tool args` and require success with nothing on stderr.
fn check_with(tool: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(tool)
        .args(args)
        .arg(file)
        .env("MANWIDTH", "80")
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.is_empty(),
        "{tool} {args:?}: {err}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_man_page_lists_every_command() {
    let page = generated("man");
    assert!(page.contains(".TH proxytrace 1"), "{page}");
    for c in COMMANDS {
        assert!(
            page.contains(&format!("proxytrace\\-{c}(1)")),
            "{c}: {page}"
        );
    }
}

#[test]
fn man_pages_into_a_directory_one_per_command() {
    let version = env!("CARGO_PKG_VERSION");
    let dir = TempDir::new("man");
    let (status, _, err) = run(&["generate", "man", "-o", &dir.0.display().to_string()]);
    assert_eq!(status, 0, "{err}");
    assert!(dir.0.join("proxytrace.1").is_file());
    for c in COMMANDS {
        let page = std::fs::read_to_string(dir.0.join(format!("proxytrace-{c}.1"))).unwrap();
        assert!(
            page.contains(&format!(".TH proxytrace-{c} 1")),
            "{c}: {page}"
        );
        // Footed with the tool's version, not the command's name alone.
        assert!(
            page.contains(&format!("\"proxytrace {version} (")),
            "{c}: {page}"
        );
    }
    let requests = std::fs::read_to_string(dir.0.join("proxytrace-requests.1")).unwrap();
    assert!(requests.contains("\\-\\-identity\\-header"), "{requests}");
}

#[test]
#[ignore = "needs man (man-db)"]
fn the_man_pages_render_with_man() {
    let dir = TempDir::new("man-render");
    let page = generated_file("man", &dir, "proxytrace.1");
    let text = check_with("man", &["--warnings", "-l"], &page);
    for section in ["NAME", "SYNOPSIS", "SUBCOMMANDS", "VERSION"] {
        assert!(text.contains(section), "{section}: {text}");
    }
    assert!(text.contains("proxytrace-requests(1)"), "{text}");
    let (status, _, err) = run(&["generate", "man", "-o", &dir.0.display().to_string()]);
    assert_eq!(status, 0, "{err}");
    for c in COMMANDS {
        let text = check_with(
            "man",
            &["--warnings", "-l"],
            &dir.0.join(format!("proxytrace-{c}.1")),
        );
        assert!(text.contains("OPTIONS"), "{c}: {text}");
    }
}

#[test]
fn the_bash_completion_passes_bash_n_and_registers() {
    let dir = TempDir::new("bash");
    let script = generated_file("bash", &dir, "proxytrace.bash");
    check_with("bash", &["-n"], &script);
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; complete -p proxytrace; COMP_WORDS=(proxytrace generate ''); \
             COMP_CWORD=2; _proxytrace proxytrace '' generate; echo \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("-F _proxytrace proxytrace"), "{text}");
    for shell in ["man", "bash", "zsh", "fish", "powershell"] {
        assert!(text.contains(shell), "{shell}: {text}");
    }
}

#[test]
#[ignore = "needs zsh"]
fn the_zsh_completion_passes_zsh_n() {
    let dir = TempDir::new("zsh");
    let script = generated_file("zsh", &dir, "_proxytrace");
    check_with("zsh", &["-n"], &script);
}

#[test]
#[ignore = "needs fish"]
fn the_fish_completion_passes_fish_n() {
    let dir = TempDir::new("fish");
    let script = generated_file("fish", &dir, "proxytrace.fish");
    check_with("fish", &["-n"], &script);
    let out = Command::new("fish")
        .arg("-c")
        .arg(format!(
            "source {}; complete -C 'proxytrace req'",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("requests\t"));
}

#[test]
fn the_powershell_completion_registers_every_command() {
    // No PowerShell to check it with here: its shape and its commands.
    let script = generated("powershell");
    assert!(script.contains("Register-ArgumentCompleter -Native -CommandName 'proxytrace'"));
    for c in COMMANDS {
        assert!(script.contains(&format!("'proxytrace;{c}'")), "{c}");
    }
}

/// Completions into a directory: the file the shell looks for.
#[test]
fn completions_into_a_directory() {
    let dir = TempDir::new("dir");
    for (shell, file) in [
        ("bash", "proxytrace.bash"),
        ("zsh", "_proxytrace"),
        ("fish", "proxytrace.fish"),
    ] {
        let (status, _, err) = run(&["generate", shell, "-o", &dir.0.display().to_string()]);
        assert_eq!(status, 0, "{err}");
        assert!(err.contains(file), "{err}");
        assert!(dir.0.join(file).is_file(), "{shell}");
    }
}

/// A closed pipe (`proxytrace generate bash | head -1`) ends the run quietly, as for
/// every command (clap_complete itself would panic on the write error).
#[test]
fn a_closed_pipe_ends_generate_quietly() {
    for what in ["bash", "man"] {
        let mut fds = [0; 2];
        // SAFETY: an array of two descriptors for pipe to fill.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: pipe returned two descriptors owned by nobody else.
        let (read, write) = unsafe {
            use std::os::fd::{FromRawFd, OwnedFd};
            (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
        };
        drop(read);
        let out = Command::new(env!("CARGO_BIN_EXE_proxytrace"))
            .args(["generate", what])
            .stdout(Stdio::from(write))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{what}: {err}");
        assert_eq!(err, "", "{what}");
    }
}

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

/// `-V`: the version and the commit (git's short HEAD here; whether it says `-dirty`
/// depends on the tree when it was built, not now). `--version`: also the features, the
/// target and the profile.
#[test]
fn version_names_the_commit_and_the_features() {
    let (status, short, _) = run(&["-V"]);
    assert_eq!(status, 0);
    let version = env!("CARGO_PKG_VERSION");
    let commit = short
        .trim()
        .strip_prefix(&format!("proxytrace {version} ("))
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{short}"));
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(head) => assert_eq!(commit.trim_end_matches("-dirty"), head),
        None => assert_eq!(commit, "unknown"),
    }
    let (status, long, _) = run(&["--version"]);
    assert_eq!(status, 0);
    let lines: Vec<&str> = long.lines().collect();
    assert_eq!(lines[0], format!("proxytrace {version}"));
    assert_eq!(lines[1], format!("commit:   {commit}"));
    assert!(lines[2].starts_with("features: "), "{long}");
    assert!(lines[3].starts_with("target:   "), "{long}");
}
