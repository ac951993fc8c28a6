//! Subscription tries: prefix matching whose cost follows the message, not the number of
//! subscriptions (libzmq's `trie_t` and `mtrie_t`).
//!
//! A subscription is a byte prefix; a message matches it when the message starts with it (the
//! empty prefix matches everything). Both tries store one node per prefix byte, so matching
//! walks the message's bytes down from the root and stops at the first byte with no child:
//! at most `min(message length, longest prefix) + 1` nodes are visited, however many
//! subscriptions do not match.
//!
//! * [`Trie`] counts subscriptions per prefix (SUB and XSUB: the same prefix subscribed twice
//!   needs two cancels before the publisher is told).
//! * [`MultiTrie`] maps each prefix to the set of subscribers holding it (PUB and XPUB: which
//!   pipes a message goes to).
//!
//! Nodes live in one arena addressed by index and every operation is iterative, so neither a
//! very long prefix (a peer may send one) nor dropping a deep trie can overflow the stack.
//! Each node's children are a dense table indexed by `byte - min`, as in libzmq, so a step
//! down costs one bounds check. Nodes left with no subscription and no child are freed.

const ROOT: u32 = 0;
/// "No child" in a table (the root is never anybody's child).
const NIL: u32 = 0;

/// What a node holds: a subscription count or a subscriber set.
trait Value: Default {
    fn is_empty(&self) -> bool;
}

impl Value for u32 {
    fn is_empty(&self) -> bool {
        *self == 0
    }
}

impl<K> Value for Vec<K> {
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

#[derive(Debug, Clone)]
struct Node<V> {
    value: V,
    parent: u32,
    /// The byte on the edge from the parent.
    byte: u8,
    /// The byte of `children[0]`.
    min: u8,
    /// Non-NIL entries in `children`.
    live: u16,
    /// Dense child table for bytes `min..min + children.len()`; NIL where there is none.
    children: Vec<u32>,
}

impl<V: Value> Node<V> {
    fn new(parent: u32, byte: u8) -> Node<V> {
        Node { value: V::default(), parent, byte, min: 0, live: 0, children: Vec::new() }
    }
}

/// The node arena shared by both tries.
#[derive(Debug, Clone)]
struct Tree<V> {
    nodes: Vec<Node<V>>,
    free: Vec<u32>,
}

impl<V: Value> Tree<V> {
    fn new() -> Tree<V> {
        Tree { nodes: vec![Node::new(ROOT, 0)], free: Vec::new() }
    }

    #[inline]
    fn node(&self, index: u32) -> &Node<V> {
        &self.nodes[index as usize]
    }

    #[inline]
    fn node_mut(&mut self, index: u32) -> &mut Node<V> {
        &mut self.nodes[index as usize]
    }

    /// The child of `index` along `byte`, or NIL.
    #[inline]
    fn child(&self, index: u32, byte: u8) -> u32 {
        let node = self.node(index);
        // A byte below `min` wraps to at least 256 - min, past the table (which ends at 255).
        node.children.get(usize::from(byte.wrapping_sub(node.min))).copied().unwrap_or(NIL)
    }

    /// The node for `prefix`, if it exists.
    fn find(&self, prefix: &[u8]) -> Option<u32> {
        let mut index = ROOT;
        for &byte in prefix {
            index = self.child(index, byte);
            if index == NIL {
                return None;
            }
        }
        Some(index)
    }

    /// The node for `prefix`, created (with its missing ancestors) if needed.
    fn find_or_insert(&mut self, prefix: &[u8]) -> u32 {
        let mut index = ROOT;
        for &byte in prefix {
            let child = self.child(index, byte);
            index = if child == NIL { self.insert_child(index, byte) } else { child };
        }
        index
    }

