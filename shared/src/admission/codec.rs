//! Reading a yrs v1 update into its parts (the structs each client inserted,
//! and the delete set), and writing parts back as an update.
//!
//! yrs keeps an update's blocks private, and deciding on an update means
//! looking at every one of them, so this reads the same bytes with yrs's own
//! primitives ([`DecoderV1`], [`ItemContent::decode`], [`IdSet::decode`]):
//! what is read here is exactly what yrs would integrate.

use std::sync::Arc;

use yrs::block::{ItemContent, BLOCK_GC_REF_NUMBER, BLOCK_SKIP_REF_NUMBER, HAS_ORIGIN};
use yrs::block::{HAS_PARENT_SUB, HAS_RIGHT_ORIGIN};
use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;
use yrs::updates::decoder::{Decoder, DecoderV1};
use yrs::updates::encoder::{Encode, Encoder, EncoderV1};
use yrs::{ClientID, IdSet, ID};

/// Where an item says it lives when it has no origin to inherit it from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParentRef {
    /// A named root type ("actions").
    Root(Arc<str>),
    /// The type held by the item with this id.
    Item(ID),
}

/// One inserted item.
#[derive(Debug, Clone)]
pub struct ItemStruct {
    /// Its first id.
    pub id: ID,
    /// How many clocks it takes.
    pub len: u32,
    /// The item it was inserted after.
    pub origin: Option<ID>,
    /// The item it was inserted before.
    pub right_origin: Option<ID>,
    /// Its parent, written only when there is no origin to take it from.
    pub parent: Option<ParentRef>,
    /// Its key in a map parent, written with `parent`.
    pub parent_sub: Option<Arc<str>>,
    /// What it holds.
    pub content: ItemContent,
}

/// One struct of an update.
#[derive(Debug, Clone)]
pub enum Struct {
    /// Clocks whose content was collected (or refused): occupies clocks,
    /// holds nothing.
    Gc {
        /// The first id.
        id: ID,
        /// How many clocks.
        len: u32,
    },
    /// Clocks this update does not carry.
    Skip {
        /// The first id.
        id: ID,
        /// How many clocks.
        len: u32,
    },
    /// An inserted item.
    Item(ItemStruct),
}

impl Struct {
    /// Its first id.
    pub fn id(&self) -> ID {
        match self {
            Struct::Gc { id, .. } | Struct::Skip { id, .. } => *id,
            Struct::Item(item) => item.id,
        }
    }

    /// How many clocks it takes.
    pub fn len(&self) -> u32 {
        match self {
            Struct::Gc { len, .. } | Struct::Skip { len, .. } => *len,
            Struct::Item(item) => item.len,
        }
    }

