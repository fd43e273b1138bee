//! The shared layout of the producer/consumer segment (the textbook
//! `struct { int written; char text[512]; }`, 516 bytes), the messages
//! written through it, and the checksum both sides compute.

/// Bytes of text in the shared record.
pub const TEXT_SIZE: usize = 512;

/// The shared record at the start of the segment.
#[repr(C)]
#[derive(Debug)]
pub struct SharedRecord {
    /// Non-zero while a message waits to be taken by the consumer.
    pub written: i32,
    /// The message, NUL-terminated.
    pub text: [u8; TEXT_SIZE],
}

/// Size of [`SharedRecord`]: the 516-byte segment of the demo in docs/STEPS.md.
pub const RECORD_SIZE: usize = std::mem::size_of::<SharedRecord>();

/// The text of the message that ends the exchange.
pub const END_TEXT: &str = "end";

/// The text of data message `seq` (0-based).
pub fn message_text(seq: u64) -> String {
    format!(
        "msg {seq:06} payload {}",
        "x".repeat((seq % 7) as usize + 1)
    )
}

/// The sequence number of a data message text, or None when it is not one.
pub fn parse_seq(text: &str) -> Option<u64> {
    let rest = text.strip_prefix("msg ")?;
    rest.split(' ').next()?.parse().ok()
}

/// Copies `text` (truncated to fit, NUL-terminated) into the record.
pub fn put_text(record: &mut [u8; TEXT_SIZE], text: &str) {
    let bytes = text.as_bytes();
    let n = bytes.len().min(TEXT_SIZE - 1);
    record[..n].copy_from_slice(&bytes[..n]);
    record[n] = 0;
}

/// The NUL-terminated text of a record (invalid UTF-8 replaced).
pub fn get_text(record: &[u8; TEXT_SIZE]) -> String {
    let end = record.iter().position(|b| *b == 0).unwrap_or(TEXT_SIZE);
    String::from_utf8_lossy(&record[..end]).into_owned()
}

/// FNV-1a 64 over message texts in order, with a 0 byte after each text so
/// that ("ab","c") and ("a","bc") differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checksum(u64);

impl Default for Checksum {
    fn default() -> Self {
        Checksum(0xcbf2_9ce4_8422_2325)
    }
}

impl Checksum {
    /// Adds one message text.
    pub fn add(&mut self, text: &str) {
        for b in text.as_bytes().iter().chain(std::iter::once(&0u8)) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The value as `0x` + 16 hex digits (as written in reports).
    pub fn hex(&self) -> String {
        format!("0x{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_the_demos_516_bytes() {
        assert_eq!(RECORD_SIZE, 516);
    }

    #[test]
    fn text_round_trips_and_seq_parses() {
        let mut rec = [0xffu8; TEXT_SIZE];
        put_text(&mut rec, &message_text(42));
        assert_eq!(get_text(&rec), message_text(42));
        assert_eq!(parse_seq(&get_text(&rec)), Some(42));
        assert_eq!(parse_seq(END_TEXT), None);
    }

    #[test]
    fn checksum_depends_on_order_and_boundaries() {
        let sum = |texts: &[&str]| {
            let mut c = Checksum::default();
            texts.iter().for_each(|t| c.add(t));
            c
        };
        assert_ne!(sum(&["a", "b"]), sum(&["b", "a"]));
        assert_ne!(sum(&["ab", "c"]), sum(&["a", "bc"]));
        assert_eq!(sum(&["a", "b"]), sum(&["a", "b"]));
        // FNV-1a 64 of the single byte 0 (empty text + separator).
        assert_eq!(sum(&[""]).hex(), "0xaf63bd4c8601b7df");
    }
}
