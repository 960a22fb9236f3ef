//! Request field filters (`--host`, `--method`, `--target`, `--user-agent`), applied to the
//! parsed head before a row is built, so `-c` and `-q` count what they keep.
//!
//! Every comparison is on the raw bytes of the head (header values are bytes, not UTF-8),
//! never on the escaped text of a row:
//! - `method`: the whole method, ASCII case-insensitive (`get` keeps `GET`);
//! - `host`: a substring of the first Host value, ASCII case-insensitive (host names are);
//! - `target`, `user_agent`: a byte-exact substring (paths and agents are case-sensitive).
//!
//! A pattern `re:REGEX` is a regular expression instead, searched anywhere in the value
//! (anchor it with `^`/`$`); each byte of the value is one character to it (Latin-1), so
//! `.` is one byte and `\xNN` the byte NN, whatever the bytes are. `(?i)` makes it
//! case-insensitive. A missing Host or User-Agent is the empty value: `re:^$` keeps the
//! requests without one, a substring never does.
//!
//! Several patterns for one field keep a request matching any of them; patterns for
//! different fields must all match.

use crate::http1::head::RequestHead;

/// The prefix that makes a pattern a regular expression.
pub const REGEX_PREFIX: &str = "re:";

/// One pattern for one field.
#[derive(Debug, Clone)]
pub enum FieldPattern {
    /// Bytes to find; already lowercased when the field compares case-insensitively.
    Bytes(Vec<u8>),
    /// A regular expression over the value's bytes read as Latin-1.
    Regex(regex_lite::Regex),
}

/// A pattern that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FieldPatternError {
    /// An empty pattern would keep every request (or none): refused.
    #[error("an empty pattern matches everything: give some text, or re:^$ for an empty value")]
    Empty,
    /// The regular expression does not compile.
    #[error("{pattern:?} is not a regular expression")]
    Regex {
        /// As given, without the prefix.
        pattern: String,
        /// The compiler's reason.
        #[source]
        source: regex_lite::Error,
    },
}

impl FieldPattern {
    /// Read `s`: `re:REGEX`, or text to find (lowercased when `fold_case`).
    pub fn parse(s: &str, fold_case: bool) -> Result<FieldPattern, FieldPatternError> {
        if let Some(re) = s.strip_prefix(REGEX_PREFIX) {
            if re.is_empty() {
                return Err(FieldPatternError::Empty);
            }
            let re = if fold_case {
                format!("(?i){re}")
            } else {
                re.to_owned()
            };
            return regex_lite::Regex::new(&re)
                .map(FieldPattern::Regex)
                .map_err(|source| FieldPatternError::Regex {
                    pattern: s[REGEX_PREFIX.len()..].to_owned(),
                    source,
                });
        }
        if s.is_empty() {
            return Err(FieldPatternError::Empty);
        }
        let b = s.as_bytes();
        Ok(FieldPattern::Bytes(if fold_case {
            b.to_ascii_lowercase()
        } else {
            b.to_vec()
        }))
    }

    fn matches(&self, value: &[u8], fold_case: bool, whole: bool) -> bool {
        match self {
            FieldPattern::Bytes(p) if whole => {
                if fold_case {
                    value.eq_ignore_ascii_case(p)
                } else {
                    value == p.as_slice()
                }
            }
            FieldPattern::Bytes(p) if fold_case => {
                value.len() >= p.len() && value.windows(p.len()).any(|w| w.eq_ignore_ascii_case(p))
            }
            FieldPattern::Bytes(p) => memchr::memmem::find(value, p).is_some(),
            FieldPattern::Regex(re) => {
                let text: String = value.iter().map(|&b| char::from(b)).collect();
                re.is_match(&text)
            }
        }
    }
}

/// The request field filters of a run; empty keeps every request.
#[derive(Debug, Clone, Default)]
pub struct FieldFilter {
    /// `--method`: the whole method, ASCII case-insensitive.
    pub methods: Vec<FieldPattern>,
    /// `--host`: in the first Host value, ASCII case-insensitive.
    pub hosts: Vec<FieldPattern>,
    /// `--target`: in the request target, byte-exact.
    pub targets: Vec<FieldPattern>,
    /// `--user-agent`: in the first User-Agent value, byte-exact.
    pub user_agents: Vec<FieldPattern>,
}