    fn insert_child(&mut self, parent: u32, byte: u8) -> u32 {
        let child = match self.free.pop() {
            Some(index) => {
                *self.node_mut(index) = Node::new(parent, byte);
                index
            }
            None => {
                let index = u32::try_from(self.nodes.len()).expect("subscription trie over 2^32 nodes");
                self.nodes.push(Node::new(parent, byte));
                index
            }
        };
        let node = self.node_mut(parent);
        if node.children.is_empty() {
            node.min = byte;
            node.children.push(child);
        } else if byte < node.min {
            let shift = usize::from(node.min - byte);
            node.children.splice(0..0, std::iter::repeat_n(NIL, shift));
            node.min = byte;
            node.children[0] = child;
        } else {
            let slot = usize::from(byte - node.min);
            if slot >= node.children.len() {
                node.children.resize(slot + 1, NIL);
            }
            node.children[slot] = child;
        }
        node.live += 1;
        child
    }

    /// Clears the table entry for `byte` (the table is trimmed separately).
    fn unlink(&mut self, parent: u32, byte: u8) {
        let node = self.node_mut(parent);
        node.children[usize::from(byte - node.min)] = NIL;
        node.live -= 1;
    }

    /// Drops NIL entries at both ends of a node's table (the whole table when it has none).
    fn trim(&mut self, index: u32) {
        let node = self.node_mut(index);
        if node.live == 0 {
            node.children = Vec::new();
            return;
        }
        let last = node.children.iter().rposition(|&c| c != NIL).unwrap_or(0);
        node.children.truncate(last + 1);
        let first = node.children.iter().position(|&c| c != NIL).unwrap_or(0);
        if first > 0 {
            node.children.drain(..first);
            node.min += first as u8;
        }
    }

    fn release(&mut self, index: u32) {
        let node = self.node_mut(index);
        node.children = Vec::new();
        node.value = V::default();
        self.free.push(index);
    }

    /// Frees `index` and then its ancestors while they hold nothing and have no child.
    fn prune(&mut self, mut index: u32) {
        while index != ROOT {
            let node = self.node(index);
            if !node.value.is_empty() || node.live > 0 {
                return;
            }
            let (parent, byte) = (node.parent, node.byte);
            self.release(index);
            self.unlink(parent, byte);
            self.trim(parent);
            index = parent;
        }
    }

    /// Calls `f` with the value of every node on the path of `data` (the root first), as long
    /// as the path exists. `f` returns false to stop early.
    #[inline]
    fn walk(&self, data: &[u8], mut f: impl FnMut(&V) -> bool) {
        let mut index = ROOT;
        let mut rest = data;
        loop {
            let node = self.node(index);
            if !node.value.is_empty() && !f(&node.value) {
                return;
            }
            let Some((&byte, tail)) = rest.split_first() else { return };
            index = self.child(index, byte);
            if index == NIL {
                return;
            }
            rest = tail;
        }
    }

    /// Visits every node in prefix order with its prefix (iteratively).
    fn for_each(&self, mut f: impl FnMut(&[u8], &V)) {
        let mut prefix = Vec::new();
        let mut stack: Vec<(u32, usize)> = vec![(ROOT, 0)];
        f(&prefix, &self.node(ROOT).value);
        while let Some(top) = stack.last_mut() {
            let node = self.node(top.0);
            match node.children[top.1..].iter().position(|&c| c != NIL) {
                Some(offset) => {
                    let slot = top.1 + offset;
                    top.1 = slot + 1;
                    let child = node.children[slot];
                    prefix.push(node.min + slot as u8);
                    f(&prefix, &self.node(child).value);
                    stack.push((child, 0));
                }
                None => {
                    stack.pop();
                    prefix.pop();
                }
            }
        }
    }

