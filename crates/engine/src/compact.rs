//! Compact storage for what a hunt keeps: each rule's facts, and the join
//! key tuples all rules share.
//!
//! A hunt over a million events keeps a few million facts and hundreds of
//! thousands of key tuples (a correlation rule keyed by addresses sees a new
//! tuple in nearly every event), so their layout decides the hunt's memory.
//!
//! - [`FactStore`]: facts arrive in event order, so consecutive facts differ
//!   little: event numbers by one or a few, times by milliseconds, masks and
//!   key ids hardly at all. Every full chunk of [`CHUNK`] facts is stored as
//!   variable-length deltas (about 8 bytes a fact instead of 24); the last,
//!   partly filled chunk stays plain and grows as a `Vec` does, so a rule
//!   with three facts holds three. The executor reads a rule's facts back
//!   as one plain vector, for the time it runs that rule.
//! - [`TupleSet`]: each distinct tuple is written once, as bytes, into one
//!   buffer (one byte of kind, then the value), and found again through a
//!   hash table of tuple numbers. Equal tuples have equal bytes, so the
//!   bytes are hashed and compared as they are.

use harrier_eql::eval::KeyVal;
use std::net::IpAddr;

/// One rule's facts about one event: 24 bytes plain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fact {
    /// Nanoseconds since the epoch, or one of the collector's sentinels.
    pub ts: i64,
    pub event: u64,
    pub mask: u32,
    /// A key tuple id with a flag, a key-list id, or a sentinel (see the collector).
    pub keys: u32,
}

/// Facts per encoded chunk.
pub(crate) const CHUNK: usize = 1 << 14;

/// A rule's facts, in the order they were added (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct FactStore {
    sealed: Vec<Box<[u8]>>,
    open: Vec<Fact>,
    /// The union of the facts' masks.
    masks: u32,
}

impl FactStore {
    pub fn push(&mut self, f: Fact) {
        self.masks |= f.mask;
        self.open.push(f);
        if self.open.len() == CHUNK {
            self.sealed.push(encode(&self.open));
            self.open.clear();
        }
    }

    pub fn len(&self) -> usize {
        self.sealed.len() * CHUNK + self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.open.is_empty()
    }

    /// Bit `i`: some fact matches filter `i`.
    pub fn masks(&self) -> u32 {
        self.masks
    }

    /// Every fact, in order.
    pub fn to_vec(&self) -> Vec<Fact> {
        let mut out = Vec::with_capacity(self.len());
        for chunk in &self.sealed {
            decode(chunk, &mut out);
        }
        out.extend_from_slice(&self.open);
        out
    }

    /// Replaces the facts by `facts`.
    pub fn replace(&mut self, facts: Vec<Fact>) {
        self.sealed.clear();
        self.open = Vec::new();
        self.masks = 0;
        for f in facts {
            self.push(f);
        }
    }

    /// Bytes held (encoded chunks and the plain one's capacity).
    pub fn held_bytes(&self) -> usize {
        self.sealed.iter().map(|c| c.len()).sum::<usize>()
            + self.open.capacity() * std::mem::size_of::<Fact>()
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Each field as the wrapping difference from the previous fact's, zigzag
/// and varint encoded (wrapping, so sentinels such as `i64::MIN` cost ten
/// bytes but round-trip).
fn encode(facts: &[Fact]) -> Box<[u8]> {
    let mut out = Vec::with_capacity(facts.len() * 8);
    let mut prev = Fact {
        ts: 0,
        event: 0,
        mask: 0,
        keys: 0,
    };
    for f in facts {
        put_varint(&mut out, zigzag(f.ts.wrapping_sub(prev.ts)));
        put_varint(&mut out, zigzag(f.event.wrapping_sub(prev.event) as i64));
        put_varint(&mut out, u64::from(f.mask));
        put_varint(
            &mut out,
            zigzag(i64::from(f.keys.wrapping_sub(prev.keys) as i32)),
        );
        prev = *f;
    }
    out.into_boxed_slice()
}

/// Appends the facts of one [`encode`]d chunk to `out`.
fn decode(bytes: &[u8], out: &mut Vec<Fact>) {
    let mut at = 0;
    let mut prev = Fact {
        ts: 0,
        event: 0,
        mask: 0,
        keys: 0,
    };
    while at < bytes.len() {
        let (Some(ts), Some(event), Some(mask), Some(keys)) = (
            get_varint(bytes, &mut at),
            get_varint(bytes, &mut at),
            get_varint(bytes, &mut at),
            get_varint(bytes, &mut at),
        ) else {
            // the bytes were written by `encode`: not reached
            return;
        };
        let f = Fact {
            ts: prev.ts.wrapping_add(unzigzag(ts)),
            event: prev.event.wrapping_add(unzigzag(event) as u64),
            mask: mask as u32,
            keys: prev.keys.wrapping_add(unzigzag(keys) as i32 as u32),
        };
        out.push(f);
        prev = f;
    }
}

/// Distinct key tuples, numbered from 0 in order of first sight (see the
/// module documentation).
#[derive(Default)]
pub(crate) struct TupleSet {
    /// Pages of about [`PAGE`] bytes, each allocated once at its full size
    /// (a growing buffer would hold up to twice what it needs); in them,
    /// each tuple is its encoded length, then its encoding.
    pages: Vec<Vec<u8>>,
    /// Where each tuple starts: page and offset.
    starts: Vec<(u32, u32)>,
    table: hashbrown::HashTable<u32>,
    hasher: ahash::RandomState,
    scratch: Vec<u8>,
}

const PAGE: usize = 1 << 20;

impl TupleSet {
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    fn slice<'a>(pages: &'a [Vec<u8>], starts: &[(u32, u32)], id: u32) -> Option<&'a [u8]> {
        let &(page, start) = starts.get(id as usize)?;
        let page = pages.get(page as usize)?;
        let mut at = start as usize;
        let len = usize::try_from(get_varint(page, &mut at)?).ok()?;
        page.get(at..at.checked_add(len)?)
    }

