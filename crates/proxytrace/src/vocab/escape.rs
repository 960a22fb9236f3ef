//! Text forms of captured bytes: how a value an attacker wrote is shown in a row, a
//! table or a summary without breaking a CSV line or a terminal, and without losing a byte.

/// Escape bytes for text output: valid UTF-8 stays as is except control characters and
/// backslash, which become `\xNN` (per UTF-8 byte) and `\\`; invalid bytes become `\xNN`;
/// bidirectional controls and invisible format characters (see [`is_hidden_format`])
/// become `\u{XXXX}`. Reversible (a backslash is always followed by `\`, `x` or `u{`), so
/// nothing a hostile header carries is lost, breaks a CSV line or terminal, or makes a
/// viewer display text in another order than it has (Trojan Source, CVE-2021-42574).
pub fn escape_bytes(b: &[u8]) -> String {
    // Nearly every value is plain printable ASCII: take it whole.
    if b.iter().all(|&c| (0x20..0x7f).contains(&c) && c != b'\\') {
        return String::from_utf8_lossy(b).into_owned();
    }
    let mut s = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped_char(&mut s, c, true);
        }
        for byte in chunk.invalid() {
            s.push_str(&format!("\\x{byte:02x}"));
        }
    }
    s
}

/// Characters that change how the text around them is displayed without showing
/// themselves: bidirectional embeddings, overrides, isolates and marks, zero-width
/// characters, line and paragraph separators, invisible operators and the BOM.
pub fn is_hidden_format(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Append `c` as text output shows it: a control character as `\xNN` per UTF-8 byte, a
/// hidden format character as `\u{XXXX}`, a backslash as `\\` when `backslash` (cells that
/// are escaped already pass false), anything else as is. The field escaping of
/// [`escape_bytes`] and the table's last line of defence share it.
pub fn push_escaped_char(s: &mut String, c: char, backslash: bool) {
    match c {
        '\\' if backslash => s.push_str("\\\\"),
        c if c.is_control() => {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                s.push_str(&format!("\\x{byte:02x}"));
            }
        }
        c if is_hidden_format(c) => s.push_str(&format!("\\u{{{:04x}}}", u32::from(c))),
        c => s.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_reversible_and_safe() {
        assert_eq!(escape_bytes(b"plain text"), "plain text");
        assert_eq!(escape_bytes(b"a\\b"), "a\\\\b");
        assert_eq!(escape_bytes(b"nul\0cr\r"), "nul\\x00cr\\x0d");
        assert_eq!(escape_bytes(&[0x66, 0xff, 0x6f]), "f\\xffo");
        assert_eq!(escape_bytes("é".as_bytes()), "é");
        // C1 controls are controls too: NEL (U+0085) is c2 85.
        assert_eq!(escape_bytes("a\u{85}b".as_bytes()), "a\\xc2\\x85b");
    }

    /// Hidden format characters by their UTF-8 bytes (written out, not via `char`).
    #[test]
    fn bidi_and_invisible_characters_escape_as_code_points() {
        let cases: [(&[u8], &str); 8] = [
            (b"\xe2\x80\xae", "\\u{202e}"),
            (b"\xe2\x80\x8b", "\\u{200b}"),
            (b"\xe2\x80\x8f", "\\u{200f}"),
            (b"\xe2\x80\xaa", "\\u{202a}"),
            (b"\xe2\x81\xa6", "\\u{2066}"),
            (b"\xe2\x81\xa9", "\\u{2069}"),
            (b"\xef\xbb\xbf", "\\u{feff}"),
            (b"\xe2\x80\xa8", "\\u{2028}"),
        ];
        for (bytes, want) in cases {
            assert_eq!(escape_bytes(bytes), want);
        }
        // Neighbours stay: U+2010 HYPHEN (e2 80 90), U+2030 PER MILLE (e2 80 b0).
        assert_eq!(
            escape_bytes(b"\xe2\x80\x90\xe2\x80\xb0"),
            "\u{2010}\u{2030}"
        );
        // A forged address that displays as 1.2.3.4 but holds 4.3.2.1 stays readable.
        assert_eq!(
            escape_bytes("\u{202e}4.3.2.1".as_bytes()),
            "\\u{202e}4.3.2.1"
        );
    }

    /// Inverse of [`escape_bytes`], written independently of it from the documented rules.
    fn unescape(s: &str) -> Option<Vec<u8>> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'\\' {
                out.push(b[i]);
                i += 1;
                continue;
            }
            match b.get(i + 1)? {
                b'\\' => {
                    out.push(b'\\');
                    i += 2;
                }
                b'x' => {
                    let h = std::str::from_utf8(b.get(i + 2..i + 4)?).ok()?;
                    out.push(u8::from_str_radix(h, 16).ok()?);
                    i += 4;
                }
                b'u' => {
                    let end = i + s[i..].find('}')?;
                    let cp = u32::from_str_radix(s.get(i + 3..end)?, 16).ok()?;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(char::from_u32(cp)?.encode_utf8(&mut buf).as_bytes());
                    i = end + 1;
                }
                _ => return None,
            }
        }
        Some(out)
    }

    proptest::proptest! {
        /// Any bytes: the escaped form unescapes to them, and shows no control or hidden
        /// format character.
        #[test]
        fn escaping_round_trips(
            parts in proptest::collection::vec(proptest::prop_oneof![
                proptest::collection::vec(proptest::num::u8::ANY, 0..8),
                proptest::sample::select(vec![
                    "\u{202e}".as_bytes().to_vec(), "\u{2066}".as_bytes().to_vec(),
                    "\u{200b}".as_bytes().to_vec(), "\u{feff}".as_bytes().to_vec(),
                    "\u{85}".as_bytes().to_vec(), b"\\u{202e}".to_vec(), b"\\x41".to_vec(),
                    "é".as_bytes().to_vec(), b"\\".to_vec(), b"1.2.3.4".to_vec(),
                ]),
            ], 0..12)
        ) {
            let bytes: Vec<u8> = parts.concat();
            let e = escape_bytes(&bytes);
            proptest::prop_assert_eq!(unescape(&e), Some(bytes));
            proptest::prop_assert!(!e
                .chars()
                .any(|c| c.is_control() || is_hidden_format(c)));
        }
    }
}
