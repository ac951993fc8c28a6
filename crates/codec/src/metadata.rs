//! Metadata properties (RFC 23 §"Connection Metadata", RFC 37).
//!
//! ```text
//! metadata = *property
//! property = name value
//! name     = OCTET 1*255name-char      ; length, then the name
//! name-char = ALPHA | DIGIT | "-" | "_" | "." | "+"
//! value    = 4OCTET *OCTET             ; 32-bit length in network order, then the value
//! ```
//!
//! Names compare case-insensitively. Values are opaque bytes and, when parsed from a frame,
//! are zero-copy slices of it.

use alloc::vec::Vec;
use bytes::{BufMut, Bytes};

use crate::error::MetadataError;

/// An ordered list of (name, value) properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    properties: Vec<(Bytes, Bytes)>,
}

/// Whether `name` is a valid property name: 1 to 255 bytes of `A-Z a-z 0-9 - _ . +`.
pub fn is_valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'+'))
}

impl Metadata {
    /// An empty property list.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Appends a property. The name is validated; a value over 4 GiB is refused.
    pub fn insert(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Result<(), MetadataError> {
        let name = name.into();
        let value = value.into();
        if name.len() > 255 {
            return Err(MetadataError::NameTooLong);
        }
        if !is_valid_name(&name) {
            return Err(MetadataError::InvalidName);
        }
        if u32::try_from(value.len()).is_err() {
            return Err(MetadataError::ValueTooLong);
        }
        self.properties.push((name, value));
        Ok(())
    }

    /// The value of the first property called `name`, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.properties.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v)
    }

    /// All properties in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.properties.iter().map(|(n, v)| (n, v))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.properties.len()
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }

    /// Bytes that [`Metadata::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        self.properties.iter().map(|(n, v)| 1 + n.len() + 4 + v.len()).sum()
    }

    /// Appends the wire form of every property to `out`.
    pub fn encode(&self, out: &mut impl BufMut) {
        for (name, value) in &self.properties {
            // Both lengths were checked by `insert` or `parse`.
            out.put_u8(name.len() as u8);
            out.put_slice(name);
            out.put_u32(value.len() as u32);
            out.put_slice(value);
        }
    }

    /// Parses a whole property list. Values are slices of `input` (no copy).
    pub fn parse(input: &Bytes) -> Result<Metadata, MetadataError> {
        let mut properties = Vec::new();
        let mut pos = 0usize;
        while pos < input.len() {
            let name_len = usize::from(input[pos]);
            pos += 1;
            let name_end =
                pos.checked_add(name_len).filter(|&end| end <= input.len()).ok_or(MetadataError::Truncated)?;
            let name = input.slice(pos..name_end);
            if !is_valid_name(&name) {
                return Err(MetadataError::InvalidName);
            }
            pos = name_end;
            let len_bytes: [u8; 4] =
                input.get(pos..pos + 4).and_then(|s| s.try_into().ok()).ok_or(MetadataError::Truncated)?;
            pos += 4;
            // Compare against what is really there before using the peer's number.
            let value_len = u32::from_be_bytes(len_bytes) as usize;
            if value_len > input.len() - pos {
                return Err(MetadataError::Truncated);
            }
            properties.push((name, input.slice(pos..pos + value_len)));
            pos += value_len;
        }
        Ok(Metadata { properties })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use alloc::{vec, vec::Vec};

    #[test]
    fn encodes_rfc_layout() {
        let mut md = Metadata::new();
        md.insert(&b"Socket-Type"[..], &b"DEALER"[..]).unwrap();
        md.insert(&b"Identity"[..], Bytes::new()).unwrap();
        let mut out = Vec::new();
        md.encode(&mut out);
        let mut expected = vec![11u8];
        expected.extend_from_slice(b"Socket-Type");
        expected.extend_from_slice(&[0, 0, 0, 6]);
        expected.extend_from_slice(b"DEALER");
        expected.push(8);
        expected.extend_from_slice(b"Identity");
        expected.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(out, expected);
        assert_eq!(md.encoded_len(), expected.len());
        assert_eq!(Metadata::parse(&Bytes::from(out)).unwrap(), md);
    }

    #[test]
    fn lookup_is_case_insensitive() {
        let mut md = Metadata::new();
        md.insert(&b"Socket-Type"[..], &b"PUB"[..]).unwrap();
        assert_eq!(md.get("socket-type").unwrap(), &b"PUB"[..]);
        assert!(md.get("Identity").is_none());
    }

    #[test]
    fn rejects_bad_names() {
        let mut md = Metadata::new();
        assert_eq!(md.insert(Bytes::new(), Bytes::new()), Err(MetadataError::InvalidName));
        assert_eq!(md.insert(&b"has space"[..], Bytes::new()), Err(MetadataError::InvalidName));
        assert_eq!(md.insert(vec![b'a'; 256], Bytes::new()), Err(MetadataError::NameTooLong));
        assert!(md.insert(vec![b'a'; 255], Bytes::new()).is_ok());
        assert_eq!(Metadata::parse(&Bytes::from_static(&[1, b'!', 0, 0, 0, 0])), Err(MetadataError::InvalidName));
        assert_eq!(Metadata::parse(&Bytes::from_static(&[0, 0, 0, 0, 0])), Err(MetadataError::InvalidName));
    }

    #[test]
    fn rejects_truncation_anywhere() {
        let mut md = Metadata::new();
        md.insert(&b"X-Key"[..], &b"value"[..]).unwrap();
        let mut wire = Vec::new();
        md.encode(&mut wire);
        for cut in 1..wire.len() {
            assert_eq!(
                Metadata::parse(&Bytes::copy_from_slice(&wire[..cut])),
                Err(MetadataError::Truncated),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn huge_value_claim_is_refused_without_allocating() {
        let wire = Bytes::from_static(&[1, b'A', 0xFF, 0xFF, 0xFF, 0xFF, b'x']);
        assert_eq!(Metadata::parse(&wire), Err(MetadataError::Truncated));
    }
}
