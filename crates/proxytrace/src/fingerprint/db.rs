//! p0f.fp databases: a parser with typed, line-numbered errors, and the SYN matcher.
//!
//! The matcher follows p0f 3.09b's `tcp_find_match`: option layout must be identical;
//! a specific (`s`) signature that matches exactly wins at once, otherwise the first
//! exact generic (`g`) one, otherwise the first fuzzy one. Fuzzy means: quirks differ only
//! by `df`/`id+` disappearing or `id-`/`ecn` appearing, or the TTL is above the
//! signature's initial TTL or more than 35 below it. Like p0f, the IP version is not
//! compared as such (a `*` signature only drops the other version's quirks first).

use super::mtu::MtuTable;
use super::options::{
    OptionLayout, KIND_EOL, KIND_MSS, KIND_NOP, KIND_SACK, KIND_SACK_PERMITTED, KIND_TIMESTAMP,
    KIND_WS, MAX_OPTIONS,
};
use super::tcp::{guess_distance, Quirks, SynKind, SynObservation, WindowForm, MAX_DIST};
use std::path::Path;
use thiserror::Error;

/// Why a database did not load. Every variant names its 1-based line.
#[derive(Debug, Error)]
#[allow(missing_docs)] // The variants' fields are named by their error messages.
pub enum DbError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// A line that is neither `key = value` nor `[section]`.
    #[error("line {line}: expected `key = value` or `[section]`")]
    Syntax { line: usize },
    /// A section p0f does not define.
    #[error("line {line}: unknown section [{name}]")]
    UnknownSection { line: usize, name: String },
    /// A key in a section that does not take it.
    #[error("line {line}: `{key}` outside a section that accepts it")]
    Misplaced { line: usize, key: String },
    /// A signature before the label it belongs to.
    #[error("line {line}: `sig` or `sys` before any `label`")]
    NoLabel { line: usize },
    /// A label that is not `type:class:name:flavor`.
    #[error("line {line}: malformed label: {why}")]
    BadLabel { line: usize, why: &'static str },
    /// A signature field that does not parse.
    #[error("line {line}: malformed signature field {field}: {why}")]
    BadSignature {
        line: usize,
        field: &'static str,
        why: String,
    },
}

/// Window size in a database signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpec {
    /// `*`
    Any,
    /// a literal value
    Value(u16),
    /// `%N`: any multiple of N
    Modulo(u16),
    /// `mss*N`
    Mss(u16),
    /// `mtu*N`
    Mtu(u16),
}

/// One `sig = ...` line of a `[tcp:*]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSignature {
    /// 1-based line in the database text.
    pub line: usize,
    /// Index into [`Database::labels`].
    pub label: usize,
    /// 4, 6 or None for `*`.
    pub version: Option<u8>,
    /// Initial TTL (`64`, or `64+N` folded into one number).
    pub ittl: u8,
    /// `64-`: a randomised TTL no higher than `ittl`.
    pub random_ttl: bool,
    /// Length of the IPv4 options or IPv6 extension headers (`olen`).
    pub ip_options_len: u8,
    /// None for `*`.
    pub mss: Option<u16>,
    /// Window size (`wsize`).
    pub window: WindowSpec,
    /// None for `*`.
    pub scale: Option<u8>,
    /// TCP option layout (`olayout`).
    pub options: OptionLayout,
    /// Quirks (`quirks`).
    pub quirks: Quirks,
    /// None for `*`; Some(true) for `+`.
    pub payload: Option<bool>,
}

/// A `label = ...` line with its `sys = ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The label text after `label =`.
    pub text: String,
    /// `g` (generic, used only when nothing specific matches) rather than `s`.
    pub generic: bool,
    /// `win`, `unix`, ...; None for `!` (a userland tool, not an OS).
    pub class: Option<String>,
    /// OS or tool name (`Linux`).
    pub name: String,
    /// Version range (`3.11 and newer`).
    pub flavor: String,
    /// `sys = ...`: the OSes a userland label runs on.
    pub sys: Vec<String>,
    /// 1-based line in the database text.
    pub line: usize,
}

