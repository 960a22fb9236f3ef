//! [`Interner`]: values to dense `u32` ids, in order of first appearance, with a cap.
//!
//! Indexes over captures store a 4-byte id instead of an address, a stack profile or a
//! signature string, and keep each distinct value once. The values come from captures, so
//! the map uses the per-process seeded hasher ([`super::hashing`]) and the number of
//! distinct values is capped: past the cap a new value gets no id, and the refusal is
//! counted for the caller's report.

use super::hashing::HashMap;
use std::borrow::Borrow;
use std::hash::Hash;

/// Dense ids for distinct values, at most `cap` of them. Each value is held twice (map key
/// and list entry): intern small values, or values that are few.
#[derive(Debug, Clone)]
pub struct Interner<T> {
    ids: HashMap<T, u32>,
    values: Vec<T>,
    cap: u32,
    refused: u64,
}

impl<T: Hash + Eq + Clone> Interner<T> {
    /// An empty interner that gives out at most `cap` ids (`0..cap`).
    pub fn with_cap(cap: u32) -> Self {
        Interner {
            ids: HashMap::default(),
            values: Vec::new(),
            cap,
            refused: 0,
        }
    }

    /// The id of `value`, assigned on first sight; `None` (counted) when `value` is new
    /// and the interner already holds its cap.
    pub fn id<Q>(&mut self, value: &Q) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = T> + ?Sized,
    {
        if let Some(&id) = self.ids.get(value) {
            return Some(id);
        }
        let id = u32::try_from(self.values.len())
            .ok()
            .filter(|&id| id < self.cap);
        let Some(id) = id else {
            self.refused += 1;
            return None;
        };
        let owned = value.to_owned();
        self.values.push(owned.clone());
        self.ids.insert(owned, id);
        Some(id)
    }

    /// The id of `value` if it was interned (never assigns one).
    pub fn get_id<Q>(&self, value: &Q) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.ids.get(value).copied()
    }

    /// The value of an id.
    pub fn value(&self, id: u32) -> Option<&T> {
        self.values.get(id as usize)
    }

    /// Distinct values interned.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value was interned.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// New values refused because the cap was reached.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// The values in id order, when lookups by value are no longer needed.
    pub fn into_values(self) -> Vec<T> {
        self.values
    }

    /// Approximate heap bytes: the list, the map's table and what each value owns beyond
    /// its inline size (`owned(value)`, e.g. a string's capacity), counted twice.
    pub fn memory_bytes(&self, owned: impl Fn(&T) -> usize) -> u64 {
        let inline = std::mem::size_of::<T>();
        let list = self.values.capacity() * inline;
        // A hashbrown slot is the entry plus one control byte.
        let map = self.ids.capacity() * (std::mem::size_of::<(T, u32)>() + 1);
        let heap: usize = self.values.iter().map(&owned).sum();
        (list + map + 2 * heap) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_in_first_seen_order() {
        let mut i: Interner<String> = Interner::with_cap(10);
        assert_eq!(i.id("b"), Some(0));
        assert_eq!(i.id("a"), Some(1));
        assert_eq!(i.id("b"), Some(0));
        assert_eq!(i.get_id("a"), Some(1));
        assert_eq!(i.get_id("c"), None);
        assert_eq!(i.value(1).map(String::as_str), Some("a"));
        assert_eq!(i.len(), 2);
        assert_eq!(i.into_values(), vec!["b".to_string(), "a".to_string()]);
    }

    #[test]
    fn past_the_cap_new_values_are_refused_and_counted() {
        let mut i: Interner<u16> = Interner::with_cap(2);
        assert_eq!((i.id(&7), i.id(&8)), (Some(0), Some(1)));
        assert_eq!(i.id(&9), None);
        assert_eq!(i.id(&10), None);
        // Known values keep their ids.
        assert_eq!(i.id(&8), Some(1));
        assert_eq!((i.len(), i.refused()), (2, 2));
    }
}
