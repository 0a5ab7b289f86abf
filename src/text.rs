//! Lines of a file an operator writes (password and ACL files), read as bytes.
//!
//! A comment or blank line may hold any bytes (`# Müller` saved as Latin-1); any other line
//! that is not UTF-8 is given to the parser as [`Line::NotUtf8`], so that it affects that line
//! only and is reported as `file:line`, instead of the whole file failing to read.

/// One line, without its `\n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// Text (a comment or blank line that is not UTF-8 reads as empty).
    Text(&'a str),
    /// A line with content that is not UTF-8.
    NotUtf8(&'a [u8]),
}

/// The lines of `bytes`, numbered from 1, after an optional UTF-8 byte order mark.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, Line<'_>)> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    bytes.split(|&b| b == b'\n').enumerate().map(|(i, raw)| {
        let line = match std::str::from_utf8(raw) {
            Ok(s) => Line::Text(s),
            Err(_) if is_comment_or_blank(raw) => Line::Text(""),
            Err(_) => Line::NotUtf8(raw),
        };
        (i + 1, line)
    })
}

fn is_comment_or_blank(raw: &[u8]) -> bool {
    match raw.iter().position(|b| !b.is_ascii_whitespace()) {
        None => true,
        Some(i) => raw[i] == b'#',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_byte_affects_its_own_line_only() {
        let got: Vec<_> = lines(b"\xef\xbb\xbfa\n  # M\xfcller\nb\xff\n\n\r\nc").collect();
        assert_eq!(
            got,
            vec![
                (1, Line::Text("a")),
                (2, Line::Text("")),
                (3, Line::NotUtf8(b"b\xff")),
                (4, Line::Text("")),
                (5, Line::Text("\r")),
                (6, Line::Text("c")),
            ]
        );
    }
}