crate::named_enum! {
    /// How a match was reached.
    pub enum MatchQuality {
        /// Every field of the signature matched.
        Exact => "exact",
        /// A fuzzy match (p0f's relaxed comparison).
        Fuzzy => "fuzzy",
        /// Matched a generic (`g:`) signature.
        Generic => "generic",
    }
}

/// A database match for one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'a> {
    /// The whole label, `type:class:name:flavor`.
    pub label: &'a str,
    /// None for userland tools (`!`).
    pub class: Option<&'a str>,
    /// OS or tool name.
    pub name: &'a str,
    /// Version range.
    pub flavor: &'a str,
    /// Exact, fuzzy or generic.
    pub quality: MatchQuality,
    /// The signature is generic (`g`); p0f prints `generic` (with `fuzzy` for a fuzzy one).
    pub generic: bool,
    /// Hops: signature initial TTL - observed TTL (p0f's guess when that makes no sense).
    pub distance: u8,
    /// The signature allows a random TTL (`64-`): `distance` is an upper bound.
    pub random_ttl: bool,
    /// Line of the matching `sig`.
    pub line: usize,
}

impl Match<'_> {
    /// The name p0f prints (`os=` / `app=`): name, a space and the flavor if any.
    pub fn p0f_name(&self) -> String {
        if self.flavor.is_empty() {
            self.name.to_string()
        } else {
            format!("{} {}", self.name, self.flavor)
        }
    }
}

/// A parsed p0f.fp.
#[derive(Debug, Clone, Default)]
pub struct Database {
    /// `classes = ...`
    pub classes: Vec<String>,
    /// Every label, in file order; signatures refer to them by index.
    pub labels: Vec<Label>,
    /// `[tcp:request]` signatures in file order (matched against SYNs).
    pub requests: Vec<TcpSignature>,
    /// `[tcp:response]` signatures in file order (matched against SYN+ACKs).
    pub responses: Vec<TcpSignature>,
    /// `[mtu]`
    pub mtu: MtuTable,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Mtu,
    TcpRequest,
    TcpResponse,
    /// HTTP sections are read over, not interpreted.
    Http,
}