impl FieldFilter {
    /// Whether it keeps every request.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
            && self.hosts.is_empty()
            && self.targets.is_empty()
            && self.user_agents.is_empty()
    }

    /// Add a `--method` pattern.
    pub fn method(&mut self, s: &str) -> Result<(), FieldPatternError> {
        self.methods.push(FieldPattern::parse(s, true)?);
        Ok(())
    }

    /// Add a `--host` pattern.
    pub fn host(&mut self, s: &str) -> Result<(), FieldPatternError> {
        self.hosts.push(FieldPattern::parse(s, true)?);
        Ok(())
    }

    /// Add a `--target` pattern.
    pub fn target(&mut self, s: &str) -> Result<(), FieldPatternError> {
        self.targets.push(FieldPattern::parse(s, false)?);
        Ok(())
    }

    /// Add a `--user-agent` pattern.
    pub fn user_agent(&mut self, s: &str) -> Result<(), FieldPatternError> {
        self.user_agents.push(FieldPattern::parse(s, false)?);
        Ok(())
    }

    /// Whether the request `head` is kept.
    pub fn keeps(&self, head: &RequestHead<'_>) -> bool {
        let any = |pats: &[FieldPattern], v: &[u8], fold: bool, whole: bool| {
            pats.is_empty() || pats.iter().any(|p| p.matches(v, fold, whole))
        };
        any(&self.methods, head.method, true, true)
            && any(&self.hosts, head.host.unwrap_or_default(), true, false)
            && any(&self.targets, head.target, false, false)
            && any(
                &self.user_agents,
                head.user_agent.unwrap_or_default(),
                false,
                false,
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::head::parse_request_head;

    fn keeps(f: &FieldFilter, head: &[u8]) -> bool {
        f.keeps(&parse_request_head(head, &[]).unwrap())
    }

    const HEAD: &[u8] = b"GET /Admin/login.php?x=1 HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\nUser-Agent: curl/8.5.0 \xff\xfe\r\n\r\n";
    const NO_HOST: &[u8] = b"POST /upload HTTP/1.0\r\n\r\n";

    #[test]
    fn case_rules_per_field() {
        let mut f = FieldFilter::default();
        f.method("get").unwrap();
        assert!(keeps(&f, HEAD));
        assert!(!keeps(&f, NO_HOST));
        let mut f = FieldFilter::default();
        f.method("GE").unwrap();
        assert!(!keeps(&f, HEAD), "a method is compared whole");
        let mut f = FieldFilter::default();
        f.host("example.com").unwrap();
        assert!(keeps(&f, HEAD));
        assert!(!keeps(&f, NO_HOST), "no Host: a substring never matches");
        let mut f = FieldFilter::default();
        f.target("/admin").unwrap();
        assert!(!keeps(&f, HEAD), "targets are case-sensitive");
        f.target("/Admin").unwrap();
        assert!(keeps(&f, HEAD), "patterns of one field: any");
        let mut f = FieldFilter::default();
        f.user_agent("CURL").unwrap();
        assert!(!keeps(&f, HEAD));
        let mut f = FieldFilter::default();
        f.user_agent("curl/8").unwrap();
        assert!(keeps(&f, HEAD));
    }

    #[test]
    fn fields_must_all_match() {
        let mut f = FieldFilter::default();
        f.method("GET").unwrap();
        f.host("example.org").unwrap();
        assert!(!keeps(&f, HEAD));
        let mut f = FieldFilter::default();
        f.method("GET").unwrap();
        f.host("example.com").unwrap();
        f.target("login").unwrap();
        assert!(keeps(&f, HEAD));
    }

    #[test]
    fn regexes_see_bytes() {
        let mut f = FieldFilter::default();
        f.target(r"re:^/Admin/.*\.php\b").unwrap();
        assert!(keeps(&f, HEAD));
        let mut f = FieldFilter::default();
        f.target(r"re:(?i)^/admin/").unwrap();
        assert!(keeps(&f, HEAD));
        // Bytes that are not UTF-8 are matched byte by byte.
        let mut f = FieldFilter::default();
        f.user_agent(r"re: \xff\xfe$").unwrap();
        assert!(keeps(&f, HEAD));
        // Host regexes are case-insensitive like host substrings.
        let mut f = FieldFilter::default();
        f.host(r"re:^www\.example\.com(:\d+)?$").unwrap();
        assert!(keeps(&f, HEAD));
        // A missing Host is the empty value.
        let mut f = FieldFilter::default();
        f.host("re:^$").unwrap();
        assert!(keeps(&f, NO_HOST));
        assert!(!keeps(&f, HEAD));
    }

    #[test]
    fn refused_patterns() {
        let mut f = FieldFilter::default();
        assert!(matches!(f.host(""), Err(FieldPatternError::Empty)));
        assert!(matches!(f.target("re:"), Err(FieldPatternError::Empty)));
        assert!(matches!(
            f.target("re:(unclosed"),
            Err(FieldPatternError::Regex { .. })
        ));
        assert!(f.is_empty());
    }
}