    /// Lets `f` change every node's value (prefix order), then frees the nodes left empty.
    fn update_all(&mut self, mut f: impl FnMut(&[u8], &mut V)) {
        let mut prefix = Vec::new();
        let mut stack: Vec<(u32, usize)> = vec![(ROOT, 0)];
        f(&prefix, &mut self.node_mut(ROOT).value);
        while let Some(top) = stack.last_mut() {
            let index = top.0;
            let node = &self.nodes[index as usize];
            match node.children[top.1..].iter().position(|&c| c != NIL) {
                Some(offset) => {
                    let slot = top.1 + offset;
                    top.1 = slot + 1;
                    let child = node.children[slot];
                    prefix.push(node.min + slot as u8);
                    f(&prefix, &mut self.node_mut(child).value);
                    stack.push((child, 0));
                }
                None => {
                    // Post-order: every child is done, so the table may change now.
                    stack.pop();
                    self.trim(index);
                    if index != ROOT {
                        prefix.pop();
                        let node = self.node(index);
                        if node.value.is_empty() && node.live == 0 {
                            let (parent, byte) = (node.parent, node.byte);
                            self.release(index);
                            // The parent's table is trimmed when the parent is finished.
                            self.unlink(parent, byte);
                        }
                    }
                }
            }
        }
    }

    /// Nodes in use, the root included.
    fn node_count(&self) -> usize {
        self.nodes.len() - self.free.len()
    }
}

/// Counted prefix subscriptions (libzmq's `trie_t`), as a SUB or XSUB socket keeps them.
///
/// ```
/// use rustzmq_patterns::Trie;
/// let mut trie = Trie::new();
/// assert!(trie.add(b"weather."));
/// assert!(!trie.add(b"weather.")); // the second subscription of the same prefix
/// assert!(trie.check(b"weather.paris 21C"));
/// assert!(!trie.rm(b"weather.")); // one subscription remains
/// assert!(trie.rm(b"weather."));
/// assert!(!trie.check(b"weather.paris 21C"));
/// ```
#[derive(Debug, Clone)]
pub struct Trie {
    tree: Tree<u32>,
    /// Distinct prefixes subscribed.
    len: usize,
}

impl Default for Trie {
    fn default() -> Self {
        Trie::new()
    }
}

impl Trie {
    /// An empty trie.
    pub fn new() -> Trie {
        Trie { tree: Tree::new(), len: 0 }
    }

    /// Adds one subscription to `prefix`. Returns true when it is the first one (the prefix
    /// was not subscribed before).
    pub fn add(&mut self, prefix: &[u8]) -> bool {
        let index = self.tree.find_or_insert(prefix);
        let count = &mut self.tree.node_mut(index).value;
        *count += 1;
        if *count == 1 {
            self.len += 1;
            true
        } else {
            false
        }
    }

    /// Removes one subscription to `prefix`. Returns true when it was the last one; false when
    /// others remain or the prefix was not subscribed.
    pub fn rm(&mut self, prefix: &[u8]) -> bool {
        let Some(index) = self.tree.find(prefix) else { return false };
        let count = &mut self.tree.node_mut(index).value;
        if *count == 0 {
            return false;
        }
        *count -= 1;
        if *count > 0 {
            return false;
        }
        self.len -= 1;
        self.tree.prune(index);
        true
    }

    /// Whether `data` starts with a subscribed prefix.
    #[inline]
    pub fn check(&self, data: &[u8]) -> bool {
        let mut found = false;
        self.tree.walk(data, |_| {
            found = true;
            false
        });
        found
    }

    /// Calls `f` once for each subscribed prefix (whatever its count), in byte order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        self.tree.for_each(|prefix, &count| {
            if count > 0 {
                f(prefix)
            }
        });
    }

    /// The number of distinct prefixes subscribed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is subscribed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Trie nodes in use (memory accounting and tests).
    pub fn node_count(&self) -> usize {
        self.tree.node_count()
    }
}

/// What [`MultiTrie::rm`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RmResult {
    /// Nobody was subscribed to the prefix.
    NotFound,
    /// The subscriber was the last one on the prefix.
    LastValueRemoved,
    /// Others are still subscribed to the prefix (whether or not this subscriber was).
    ValuesRemain,
}