    /// The id of `tuple`, adding it when new.
    pub fn id(&mut self, tuple: &[KeyVal]) -> u32 {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        for v in tuple {
            encode_key(v, &mut scratch);
        }
        let hash = self.hasher.hash_one(&scratch[..]);
        let (pages, starts) = (&self.pages, &self.starts);
        let found = self
            .table
            .find(hash, |&id| {
                Self::slice(pages, starts, id) == Some(&scratch[..])
            })
            .copied();
        let id = match found {
            Some(id) => id,
            None => {
                let id = self.starts.len() as u32;
                let need = scratch.len() + 10;
                if self
                    .pages
                    .last()
                    .is_none_or(|p| p.capacity() - p.len() < need)
                {
                    self.pages.push(Vec::with_capacity(PAGE.max(need)));
                }
                let page_no = self.pages.len() - 1;
                if let Some(page) = self.pages.last_mut() {
                    self.starts.push((page_no as u32, page.len() as u32));
                    put_varint(page, scratch.len() as u64);
                    page.extend_from_slice(&scratch);
                }
                let (pages, starts, hasher) = (&self.pages, &self.starts, &self.hasher);
                self.table.insert_unique(hash, id, |&other| {
                    hasher.hash_one(Self::slice(pages, starts, other).unwrap_or_default())
                });
                id
            }
        };
        self.scratch = scratch;
        id
    }

    /// The values of tuple `id` (empty for an unknown id).
    pub fn get(&self, id: u32) -> Vec<KeyVal> {
        let mut out = Vec::new();
        if let Some(mut bytes) = Self::slice(&self.pages, &self.starts, id) {
            while let Some((v, rest)) = decode_key(bytes) {
                out.push(v);
                bytes = rest;
            }
        }
        out
    }

