//! The TLS ClientHello (RFC 8446 section 4.1.2, same layout in TLS 1.0-1.2): record layer
//! (content type 22, handshake), the handshake header, and the fields up to the
//! extensions, of which `server_name` (RFC 6066 section 3) and
//! `application_layer_protocol_negotiation` (RFC 7301) are kept.
//!
//! The hello may be spread over several records and those over several TCP segments: the
//! caller hands the first client bytes it has, in stream order, and calls again with more
//! while the answer is [`HelloError::Truncated`]. Everything is bounded by
//! [`MAX_CLIENT_HELLO_BYTES`]; every length is checked against the bytes it claims, so
//! hostile input gives an error, never a panic or a loop.

use thiserror::Error;

/// First client bytes read for a ClientHello, record headers included. Real hellos are
/// a few hundred bytes to about 2 KiB (a post-quantum key share adds 1.2 KiB); 16 KiB is
/// one full TLS record. A hello that does not end within it is [`HelloError::TooLarge`].
pub const MAX_CLIENT_HELLO_BYTES: usize = 16 * 1024;

/// TLS record content type: handshake.
const CONTENT_HANDSHAKE: u8 = 22;
/// Handshake message type: client_hello.
const HS_CLIENT_HELLO: u8 = 1;
/// Extension type: server_name.
const EXT_SERVER_NAME: u16 = 0;
/// Extension type: application_layer_protocol_negotiation.
const EXT_ALPN: u16 = 16;
/// Longest record fragment a sender may use (RFC 8446 section 5.1: 2^14 bytes).
const MAX_FRAGMENT: usize = 1 << 14;

/// What a ClientHello says that a forensic row shows. Bytes stay bytes: the caller
/// escapes them for output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// `legacy_version` of the hello (0x0303 for TLS 1.2 and 1.3).
    pub legacy_version: u16,
    /// The first `host_name` of the `server_name` extension.
    pub sni: Option<Vec<u8>>,
    /// The ALPN protocol names, in the client's order (empty: no ALPN extension).
    pub alpn: Vec<Vec<u8>>,
}

/// Why the first client bytes give no ClientHello.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HelloError {
    /// The bytes do not start with a TLS handshake record header.
    #[error("not a TLS handshake record")]
    NotTls,
    /// A prefix of a ClientHello: more bytes are needed.
    #[error("ClientHello incomplete")]
    Truncated,
    /// The hello does not end within [`MAX_CLIENT_HELLO_BYTES`].
    #[error("ClientHello longer than {MAX_CLIENT_HELLO_BYTES} bytes")]
    TooLarge,
    /// A TLS record that breaks the rules: which field.
    #[error("malformed ClientHello: {0}")]
    Malformed(&'static str),
}

/// Do the bytes start like a TLS handshake record (type 22, version 3.0-3.4)? A shorter
/// prefix of such a header also counts.
pub fn looks_like_tls(b: &[u8]) -> bool {
    match b {
        [] => false,
        [t] => *t == CONTENT_HANDSHAKE,
        [t, major] => *t == CONTENT_HANDSHAKE && *major == 3,
        [t, major, minor, ..] => *t == CONTENT_HANDSHAKE && *major == 3 && *minor <= 4,
    }
}

/// The ClientHello at the start of `b` (the client's first bytes after any PROXY
/// preamble). Bytes past [`MAX_CLIENT_HELLO_BYTES`] are not read.
pub fn parse_client_hello(b: &[u8]) -> Result<ClientHello, HelloError> {
    if !looks_like_tls(b) {
        return Err(HelloError::NotTls);
    }
    let b = &b[..b.len().min(MAX_CLIENT_HELLO_BYTES)];
    // The handshake bytes of the records read so far (most hellos fit in one record, but
    // a sender may split them: RFC 8446 section 5.1).
    let mut hs: Vec<u8> = Vec::new();
    let mut at = 0usize;
    loop {
        if let Some(done) = complete_message(&hs)? {
            return parse_body(done);
        }
        let Some(hdr) = b.get(at..at + 5) else {
            return Err(out_of_bytes(b.len()));
        };
        if hdr[0] != CONTENT_HANDSHAKE || hdr[1] != 3 {
            return Err(HelloError::Malformed(
                "a record that is not a handshake before the ClientHello ends",
            ));
        }
        let len = usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
        if len == 0 {
            return Err(HelloError::Malformed("empty handshake record"));
        }
        if len > MAX_FRAGMENT {
            return Err(HelloError::Malformed("record longer than 2^14 bytes"));
        }
        let start = at + 5;
        let end = start + len;
        // A partial record still helps: the hello may end inside what is there.
        let avail = b.get(start..end.min(b.len())).unwrap_or_default();
        hs.extend_from_slice(avail);
        if end > b.len() {
            return match complete_message(&hs)? {
                Some(done) => parse_body(done),
                None => Err(out_of_bytes(b.len())),
            };
        }
        at = end;
    }
}