impl Database {
    /// Read and parse a p0f.fp file.
    pub fn load(path: &Path) -> Result<Database, DbError> {
        let text = std::fs::read_to_string(path).map_err(|source| DbError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Database::parse(&text)
    }

    /// Parse p0f.fp text.
    pub fn parse(text: &str) -> Result<Database, DbError> {
        let mut db = Database::default();
        let mut section = Section::None;
        let mut mtu_label: Option<String> = None;
        // Label of the current [tcp:*] block, if any.
        let mut cur_label: Option<usize> = None;
        for (idx, raw) in text.lines().enumerate() {
            let line = idx + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with(';') {
                continue;
            }
            if let Some(rest) = l.strip_prefix('[') {
                let name = rest.strip_suffix(']').ok_or(DbError::Syntax { line })?;
                section = match name {
                    "mtu" => Section::Mtu,
                    "tcp:request" => Section::TcpRequest,
                    "tcp:response" => Section::TcpResponse,
                    "http:request" | "http:response" => Section::Http,
                    _ => {
                        return Err(DbError::UnknownSection {
                            line,
                            name: name.to_string(),
                        })
                    }
                };
                cur_label = None;
                mtu_label = None;
                continue;
            }
            let (key, value) = l.split_once('=').ok_or(DbError::Syntax { line })?;
            let (key, value) = (key.trim(), value.trim());
            let misplaced = || DbError::Misplaced {
                line,
                key: key.to_string(),
            };
            match (section, key) {
                (_, "classes") => {
                    db.classes = value.split(',').map(|c| c.trim().to_string()).collect();
                }
                (Section::Http, _) => {}
                (Section::Mtu, "label") => mtu_label = Some(value.to_string()),
                (Section::Mtu, "sig") => {
                    let name = mtu_label.as_deref().ok_or(DbError::NoLabel { line })?;
                    let mtu = value.parse::<u32>().map_err(|_| DbError::BadSignature {
                        line,
                        field: "mtu",
                        why: format!("`{value}` is not a number"),
                    })?;
                    db.mtu.push(mtu, name);
                }
                (Section::TcpRequest | Section::TcpResponse, "label") => {
                    db.labels.push(parse_label(value, line, &db.classes)?);
                    cur_label = Some(db.labels.len() - 1);
                }
                (Section::TcpRequest | Section::TcpResponse, "sys") => {
                    let i = cur_label.ok_or(DbError::NoLabel { line })?;
                    if let Some(lab) = db.labels.get_mut(i) {
                        lab.sys = value.split(',').map(|s| s.trim().to_string()).collect();
                    }
                }
                (Section::TcpRequest | Section::TcpResponse, "sig") => {
                    let label = cur_label.ok_or(DbError::NoLabel { line })?;
                    let sig = parse_tcp_sig(value, line, label)?;
                    if section == Section::TcpRequest {
                        db.requests.push(sig);
                    } else {
                        db.responses.push(sig);
                    }
                }
                _ => return Err(misplaced()),
            }
        }
        Ok(db)
    }

    /// Link name for an MTU from this database's `[mtu]` section, or p0f's defaults if
    /// the database has none.
    pub fn mtu_name(&self, mtu: u32) -> Option<&str> {
        if self.mtu.is_empty() {
            // Defaults are a static table in spirit; look them up without keeping a copy.
            return default_mtu_name(mtu);
        }
        self.mtu.name(mtu)
    }

    /// Match a SYN against `[tcp:request]` or a SYN+ACK against `[tcp:response]`.
    pub fn match_syn(&self, obs: &SynObservation) -> Option<Match<'_>> {
        let sigs = match obs.kind {
            SynKind::Syn => &self.requests,
            SynKind::SynAck => &self.responses,
        };
        let win_form = obs.window_form();
        let mss = obs.mss_or_zero();
        let scale = obs.window_scale_or_zero();
        let pclass = obs.has_payload();
        let mut fuzzy_match: Option<&TcpSignature> = None;
        let mut generic_match: Option<&TcpSignature> = None;

        for sig in sigs {
            if sig.options.kinds() != obs.options.kinds() {
                continue;
            }
            let mut fuzzy = false;
            let mut ref_q = sig.quirks.0;
            if sig.version.is_none() {
                ref_q &= if obs.ip_version == 4 {
                    !Quirks::FLOW
                } else {
                    !(Quirks::DF | Quirks::NZ_ID | Quirks::ZERO_ID)
                };
            }
            let q = obs.quirks.0;
            if ref_q != q {
                let deleted = (ref_q ^ q) & ref_q;
                let added = (ref_q ^ q) & q;
                if fuzzy_match.is_some()
                    || deleted & !(Quirks::DF | Quirks::NZ_ID) != 0
                    || added & !(Quirks::ZERO_ID | Quirks::ECN) != 0
                {
                    continue;
                }
                fuzzy = true;
            }
            if sig.options.eol_pad != obs.options.eol_pad
                || sig.ip_options_len != obs.ip_options_len
            {
                continue;
            }
            if sig.random_ttl {
                if sig.ittl < obs.ttl {
                    continue;
                }
            } else if sig.ittl < obs.ttl || sig.ittl - obs.ttl > MAX_DIST {
                fuzzy = true;
            }
            if sig.mss.is_some_and(|m| m != mss)
                || sig.scale.is_some_and(|s| s != scale)
                || sig.payload.is_some_and(|p| p != pclass)
            {
                continue;
            }
            let win_ok = match sig.window {
                WindowSpec::Any => true,
                WindowSpec::Value(w) => w == obs.window,
                WindowSpec::Modulo(m) => m != 0 && obs.window.is_multiple_of(m),
                WindowSpec::Mss(k) => win_form == WindowForm::Mss(k),
                WindowSpec::Mtu(k) => win_form == WindowForm::Mtu(k),
            };
            if !win_ok {
                continue;
            }
            let label = self.labels.get(sig.label)?;
            if !fuzzy {
                if !label.generic {
                    return Some(self.make_match(sig, obs, MatchQuality::Exact));
                }
                generic_match.get_or_insert(sig);
            } else {
                fuzzy_match.get_or_insert(sig);
            }
        }
        if let Some(sig) = generic_match {
            return Some(self.make_match(sig, obs, MatchQuality::Generic));
        }
        let sig = fuzzy_match?;
        // p0f reports no fuzzy match for userland tools.
        self.labels.get(sig.label)?.class.as_ref()?;
        Some(self.make_match(sig, obs, MatchQuality::Fuzzy))
    }