/// Prefixes mapped to the set of subscribers holding them (libzmq's `mtrie_t`), as a PUB or
/// XPUB socket keeps them. A subscriber is any small `Copy` key (a pipe handle).
///
/// ```
/// use rustzmq_patterns::{MultiTrie, RmResult};
/// let mut trie = MultiTrie::new();
/// assert!(trie.add(b"a", 1u32)); // the first subscriber of "a"
/// assert!(!trie.add(b"a", 2u32));
/// trie.add(b"ab", 3u32);
/// let mut hit = Vec::new();
/// trie.match_prefixes(b"abc", |key| hit.push(key));
/// assert_eq!(hit, [1, 2, 3]);
/// assert_eq!(trie.rm(b"a", 1), RmResult::ValuesRemain);
/// assert_eq!(trie.rm(b"a", 2), RmResult::LastValueRemoved);
/// assert_eq!(trie.rm(b"a", 2), RmResult::NotFound);
/// ```
#[derive(Debug, Clone)]
pub struct MultiTrie<K> {
    tree: Tree<Vec<K>>,
    /// Prefixes with at least one subscriber.
    len: usize,
}

impl<K: Copy + Ord> Default for MultiTrie<K> {
    fn default() -> Self {
        MultiTrie::new()
    }
}

impl<K: Copy + Ord> MultiTrie<K> {
    /// An empty trie.
    pub fn new() -> MultiTrie<K> {
        MultiTrie { tree: Tree::new(), len: 0 }
    }

    /// Subscribes `key` to `prefix` (a key holds a prefix once, however often it subscribes).
    /// Returns true when nobody was subscribed to the prefix before.
    pub fn add(&mut self, prefix: &[u8], key: K) -> bool {
        let index = self.tree.find_or_insert(prefix);
        let keys = &mut self.tree.node_mut(index).value;
        let first = keys.is_empty();
        if let Err(at) = keys.binary_search(&key) {
            keys.insert(at, key);
        }
        if first {
            self.len += 1;
        }
        first
    }

    /// Unsubscribes `key` from `prefix`. Like libzmq, a prefix others still hold reports
    /// [`RmResult::ValuesRemain`] even if `key` did not hold it.
    pub fn rm(&mut self, prefix: &[u8], key: K) -> RmResult {
        let Some(index) = self.tree.find(prefix) else { return RmResult::NotFound };
        let keys = &mut self.tree.node_mut(index).value;
        if keys.is_empty() {
            return RmResult::NotFound;
        }
        if let Ok(at) = keys.binary_search(&key) {
            keys.remove(at);
        }
        if !keys.is_empty() {
            return RmResult::ValuesRemain;
        }
        self.len -= 1;
        self.tree.prune(index);
        RmResult::LastValueRemoved
    }

    /// Removes `key` from every prefix. `f` is called with each prefix `key` held: all of them,
    /// or with `only_last` only those it was the last subscriber of.
    pub fn rm_key(&mut self, key: K, only_last: bool, mut f: impl FnMut(&[u8])) {
        let mut emptied = 0;
        self.tree.update_all(|prefix, keys| {
            if let Ok(at) = keys.binary_search(&key) {
                keys.remove(at);
                if keys.is_empty() {
                    emptied += 1;
                }
                if !only_last || keys.is_empty() {
                    f(prefix);
                }
            }
        });
        self.len -= emptied;
    }

    /// Calls `f` for each subscriber of each prefix of `data` (shortest prefix first; a key
    /// holding several matching prefixes is reported for each).
    #[inline]
    pub fn match_prefixes(&self, data: &[u8], mut f: impl FnMut(K)) {
        self.tree.walk(data, |keys| {
            keys.iter().for_each(|&key| f(key));
            true
        });
    }

