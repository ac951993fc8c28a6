//! Frame headers (RFC 23 §"Framing").
//!
//! A ZMTP 3.x frame is a flags byte, a size (one byte, or eight bytes in network order when
//! the LONG flag is set) and the body. ZMTP 2.0 has the same layout without the COMMAND
//! flag. ZMTP 1.0 puts the size first (one byte, or `0xFF` and eight bytes), counts the flags
//! byte in it, and then sends the flags byte.

/// More frames of the same message follow.
pub const MORE: u8 = 0x01;
/// The size is eight bytes long.
pub const LONG: u8 = 0x02;
/// The frame is a command, not a message frame (ZMTP 3.x only).
pub const COMMAND: u8 = 0x04;

/// The largest header any format writes: flags + 8-byte size (or 1 + 8 + flags in ZMTP 1.0).
pub const MAX_HEADER_LEN: usize = 10;

/// Which framing the peer speaks, as decided from its greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FrameFormat {
    /// ZMTP 3.0 and 3.1: flags (MORE, LONG, COMMAND), then size, then body.
    #[default]
    Zmtp3,
    /// ZMTP 2.0: flags (MORE, LONG), then size, then body. No commands.
    Zmtp2,
    /// ZMTP 1.0: size including the flags byte (`0xFF` + 8 bytes when long), flags (MORE),
    /// then body. No commands.
    Zmtp1,
}

impl FrameFormat {
    /// The flag bits this format defines; any other bit set is an error.
    pub(crate) fn known_flags(self) -> u8 {
        match self {
            FrameFormat::Zmtp3 => MORE | LONG | COMMAND,
            FrameFormat::Zmtp2 => MORE | LONG,
            // libzmq's ZMTP 1.0 decoder reads only the MORE bit and ignores the rest.
            FrameFormat::Zmtp1 => 0xFF,
        }
    }

    /// Whether this format can carry command frames.
    pub fn has_commands(self) -> bool {
        self == FrameFormat::Zmtp3
    }
}

/// Writes the header of a frame with `flags` (MORE and/or COMMAND; LONG is chosen here) and a
/// body of `len` bytes into `out`, returning the header's length. Bodies of up to 255 bytes
/// get the short form, as libzmq writes them.
pub fn write_header(format: FrameFormat, flags: u8, len: u64, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
    let flags = flags & !LONG;
    match format {
        FrameFormat::Zmtp3 | FrameFormat::Zmtp2 => {
            if len <= u64::from(u8::MAX) {
                out[0] = flags;
                out[1] = len as u8;
                2
            } else {
                out[0] = flags | LONG;
                out[1..9].copy_from_slice(&len.to_be_bytes());
                9
            }
        }
        FrameFormat::Zmtp1 => {
            // The size counts the flags byte.
            let size = len.saturating_add(1);
            if size < 0xFF {
                out[0] = size as u8;
                out[1] = flags & MORE;
                2
            } else {
                out[0] = 0xFF;
                out[1..9].copy_from_slice(&size.to_be_bytes());
                out[9] = flags & MORE;
                10
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use alloc::{vec, vec::Vec};

    fn header(format: FrameFormat, flags: u8, len: u64) -> Vec<u8> {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = write_header(format, flags, len, &mut out);
        out[..n].to_vec()
    }

    #[test]
    fn zmtp3_headers_follow_rfc_layout() {
        assert_eq!(header(FrameFormat::Zmtp3, 0, 0), [0x00, 0x00]);
        assert_eq!(header(FrameFormat::Zmtp3, MORE, 5), [0x01, 0x05]);
        assert_eq!(header(FrameFormat::Zmtp3, 0, 255), [0x00, 0xFF]);
        assert_eq!(header(FrameFormat::Zmtp3, 0, 256), [0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
        assert_eq!(header(FrameFormat::Zmtp3, COMMAND, 3), [0x04, 0x03]);
        assert_eq!(header(FrameFormat::Zmtp3, COMMAND, 70_000), [0x06, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]);
        assert_eq!(header(FrameFormat::Zmtp3, MORE | LONG, 1), [0x01, 0x01], "LONG is chosen by size");
    }

    #[test]
    fn zmtp1_headers_count_the_flags_byte() {
        assert_eq!(header(FrameFormat::Zmtp1, 0, 0), [0x01, 0x00]);
        assert_eq!(header(FrameFormat::Zmtp1, MORE, 253), [0xFE, 0x01]);
        assert_eq!(header(FrameFormat::Zmtp1, 0, 254), [0xFF, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0x00]);
    }
}