    fn make_match<'a>(
        &'a self,
        sig: &'a TcpSignature,
        obs: &SynObservation,
        quality: MatchQuality,
    ) -> Match<'a> {
        // Exact and generic matches have ittl >= ttl; a fuzzy one may not, and then p0f
        // falls back to its guess.
        let distance = if sig.ittl < obs.ttl || (!sig.random_ttl && sig.ittl - obs.ttl > MAX_DIST) {
            guess_distance(obs.ttl)
        } else {
            sig.ittl - obs.ttl
        };
        let (label, class, name, flavor, generic) = match self.labels.get(sig.label) {
            Some(l) => (
                l.text.as_str(),
                l.class.as_deref(),
                l.name.as_str(),
                l.flavor.as_str(),
                l.generic,
            ),
            None => ("", None, "", "", false),
        };
        Match {
            label,
            class,
            name,
            flavor,
            quality,
            generic,
            distance,
            random_ttl: sig.random_ttl,
            line: sig.line,
        }
    }
}

fn default_mtu_name(mtu: u32) -> Option<&'static str> {
    use std::sync::OnceLock;
    static DEFAULTS: OnceLock<MtuTable> = OnceLock::new();
    DEFAULTS.get_or_init(MtuTable::defaults).name(mtu)
}

fn parse_label(value: &str, line: usize, classes: &[String]) -> Result<Label, DbError> {
    let bad = |why| DbError::BadLabel { line, why };
    let mut parts = value.splitn(4, ':');
    let generic = match parts.next() {
        Some("s") => false,
        Some("g") => true,
        _ => return Err(bad("type must be `s` or `g`")),
    };
    let class = match parts.next() {
        Some("!") => None,
        Some(c) if !c.is_empty() => {
            if !classes.is_empty() && !classes.iter().any(|k| k == c) {
                return Err(bad("class not declared in `classes`"));
            }
            Some(c.to_string())
        }
        _ => return Err(bad("missing class")),
    };
    let name = match parts.next() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => return Err(bad("missing name")),
    };
    let flavor = parts.next().ok_or(bad("missing flavor field"))?.to_string();
    Ok(Label {
        text: value.to_string(),
        generic,
        class,
        name,
        flavor,
        sys: Vec::new(),
        line,
    })
}

fn parse_num<T: std::str::FromStr>(
    s: &str,
    line: usize,
    field: &'static str,
) -> Result<T, DbError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DbError::BadSignature {
            line,
            field,
            why: format!("`{s}` is not a number in range"),
        });
    }
    s.parse::<T>().map_err(|_| DbError::BadSignature {
        line,
        field,
        why: format!("`{s}` is out of range"),
    })
}