    /// Whether it takes no clocks (never, once read).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An update, read.
#[derive(Debug, Clone, Default)]
pub struct DecodedUpdate {
    /// Every struct, per client in the order written, clocks increasing.
    pub structs: Vec<Struct>,
    /// What it deletes.
    pub deletes: IdSet,
}

/// Why an update could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed update: {0}")]
pub struct CodecError(pub String);

fn err(e: impl std::fmt::Display) -> CodecError {
    CodecError(e.to_string())
}

/// The largest client id Yjs and yrs use (53 bits).
const MAX_CLIENT: u64 = (1 << 53) - 1;

/// Reads a v1 update.
///
/// # Errors
/// [`CodecError`] when the bytes are not a whole update (trailing bytes
/// included), or name a client id over 53 bits.
pub fn decode(bytes: &[u8]) -> Result<DecodedUpdate, CodecError> {
    let mut decoder = DecoderV1::new(Cursor::new(bytes));
    let clients: u32 = decoder.read_var().map_err(err)?;
    let mut structs = Vec::new();
    for _ in 0..clients {
        let count: u32 = decoder.read_var().map_err(err)?;
        let client: u64 = decoder.read_var().map_err(err)?;
        if client > MAX_CLIENT {
            return Err(CodecError(format!("client id {client} is over 53 bits")));
        }
        let client = ClientID::new(client);
        let mut clock: u32 = decoder.read_var().map_err(err)?;
        for _ in 0..count {
            let id = ID::new(client, clock);
            let info = decoder.read_info().map_err(err)?;
            let read = match info {
                BLOCK_SKIP_REF_NUMBER => {
                    let len: u32 = decoder.read_var().map_err(err)?;
                    Some(Struct::Skip { id, len })
                }
                BLOCK_GC_REF_NUMBER => {
                    let len = decoder.read_len().map_err(err)?;
                    Some(Struct::Gc { id, len })
                }
                info => read_item(&mut decoder, id, info)?,
            };
            // yrs drops an item whose content has no length without moving
            // the clock on; so does this.
            if let Some(read) = read {
                if read.is_empty() {
                    return Err(CodecError("an empty block".into()));
                }
                clock = clock
                    .checked_add(read.len())
                    .ok_or_else(|| CodecError("clock overflow".into()))?;
                structs.push(read);
            }
        }
    }
    let deletes = read_deletes(&mut decoder)?;
    match decoder.read_to_end() {
        Ok([]) => Ok(DecodedUpdate { structs, deletes }),
        Ok(_) => Err(CodecError("trailing bytes after the update".into())),
        Err(e) => Err(err(e)),
    }
}

/// The delete set, read as yrs writes it, checking what yrs's own reader
/// does not: client ids over 53 bits and ranges past the end of the clock
/// (`clock + len` over `u32::MAX` overflows in yrs).
fn read_deletes(decoder: &mut DecoderV1<'_>) -> Result<IdSet, CodecError> {
    let mut deletes = IdSet::new();
    let clients: u32 = decoder.read_var().map_err(err)?;
    for _ in 0..clients {
        decoder.reset_ds_cur_val();
        let client: u64 = decoder.read_var().map_err(err)?;
        if client > MAX_CLIENT {
            return Err(CodecError("a delete names a client id over 53 bits".into()));
        }
        let ranges: u32 = decoder.read_var().map_err(err)?;
        for _ in 0..ranges {
            let clock = decoder.read_ds_clock().map_err(err)?;
            let len = decoder.read_ds_len().map_err(err)?;
            if clock.checked_add(len).is_none() {
                return Err(CodecError("a delete range past the last clock".into()));
            }
            if len > 0 {
                deletes.insert(ID::new(ClientID::new(client), clock), len);
            }
        }
    }
    Ok(deletes)
}

fn read_item(decoder: &mut DecoderV1<'_>, id: ID, info: u8) -> Result<Option<Struct>, CodecError> {
    let no_origins = info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0;
    let origin = if info & HAS_ORIGIN != 0 {
        Some(read_id(decoder)?)
    } else {
        None
    };
    let right_origin = if info & HAS_RIGHT_ORIGIN != 0 {
        Some(read_id(decoder)?)
    } else {
        None
    };
    let parent = if no_origins {
        if decoder.read_parent_info().map_err(err)? {
            Some(ParentRef::Root(decoder.read_string().map_err(err)?.into()))
        } else {
            Some(ParentRef::Item(read_id(decoder)?))
        }
    } else {
        None
    };
    let parent_sub = if no_origins && info & HAS_PARENT_SUB != 0 {
        Some(Arc::from(decoder.read_string().map_err(err)?))
    } else {
        None
    };
    let content = ItemContent::decode(decoder, info).map_err(err)?;
    let len = content.len_utf16();
    if len == 0 {
        return Ok(None);
    }
    Ok(Some(Struct::Item(ItemStruct {
        id,
        len,
        origin,
        right_origin,
        parent,
        parent_sub,
        content,
    })))
}

fn read_id(decoder: &mut DecoderV1<'_>) -> Result<ID, CodecError> {
    let client: u64 = decoder.read_var().map_err(err)?;
    if client > MAX_CLIENT {
        return Err(CodecError(format!("client id {client} is over 53 bits")));
    }
    let clock: u32 = decoder.read_var().map_err(err)?;
    Ok(ID::new(ClientID::new(client), clock))
}

/// Writes structs (grouped by client, each group's clocks contiguous and
/// increasing) and a delete set as a v1 update.
pub fn encode(structs: &[Struct], deletes: &IdSet) -> Vec<u8> {
    let mut encoder = EncoderV1::new();
    let mut groups: Vec<&[Struct]> = Vec::new();
    let mut start = 0;
    for i in 1..=structs.len() {
        let split = i == structs.len()
            || structs[i].id().client != structs[i - 1].id().client
            || structs[i].id().clock != structs[i - 1].id().clock + structs[i - 1].len();
        if split {
            groups.push(&structs[start..i]);
            start = i;
        }
    }
    groups.retain(|g| !g.is_empty());
    encoder.write_var(groups.len() as u32);
    for group in groups {
        let first = group[0].id();
        encoder.write_var(group.len() as u32);
        encoder.write_client(first.client);
        encoder.write_var(first.clock);
        for s in group {
            match s {
                Struct::Gc { len, .. } => {
                    encoder.write_info(BLOCK_GC_REF_NUMBER);
                    encoder.write_len(*len);
                }
                Struct::Skip { len, .. } => {
                    encoder.write_info(BLOCK_SKIP_REF_NUMBER);
                    encoder.write_var(*len);
                }
                Struct::Item(item) => write_item(&mut encoder, item),
            }
        }
    }
    deletes.encode(&mut encoder);
    encoder.to_vec()
}

fn write_item(encoder: &mut EncoderV1, item: &ItemStruct) {
    let mut info = item.content.get_ref_number();
    if item.origin.is_some() {
        info |= HAS_ORIGIN;
    }
    if item.right_origin.is_some() {
        info |= HAS_RIGHT_ORIGIN;
    }
    let no_origins = item.origin.is_none() && item.right_origin.is_none();
    if no_origins && item.parent_sub.is_some() {
        info |= HAS_PARENT_SUB;
    }
    encoder.write_info(info);
    if let Some(origin) = &item.origin {
        encoder.write_left_id(origin);
    }
    if let Some(right) = &item.right_origin {
        encoder.write_right_id(right);
    }
    if no_origins {
        match &item.parent {
            Some(ParentRef::Root(name)) => {
                encoder.write_parent_info(true);
                encoder.write_string(name);
            }
            Some(ParentRef::Item(id)) => {
                encoder.write_parent_info(false);
                encoder.write_left_id(id);
            }
            // Never read that way; written as an unnamed root so it reads.
            None => {
                encoder.write_parent_info(true);
                encoder.write_string("");
            }
        }
        if let Some(sub) = &item.parent_sub {
            encoder.write_string(sub);
        }
    }
    item.content.encode(encoder);
}

/// An update that only deletes `deletes`.
pub fn delete_only(deletes: &IdSet) -> Vec<u8> {
    encode(&[], deletes)
}

/// The part of `item` from `offset` clocks on (yrs's own slicing: the rest
/// is inserted after the clock before it). `None` when the content cannot
/// be split there.
pub fn slice_item(item: &ItemStruct, offset: u32) -> Option<ItemStruct> {
    if offset == 0 {
        return Some(item.clone());
    }
    if offset >= item.len {
        return None;
    }
    let content = match &item.content {
        ItemContent::Deleted(len) => ItemContent::Deleted(len - offset),
        ItemContent::Any(values) => ItemContent::Any(values.get(offset as usize..)?.to_vec()),
        ItemContent::String(s) => {
            // Offsets are UTF-16 units; a split inside a surrogate pair is
            // what yrs would do too, but such an update is not an honest one.
            let units: Vec<u16> = s.as_str().encode_utf16().collect();
            let rest = String::from_utf16(units.get(offset as usize..)?).ok()?;
            ItemContent::String(rest.as_str().into())
        }
        _ => return None,
    };
    Some(ItemStruct {
        id: ID::new(item.id.client, item.id.clock + offset),
        len: item.len - offset,
        origin: Some(ID::new(item.id.client, item.id.clock + offset - 1)),
        right_origin: item.right_origin,
        parent: None,
        parent_sub: None,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::updates::decoder::Decode;
    use yrs::{Array, Doc, GetString, Map, ReadTxn, StateVector, Text, Transact, Update};

    fn sample() -> Vec<u8> {
        let doc = Doc::with_client_id(7);
        let map = doc.get_or_insert_map("actions");
        let mut txn = doc.transact_mut();
        let action = map.insert(&mut txn, "a-1", yrs::MapPrelim::default());
        let text = action.insert(&mut txn, "title", yrs::TextPrelim::new("Fix 😀 doors"));
        text.remove_range(&mut txn, 0, 4);
        let log = action.insert(&mut txn, "updates", yrs::ArrayPrelim::default());
        log.push_back(&mut txn, yrs::Any::from("note"));
        action.insert(&mut txn, "owner", "ward.manager");
        drop(txn);
        let bytes = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        bytes
    }

    #[test]
    fn what_it_reads_it_writes_back_the_same() {
        let bytes = sample();
        let decoded = decode(&bytes).unwrap();
        assert!(decoded.structs.len() >= 5);
        let again = encode(&decoded.structs, &decoded.deletes);
        let a = Doc::new();
        a.transact_mut()
            .apply_update(Update::decode_v1(&bytes).unwrap())
            .unwrap();
        let b = Doc::new();
        b.transact_mut()
            .apply_update(Update::decode_v1(&again).unwrap())
            .unwrap();
        let read = |d: &Doc| {
            let txn = d.transact();
            let actions = txn.get_map("actions").unwrap();
            let Some(yrs::Out::YMap(action)) = actions.get(&txn, "a-1") else {
                panic!("no action")
            };
            let Some(yrs::Out::YText(title)) = action.get(&txn, "title") else {
                panic!("no title")
            };
            let Some(yrs::Out::YArray(log)) = action.get(&txn, "updates") else {
                panic!("no log")
            };
            (title.get_string(&txn), log.len(&txn))
        };
        assert_eq!(read(&a), read(&b));
        assert_eq!(read(&a).0, "😀 doors");
    }

    #[test]
    fn garbage_and_truncation_are_errors_never_panics() {
        let bytes = sample();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode(&trailing).is_err());
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 48) as usize;
            let garbage: Vec<u8> = (0..len)
                .map(|i| (seed.rotate_left(i as u32 * 7) & 0xff) as u8)
                .collect();
            let _ = decode(&garbage);
        }
    }

    #[test]
    fn a_slice_is_the_rest_after_the_clock_before_it() {
        let doc = Doc::with_client_id(3);
        let text = doc.get_or_insert_text("t");
        text.push(&mut doc.transact_mut(), "hello");
        let bytes = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let decoded = decode(&bytes).unwrap();
        let Struct::Item(item) = &decoded.structs[0] else {
            panic!()
        };
        let rest = slice_item(item, 2).unwrap();
        assert_eq!(rest.id.clock, 2);
        assert_eq!(rest.len, 3);
        assert_eq!(rest.origin, Some(ID::new(ClientID::new(3), 1)));
    }
}
