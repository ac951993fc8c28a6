//! Routing ids libzmq generates for peers that bring none (ROUTER) and for raw connections
//! (STREAM): five bytes, a zero then a 32-bit big-endian counter that starts at a random
//! value, so generated ids never collide with application ids (which cannot start with 0).

use bytes::Bytes;

/// Generates libzmq-style routing ids.
#[derive(Debug)]
pub struct RoutingIdGenerator {
    next: u32,
}

impl Default for RoutingIdGenerator {
    fn default() -> Self {
        // A random start, as libzmq; it is not a secret.
        RoutingIdGenerator { next: crate::slots::random_u32() }
    }
}

impl RoutingIdGenerator {
    /// The next id.
    pub fn generate(&mut self) -> Bytes {
        let value = self.next;
        self.next = self.next.wrapping_add(1);
        let mut id = [0u8; 5];
        id[1..].copy_from_slice(&value.to_be_bytes());
        Bytes::copy_from_slice(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_five_bytes_starting_with_zero_and_distinct() {
        let mut generator = RoutingIdGenerator::default();
        let a = generator.generate();
        let b = generator.generate();
        assert_eq!(a.len(), 5);
        assert_eq!(a[0], 0);
        assert_ne!(a, b);
    }
}