    /// Bytes held.
    pub fn held_bytes(&self) -> usize {
        self.pages.iter().map(Vec::capacity).sum::<usize>()
            + self.starts.capacity() * 8
            + self.table.capacity() * 5
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// One value: a kind byte, then the value's bytes. The encoding of a value
/// is unique, so equal tuples have equal encodings.
fn encode_key(v: &KeyVal, out: &mut Vec<u8>) {
    match v {
        KeyVal::Null => out.push(0),
        KeyVal::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
        KeyVal::Long(x) => {
            out.push(2);
            out.extend_from_slice(&x.to_le_bytes());
        }
        KeyVal::Double(x) => {
            out.push(3);
            out.extend_from_slice(&x.to_le_bytes());
        }
        KeyVal::Str(s) => {
            out.push(4);
            put_str(out, s);
        }
        KeyVal::Date(t, nanos) => {
            out.push(5);
            out.extend_from_slice(&t.to_le_bytes());
            out.push(u8::from(*nanos));
        }
        KeyVal::Ip(IpAddr::V4(a)) => {
            out.push(6);
            out.extend_from_slice(&a.octets());
        }
        KeyVal::Ip(IpAddr::V6(a)) => {
            out.push(7);
            out.extend_from_slice(&a.octets());
        }
        KeyVal::Version(s) => {
            out.push(8);
            put_str(out, s);
        }
    }
}

fn take<const N: usize>(bytes: &[u8]) -> Option<([u8; N], &[u8])> {
    let head = bytes.get(..N)?.try_into().ok()?;
    Some((head, bytes.get(N..)?))
}

fn take_str(bytes: &[u8]) -> Option<(Box<str>, &[u8])> {
    let mut at = 0;
    let len = usize::try_from(get_varint(bytes, &mut at)?).ok()?;
    let s = std::str::from_utf8(bytes.get(at..at.checked_add(len)?)?).ok()?;
    Some((s.into(), bytes.get(at + len..)?))
}

/// The first value of `bytes` and what follows it.
fn decode_key(bytes: &[u8]) -> Option<(KeyVal, &[u8])> {
    let (&kind, rest) = bytes.split_first()?;
    Some(match kind {
        0 => (KeyVal::Null, rest),
        1 => {
            let ([b], rest) = take::<1>(rest)?;
            (KeyVal::Bool(b != 0), rest)
        }
        2 => {
            let (b, rest) = take::<8>(rest)?;
            (KeyVal::Long(i64::from_le_bytes(b)), rest)
        }
        3 => {
            let (b, rest) = take::<8>(rest)?;
            (KeyVal::Double(i64::from_le_bytes(b)), rest)
        }
        4 => {
            let (s, rest) = take_str(rest)?;
            (KeyVal::Str(s), rest)
        }
        5 => {
            let (b, rest) = take::<16>(rest)?;
            let ([n], rest) = take::<1>(rest)?;
            (KeyVal::Date(i128::from_le_bytes(b), n != 0), rest)
        }
        6 => {
            let (b, rest) = take::<4>(rest)?;
            (KeyVal::Ip(IpAddr::from(b)), rest)
        }
        7 => {
            let (b, rest) = take::<16>(rest)?;
            (KeyVal::Ip(IpAddr::from(b)), rest)
        }
        8 => {
            let (s, rest) = take_str(rest)?;
            (KeyVal::Version(s), rest)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fact() -> impl Strategy<Value = Fact> {
        (
            prop_oneof![any::<i64>(), Just(i64::MAX), Just(i64::MIN), 0i64..1 << 50],
            any::<u64>(),
            any::<u32>(),
            prop_oneof![
                any::<u32>(),
                Just(u32::MAX),
                0u32..100,
                (0u32..100).prop_map(|k| k | 1 << 31)
            ],
        )
            .prop_map(|(ts, event, mask, keys)| Fact {
                ts,
                event,
                mask,
                keys,
            })
    }

    fn key() -> impl Strategy<Value = KeyVal> {
        prop_oneof![
            Just(KeyVal::Null),
            any::<bool>().prop_map(KeyVal::Bool),
            any::<i64>().prop_map(KeyVal::Long),
            any::<i64>().prop_map(KeyVal::Double),
            ".{0,40}".prop_map(|s| KeyVal::Str(s.into())),
            (any::<i128>(), any::<bool>()).prop_map(|(t, n)| KeyVal::Date(t, n)),
            any::<[u8; 4]>().prop_map(|a| KeyVal::Ip(IpAddr::from(a))),
            any::<[u8; 16]>().prop_map(|a| KeyVal::Ip(IpAddr::from(a))),
            "[0-9.]{0,12}".prop_map(|s| KeyVal::Version(s.into())),
        ]
    }

    proptest! {
        #[test]
        fn fact_store_gives_back_what_was_pushed(facts in prop::collection::vec(fact(), 0..40_000)) {
            let mut store = FactStore::default();
            for &f in &facts {
                store.push(f);
            }
            prop_assert_eq!(store.len(), facts.len());
            prop_assert_eq!(store.to_vec(), facts.clone());
            prop_assert_eq!(store.masks(), facts.iter().fold(0, |m, f| m | f.mask));
            let half: Vec<Fact> = facts.iter().copied().step_by(2).collect();
            store.replace(half.clone());
            prop_assert_eq!(store.masks(), half.iter().fold(0, |m, f| m | f.mask));
            prop_assert_eq!(store.to_vec(), half);
        }

        #[test]
        fn tuple_ids_are_equal_exactly_for_equal_tuples(
            tuples in prop::collection::vec(prop::collection::vec(key(), 0..4), 1..60),
            picks in prop::collection::vec(any::<prop::sample::Index>(), 0..120),
        ) {
            let mut set = TupleSet::default();
            let ids: Vec<u32> = tuples.iter().map(|t| set.id(t)).collect();
            for (t, &id) in tuples.iter().zip(&ids) {
                prop_assert_eq!(&set.get(id), t);
            }
            for p in picks {
                let i = p.index(tuples.len());
                prop_assert_eq!(set.id(&tuples[i]), ids[i]);
            }
            for (a, ta) in ids.iter().zip(&tuples) {
                for (b, tb) in ids.iter().zip(&tuples) {
                    prop_assert_eq!(a == b, ta == tb);
                }
            }
        }
    }

    #[test]
    fn sequential_facts_encode_to_a_third_of_their_plain_size() {
        let facts: Vec<Fact> = (0..CHUNK as u64)
            .map(|n| Fact {
                ts: 1_700_000_000_000_000_000 + n as i64 * 7_000_000,
                event: n * 3,
                mask: 1,
                keys: (n % 50) as u32 | 1 << 31,
            })
            .collect();
        let plain = facts.len() * std::mem::size_of::<Fact>();
        let encoded = encode(&facts).len();
        assert!(encoded * 3 <= plain, "{encoded} bytes for {plain} plain");
    }
}