    /// Calls `f` with each prefix and its subscribers, in byte order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &[K])) {
        self.tree.for_each(|prefix, keys| {
            if !keys.is_empty() {
                f(prefix, keys)
            }
        });
    }

    /// The number of prefixes with at least one subscriber.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nobody is subscribed to anything.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Trie nodes in use (memory accounting and tests).
    pub fn node_count(&self) -> usize {
        self.tree.node_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes(trie: &Trie) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        trie.for_each(|p| out.push(p.to_vec()));
        out
    }

    #[test]
    fn counts_and_prefix_matching() {
        let mut trie = Trie::new();
        assert!(!trie.check(b""));
        assert!(trie.add(b"abc"));
        assert!(!trie.add(b"abc"));
        assert!(trie.add(b"b"));
        assert!(trie.check(b"abc"));
        assert!(trie.check(b"abcdef"));
        assert!(!trie.check(b"ab"));
        assert!(trie.check(b"bz"));
        assert!(!trie.check(b"c"));
        assert_eq!(trie.len(), 2);
        assert!(!trie.rm(b"abc"));
        assert!(trie.check(b"abc"));
        assert!(trie.rm(b"abc"));
        assert!(!trie.check(b"abc"));
        assert!(!trie.rm(b"abc"), "not subscribed any more");
        assert!(!trie.rm(b"zzz"), "never subscribed");
        assert!(!trie.rm(b"a"), "an inner node without a subscription");
        assert!(trie.rm(b"b"));
        assert!(trie.is_empty());
        assert_eq!(trie.node_count(), 1, "everything pruned but the root");
    }

    #[test]
    fn empty_prefix_matches_everything() {
        let mut trie = Trie::new();
        assert!(trie.add(b""));
        assert!(trie.check(b""));
        assert!(trie.check(b"\x00\xffanything"));
        assert_eq!(prefixes(&trie), vec![Vec::<u8>::new()]);
        assert!(trie.rm(b""));
        assert!(!trie.check(b"x"));
    }

    #[test]
    fn tables_grow_both_ways_and_shrink() {
        let mut trie = Trie::new();
        for byte in [b'm', b'a', b'z', 0, 255] {
            trie.add(&[byte, 1]);
        }
        assert_eq!(prefixes(&trie), vec![vec![0, 1], vec![b'a', 1], vec![b'm', 1], vec![b'z', 1], vec![255, 1]]);
        for byte in [0, 255, b'm'] {
            assert!(trie.rm(&[byte, 1]));
        }
        assert_eq!(trie.tree.node(ROOT).children.len(), usize::from(b'z' - b'a') + 1);
        assert!(trie.check(b"a\x01") && trie.check(b"z\x01") && !trie.check(b"m\x01"));
        trie.add(b"");
        assert_eq!(prefixes(&trie), vec![vec![], vec![b'a', 1], vec![b'z', 1]]);
    }

    #[test]
    fn very_long_prefix_needs_no_recursion() {
        let long = vec![7u8; 200_000];
        let mut trie = Trie::new();
        trie.add(&long);
        assert!(trie.check(&long));
        assert!(!trie.check(&long[..long.len() - 1]));
        let mut seen = 0;
        trie.for_each(|p| seen += p.len());
        assert_eq!(seen, long.len());
        let mut multi = MultiTrie::new();
        multi.add(&long, 1u32);
        multi.rm_key(1, true, |_| {});
        assert_eq!(multi.node_count(), 1);
        multi.add(&long, 2u32);
        drop(multi);
        trie.rm(&long);
        assert_eq!(trie.node_count(), 1);
    }

    #[test]
    fn multi_trie_sets_and_rm_results() {
        let mut trie = MultiTrie::new();
        assert!(trie.add(b"", 9u32));
        assert!(trie.add(b"ab", 1));
        assert!(!trie.add(b"ab", 1), "a key holds a prefix once");
        assert!(!trie.add(b"ab", 2));
        trie.add(b"abc", 1);
        let mut hit = Vec::new();
        trie.match_prefixes(b"abcd", |k| hit.push(k));
        assert_eq!(hit, [9, 1, 2, 1]);
        hit.clear();
        trie.match_prefixes(b"a", |k| hit.push(k));
        assert_eq!(hit, [9]);
        assert_eq!(trie.rm(b"ab", 3), RmResult::ValuesRemain, "as libzmq: others remain");
        assert_eq!(trie.rm(b"zz", 3), RmResult::NotFound);
        assert_eq!(trie.rm(b"a", 3), RmResult::NotFound, "inner node");
        assert_eq!(trie.rm(b"ab", 1), RmResult::ValuesRemain);
        assert_eq!(trie.rm(b"ab", 2), RmResult::LastValueRemoved);
        assert_eq!(trie.len(), 2);
    }

    #[test]
    fn rm_key_reports_prefixes_and_prunes() {
        let mut trie = MultiTrie::new();
        trie.add(b"a", 1u32);
        trie.add(b"a", 2);
        trie.add(b"ab", 1);
        trie.add(b"b", 1);
        trie.add(b"bcd", 2);
        let mut all = Vec::new();
        trie.clone().rm_key(1, false, |p| all.push(p.to_vec()));
        assert_eq!(all, vec![b"a".to_vec(), b"ab".to_vec(), b"b".to_vec()]);
        let mut last = Vec::new();
        trie.rm_key(1, true, |p| last.push(p.to_vec()));
        assert_eq!(last, vec![b"ab".to_vec(), b"b".to_vec()]);
        assert_eq!(trie.len(), 2);
        let mut left = Vec::new();
        trie.for_each(|p, keys| left.push((p.to_vec(), keys.to_vec())));
        assert_eq!(left, vec![(b"a".to_vec(), vec![2]), (b"bcd".to_vec(), vec![2])]);
        // "a", "b", "bc", "bcd" and the root.
        assert_eq!(trie.node_count(), 5);
        trie.rm_key(2, true, |_| {});
        assert!(trie.is_empty());
        assert_eq!(trie.node_count(), 1);
    }

    #[test]
    fn freed_nodes_are_reused() {
        let mut trie = Trie::new();
        for round in 0..3 {
            for i in 0..1000u32 {
                trie.add(format!("topic.{i}").as_bytes());
            }
            let peak = trie.tree.nodes.len();
            for i in 0..1000u32 {
                assert!(trie.rm(format!("topic.{i}").as_bytes()));
            }
            assert_eq!(trie.node_count(), 1, "round {round}");
            assert!(trie.tree.nodes.len() <= peak);
        }
    }

    /// A model check against a plain list of subscriptions.
    #[test]
    fn matches_a_naive_model() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut trie = MultiTrie::new();
        let mut model: Vec<(Vec<u8>, u32)> = Vec::new();
        for _ in 0..5000 {
            let len = (next() % 4) as usize;
            let prefix: Vec<u8> = (0..len).map(|_| b"ab\x00\xff"[(next() % 4) as usize]).collect();
            let key = (next() % 5) as u32;
            match next() % 3 {
                0 | 1 => {
                    trie.add(&prefix, key);
                    if !model.contains(&(prefix.clone(), key)) {
                        model.push((prefix, key));
                    }
                }
                _ => {
                    trie.rm(&prefix, key);
                    model.retain(|e| *e != (prefix.clone(), key));
                }
            }
            let data: Vec<u8> = (0..(next() % 6)).map(|_| b"ab\x00\xff"[(next() % 4) as usize]).collect();
            let mut got = Vec::new();
            trie.match_prefixes(&data, |k| got.push(k));
            got.sort_unstable();
            let mut want: Vec<u32> = model.iter().filter(|(p, _)| data.starts_with(p)).map(|e| e.1).collect();
            want.sort_unstable();
            assert_eq!(got, want, "data {data:?}");
        }
    }
}