/// Parse `ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass`.
pub fn parse_tcp_sig(value: &str, line: usize, label: usize) -> Result<TcpSignature, DbError> {
    let bad = |field, why: &str| DbError::BadSignature {
        line,
        field,
        why: why.to_string(),
    };
    let f: Vec<&str> = value.split(':').collect();
    let [ver, ittl, olen, mss, win, layout, quirks, pclass] = f[..] else {
        return Err(bad("all", "expected 8 fields separated by `:`"));
    };
    let version = match ver {
        "4" => Some(4),
        "6" => Some(6),
        "*" => None,
        _ => return Err(bad("ver", "must be 4, 6 or *")),
    };
    let (ittl, random_ttl) = if let Some(base) = ittl.strip_suffix('-') {
        (parse_num::<u8>(base, line, "ittl")?, true)
    } else if let Some((base, add)) = ittl.split_once('+') {
        let base = parse_num::<u8>(base, line, "ittl")?;
        let add = parse_num::<u8>(add, line, "ittl")?;
        let sum = base
            .checked_add(add)
            .ok_or(bad("ittl", "TTL + distance above 255"))?;
        (sum, false)
    } else {
        (parse_num::<u8>(ittl, line, "ittl")?, false)
    };
    if ittl == 0 {
        return Err(bad("ittl", "initial TTL 0"));
    }
    let ip_options_len = parse_num::<u8>(olen, line, "olen")?;
    let mss = match mss {
        "*" => None,
        m => Some(parse_num::<u16>(m, line, "mss")?),
    };
    let (wsize, scale) = win
        .split_once(',')
        .ok_or(bad("wsize", "expected `wsize,scale`"))?;
    let window = if wsize == "*" {
        WindowSpec::Any
    } else if let Some(m) = wsize.strip_prefix('%') {
        let m = parse_num::<u16>(m, line, "wsize")?;
        if m < 2 {
            return Err(bad("wsize", "`%N` needs N >= 2"));
        }
        WindowSpec::Modulo(m)
    } else if let Some(k) = wsize.strip_prefix("mss*") {
        WindowSpec::Mss(multiplier(k, line)?)
    } else if let Some(k) = wsize.strip_prefix("mtu*") {
        WindowSpec::Mtu(multiplier(k, line)?)
    } else {
        WindowSpec::Value(parse_num::<u16>(wsize, line, "wsize")?)
    };
    let scale = match scale {
        "*" => None,
        s => Some(parse_num::<u8>(s, line, "scale")?),
    };
    let options = parse_layout(layout, line)?;
    let mut q = 0u32;
    if !quirks.is_empty() {
        for name in quirks.split(',') {
            let bit = Quirks::from_name(name)
                .ok_or_else(|| bad("quirks", &format!("unknown quirk `{name}`")))?;
            let v4_only = Quirks::DF | Quirks::NZ_ID | Quirks::ZERO_ID | Quirks::NZ_MBZ;
            if (version == Some(6) && bit & v4_only != 0)
                || (version == Some(4) && bit == Quirks::FLOW)
            {
                return Err(bad(
                    "quirks",
                    &format!("`{name}` is not valid for this IP version"),
                ));
            }
            q |= bit;
        }
    }
    let payload = match pclass {
        "*" => None,
        "0" => Some(false),
        "+" => Some(true),
        _ => return Err(bad("pclass", "must be 0, + or *")),
    };
    Ok(TcpSignature {
        line,
        label,
        version,
        ittl,
        random_ttl,
        ip_options_len,
        mss,
        window,
        scale,
        options,
        quirks: Quirks(q),
        payload,
    })
}

fn multiplier(k: &str, line: usize) -> Result<u16, DbError> {
    let k = parse_num::<u16>(k, line, "wsize")?;
    if !(1..=1000).contains(&k) {
        return Err(DbError::BadSignature {
            line,
            field: "wsize",
            why: "multiplier outside 1..=1000".into(),
        });
    }
    Ok(k)
}

fn parse_layout(s: &str, line: usize) -> Result<OptionLayout, DbError> {
    let bad = |why: String| DbError::BadSignature {
        line,
        field: "olayout",
        why,
    };
    let mut kinds: Vec<u8> = Vec::new();
    let mut eol_pad = 0u8;
    if s.is_empty() {
        return Ok(OptionLayout::default());
    }
    let items: Vec<&str> = s.split(',').collect();
    for (i, item) in items.iter().enumerate() {
        let kind = match *item {
            "nop" => KIND_NOP,
            "mss" => KIND_MSS,
            "ws" => KIND_WS,
            "sok" => KIND_SACK_PERMITTED,
            "sack" => KIND_SACK,
            "ts" => KIND_TIMESTAMP,
            other => {
                if let Some(n) = other.strip_prefix("eol+") {
                    if i + 1 != items.len() {
                        return Err(bad("eol must be the last option".into()));
                    }
                    eol_pad = parse_num::<u8>(n, line, "olayout")?;
                    KIND_EOL
                } else if let Some(n) = other.strip_prefix('?') {
                    parse_num::<u8>(n, line, "olayout")?
                } else {
                    return Err(bad(format!("unknown option `{other}`")));
                }
            }
        };
        kinds.push(kind);
    }
    if kinds.len() > MAX_OPTIONS {
        return Err(bad(format!("more than {MAX_OPTIONS} options")));
    }
    OptionLayout::from_kinds(&kinds, eol_pad).ok_or(bad("too many options".into()))
}