/// The bytes ran out: more may come, unless the cap is reached.
fn out_of_bytes(read: usize) -> HelloError {
    if read >= MAX_CLIENT_HELLO_BYTES {
        HelloError::TooLarge
    } else {
        HelloError::Truncated
    }
}

/// The ClientHello body once `hs` holds the whole first handshake message.
fn complete_message(hs: &[u8]) -> Result<Option<&[u8]>, HelloError> {
    let Some(&[ty, a, b, c]) = hs.get(..4) else {
        return Ok(None);
    };
    if ty != HS_CLIENT_HELLO {
        return Err(HelloError::Malformed(
            "first handshake message is not a ClientHello",
        ));
    }
    let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
    if 4 + len > MAX_CLIENT_HELLO_BYTES {
        return Err(HelloError::TooLarge);
    }
    Ok(hs.get(4..4 + len))
}

/// A cursor over length-prefixed fields; running short is a malformed field.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], HelloError> {
        if n > self.0.len() {
            return Err(HelloError::Malformed(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, HelloError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, HelloError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn parse_body(body: &[u8]) -> Result<ClientHello, HelloError> {
    let mut r = Reader(body);
    let mut hello = ClientHello {
        legacy_version: r.u16("legacy_version")?,
        ..ClientHello::default()
    };
    r.take(32, "random")?;
    let sid = usize::from(r.u8("legacy_session_id")?);
    if sid > 32 {
        return Err(HelloError::Malformed("session id longer than 32 bytes"));
    }
    r.take(sid, "legacy_session_id")?;
    let suites = usize::from(r.u16("cipher_suites")?);
    if suites == 0 || suites % 2 != 0 {
        return Err(HelloError::Malformed("cipher_suites length"));
    }
    r.take(suites, "cipher_suites")?;
    let comp = usize::from(r.u8("legacy_compression_methods")?);
    if comp == 0 {
        return Err(HelloError::Malformed("no compression method"));
    }
    r.take(comp, "legacy_compression_methods")?;
    if r.is_empty() {
        // TLS 1.0-1.2 allow a hello without extensions.
        return Ok(hello);
    }
    let ext_len = usize::from(r.u16("extensions")?);
    let mut exts = Reader(r.take(ext_len, "extensions")?);
    if !r.is_empty() {
        return Err(HelloError::Malformed("bytes after the extensions"));
    }
    let (mut seen_sni, mut seen_alpn) = (false, false);
    while !exts.is_empty() {
        let ty = exts.u16("extension type")?;
        let len = usize::from(exts.u16("extension length")?);
        let data = exts.take(len, "extension data")?;
        match ty {
            EXT_SERVER_NAME => {
                // RFC 8446 section 4.2: one extension of a type per message.
                if std::mem::replace(&mut seen_sni, true) {
                    return Err(HelloError::Malformed("server_name twice"));
                }
                hello.sni = server_name(data)?;
            }
            EXT_ALPN => {
                if std::mem::replace(&mut seen_alpn, true) {
                    return Err(HelloError::Malformed("ALPN twice"));
                }
                hello.alpn = alpn(data)?;
            }
            _ => {}
        }
    }
    Ok(hello)
}

/// The first host_name of a server_name extension (other name types are skipped).
fn server_name(data: &[u8]) -> Result<Option<Vec<u8>>, HelloError> {
    let mut r = Reader(data);
    let list_len = usize::from(r.u16("server_name list")?);
    let mut list = Reader(r.take(list_len, "server_name list")?);
    if !r.is_empty() {
        return Err(HelloError::Malformed("bytes after the server_name list"));
    }
    let mut name = None;
    while !list.is_empty() {
        let ty = list.u8("server_name type")?;
        let len = usize::from(list.u16("server_name length")?);
        let n = list.take(len, "server_name")?;
        if ty == 0 && name.is_none() {
            if n.is_empty() {
                return Err(HelloError::Malformed("empty host_name"));
            }
            name = Some(n.to_vec());
        }
    }
    Ok(name)
}

/// The protocol names of an ALPN extension.
fn alpn(data: &[u8]) -> Result<Vec<Vec<u8>>, HelloError> {
    let mut r = Reader(data);
    let list_len = usize::from(r.u16("ALPN list")?);
    let mut list = Reader(r.take(list_len, "ALPN list")?);
    if !r.is_empty() {
        return Err(HelloError::Malformed("bytes after the ALPN list"));
    }
    let mut names = Vec::new();
    while !list.is_empty() {
        let len = usize::from(list.u8("ALPN name length")?);
        if len == 0 {
            return Err(HelloError::Malformed("empty ALPN name"));
        }
        names.push(list.take(len, "ALPN name")?.to_vec());
    }
    if names.is_empty() {
        return Err(HelloError::Malformed("empty ALPN list"));
    }
    Ok(names)
}

#[cfg(test)]
mod tests;
