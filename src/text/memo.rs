//! Bounded per-thread memos: the readings of words, the analyses of texts and the rule findings
//! that a check and every pass of a rewrite ask for again. A memo is emptied when it is full (a
//! long-running server meets an unbounded vocabulary) and hashes with foldhash.
//!
//! ```
//! use sufler::text::memo::Memo;
//! thread_local! { static LENGTHS: Memo<String, usize> = Memo::new(2); }
//! let len = |s: &str| LENGTHS.with(|m| m.get_or_insert_with(s, || s.to_string(), || s.chars().count()));
//! assert_eq!(len("привет"), 6);
//! assert_eq!(len("привет"), 6);
//! ```

use std::borrow::Borrow;
use std::cell::RefCell;
use std::hash::Hash;

/// A map of at most `capacity` entries, emptied when full.
pub struct Memo<K, V> {
    map: RefCell<foldhash::HashMap<K, V>>,
    capacity: usize,
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    /// An empty memo that keeps at most `capacity` entries.
    pub fn new(capacity: usize) -> Memo<K, V> {
        Memo { map: RefCell::default(), capacity }
    }

    /// The value stored for `key`.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.map.borrow().get(key).cloned()
    }

    /// Stores `value` for `key`, emptying the memo first when it is full.
    pub fn insert(&self, key: K, value: V) {
        let mut map = self.map.borrow_mut();
        if map.len() >= self.capacity && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, value);
    }

    /// The value for `key`; on a miss `compute` makes it and it is stored under `owned()`. The
    /// memo is not borrowed while `compute` runs, so `compute` may ask it again.
    pub fn get_or_insert_with<Q: Hash + Eq + ?Sized>(
        &self,
        key: &Q,
        owned: impl FnOnce() -> K,
        compute: impl FnOnce() -> V,
    ) -> V
    where
        K: Borrow<Q>,
    {
        if let Some(hit) = self.get(key) {
            return hit;
        }
        let value = compute();
        self.insert(owned(), value.clone());
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_memo_is_emptied_and_a_nested_ask_does_not_panic() {
        let memo: Memo<u32, u32> = Memo::new(2);
        memo.insert(1, 10);
        memo.insert(2, 20);
        memo.insert(2, 21); // replacing keeps the others
        assert_eq!((memo.get(&1), memo.get(&2)), (Some(10), Some(21)));
        memo.insert(3, 30);
        assert_eq!((memo.get(&1), memo.get(&3)), (None, Some(30)));
        let nested = memo.get_or_insert_with(&4, || 4, || memo.get_or_insert_with(&5, || 5, || 50) + 1);
        assert_eq!((nested, memo.get(&4)), (51, Some(51)));
    }
}
