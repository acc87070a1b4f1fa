//! The server's map of its own document: for every clock of every client,
//! where the item there lives (which schema place, which key), what kind of
//! content it holds, and whether it was collected; which types are which
//! places; what is deleted; and which person writes under each client id.
//!
//! yrs does not let a reader look items up by id, and deciding on an update
//! means knowing where each of its items lands (an item with an origin
//! inherits its parent from the origin). The index is built once from the
//! stored state and extended with every update the server integrates.

use std::collections::HashMap;
use std::sync::Arc;

use yrs::block::ItemContent;
use yrs::types::TypeRef;
use yrs::{ClientID, IdSet, ID};

use super::codec::{self, CodecError, DecodedUpdate, ItemStruct, ParentRef, Struct};
use super::schema::{self, ContentKind, DocShape, Place, Root};

/// The type an item lives in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Container {
    /// A root of the schema.
    Root(Root),
    /// The type held by the item with this id.
    Type(ID),
    /// A root or type the schema does not name.
    Junk,
}

/// Where an item is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loc {
    /// Collected: it holds nothing and lives nowhere (yrs turns an item
    /// whose parent is gone into this too).
    Gc,
    /// An item in a type.
    Item {
        /// Its type.
        parent: Container,
        /// Its key, in a map.
        sub: Option<Arc<str>>,
        /// What it holds.
        content: ContentKind,
    },
}

#[derive(Debug, Clone)]
struct Span {
    clock: u32,
    len: u32,
    loc: Loc,
}

/// Who writes under a client id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Writer {
    /// The server itself (imports, the demo, restores).
    Server,
    /// A person, by user name.
    Person(Arc<str>),
}

/// The kind of content, as the schema sees it.
pub fn content_kind(content: &ItemContent) -> ContentKind {
    match content {
        ItemContent::Any(_) => ContentKind::Any,
        ItemContent::String(_) => ContentKind::String,
        ItemContent::Deleted(_) => ContentKind::Deleted,
        ItemContent::Type(branch) => match branch.type_ref() {
            TypeRef::Map => ContentKind::Map,
            TypeRef::Array => ContentKind::Array,
            TypeRef::Text => ContentKind::Text,
            _ => ContentKind::Other("an XML or other type"),
        },
        ItemContent::Binary(_) => ContentKind::Other("binary content"),
        ItemContent::Doc(..) => ContentKind::Other("a sub-document"),
        ItemContent::JSON(_) => ContentKind::Other("JSON content"),
        ItemContent::Embed(_) => ContentKind::Other("an embed"),
        ItemContent::Format(..) => ContentKind::Other("a formatting attribute"),
    }
}

/// The index of one document.
#[derive(Debug, Clone)]
pub struct ItemIndex {
    shape: DocShape,
    clients: HashMap<ClientID, Vec<Span>>,
    types: HashMap<ID, Place>,
    deleted: IdSet,
    /// Deletions refused before, per writer: a client that kept one sends
    /// it again with every sync (its whole delete set), and it is refused
    /// once, not each time. Someone else's deletion of the same items is
    /// judged afresh. Kept in memory only: after a reload it is refused once
    /// more.
    refused_deletes: HashMap<Writer, IdSet>,
    writers: HashMap<ClientID, Writer>,
}

/// What resolving an item's place found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Where it is.
    At(Loc),
    /// It depends on an id neither the index nor the update has.
    Missing(ID),
    /// yrs would refuse it (its parent id holds no type, or a cycle).
    Invalid(String),
}

impl ItemIndex {
    /// An empty document's index.
    pub fn new(shape: DocShape) -> ItemIndex {
        ItemIndex {
            shape,
            clients: HashMap::new(),
            types: HashMap::new(),
            deleted: IdSet::new(),
            refused_deletes: HashMap::new(),
            writers: HashMap::new(),
        }
    }

    /// The index of a document whose whole state is `state` (a v1 update).
    ///
    /// # Errors
    /// When the state does not read.
    pub fn from_state(shape: DocShape, state: &[u8]) -> Result<ItemIndex, CodecError> {
        let mut index = ItemIndex::new(shape);
        let decoded = codec::decode(state)?;
        index.extend(&decoded);
        Ok(index)
    }

    /// The document's shape.
    pub fn shape(&self) -> DocShape {
        self.shape
    }

    /// The next clock of `client` (how many it has written).
    pub fn clock(&self, client: ClientID) -> u32 {
        self.clients
            .get(&client)
            .and_then(|spans| spans.last())
            .map_or(0, |s| s.clock + s.len)
    }

    /// Where the item at `id` is, if the index has it.
    pub fn loc(&self, id: &ID) -> Option<&Loc> {
        let spans = self.clients.get(&id.client)?;
        let i = spans.partition_point(|s| s.clock + s.len <= id.clock);
        spans.get(i).filter(|s| s.clock <= id.clock).map(|s| &s.loc)
    }

    /// The runs of `client`'s clocks in `start..end` with where they are.
    pub fn runs(&self, client: ClientID, start: u32, end: u32) -> Vec<(u32, u32, &Loc)> {
        let Some(spans) = self.clients.get(&client) else {
            return Vec::new();
        };
        let first = spans.partition_point(|s| s.clock + s.len <= start);
        spans[first..]
            .iter()
            .take_while(|s| s.clock < end)
            .map(|s| (s.clock.max(start), (s.clock + s.len).min(end), &s.loc))
            .collect()
    }

    /// The place a container is, if the schema names it.
    pub fn place(&self, container: &Container) -> Option<Place> {
        match container {
            Container::Root(root) => Some(Place::Root(*root)),
            Container::Type(id) => self.types.get(id).cloned(),
            Container::Junk => None,
        }
    }

    /// The part of `deletes` not deleted yet (Yjs sends its whole delete
    /// set with every sync).
    pub fn not_yet_deleted(&self, writer: &Writer, deletes: &IdSet) -> IdSet {
        let fresh = deletes.diff(&self.deleted);
        match self.refused_deletes.get(writer) {
            Some(refused) => fresh.diff(refused),
            None => fresh,
        }
    }

    /// Records deletions yrs made while integrating (a value overwritten by
    /// a concurrent one, and everything an update deleted).
    pub fn mark_deleted(&mut self, deletes: &IdSet) {
        self.deleted.merge_with(deletes.clone());
    }

    /// Remembers deletions refused from `writer` (see
    /// [`ItemIndex::not_yet_deleted`]).
    pub fn refused_deletes(&mut self, writer: &Writer, deletes: IdSet) {
        self.refused_deletes
            .entry(writer.clone())
            .or_default()
            .merge_with(deletes);
    }

    /// The items under `key` of the map `parent` that are deleted neither
    /// here nor in `also_deleted`: a map key's current value, if it has one
    /// (every other item of a key is deleted as overwritten). A scan of the
    /// whole index: only for the rare concurrent case that needs it.
    pub fn live_items(&self, parent: &Container, key: &str, also_deleted: &IdSet) -> Vec<ID> {
        let mut live = Vec::new();
        for (client, spans) in &self.clients {
            for span in spans {
                let Loc::Item {
                    parent: p,
                    sub: Some(sub),
                    ..
                } = &span.loc
                else {
                    continue;
                };
                if p != parent || &**sub != key {
                    continue;
                }
                for clock in span.clock..span.clock + span.len {
                    let id = ID::new(*client, clock);
                    if !self.deleted.contains(&id) && !also_deleted.contains(&id) {
                        live.push(id);
                    }
                }
            }
        }
        live
    }

    /// Whether the item at `id` is deleted.
    pub fn is_deleted(&self, id: &ID) -> bool {
        self.deleted.contains(id)
    }

    /// Who writes under `client`, if anyone has yet.
    pub fn writer(&self, client: ClientID) -> Option<&Writer> {
        self.writers.get(&client)
    }

    /// Records who writes under `client` (from storage, or an admitted
    /// update's claim).
    pub fn set_writer(&mut self, client: ClientID, writer: Writer) {
        self.writers.insert(client, writer);
    }

    /// Resolves where each struct of `structs` lands, against the index and
    /// the other structs (an update's items may depend on each other in any
    /// order). `None` for structs that are not items.
    pub fn resolve(&self, structs: &[Struct]) -> Vec<Option<Resolved>> {
        let mut by_client: HashMap<ClientID, Vec<(u32, u32, usize)>> = HashMap::new();
        for (i, s) in structs.iter().enumerate() {
            let id = s.id();
            by_client
                .entry(id.client)
                .or_default()
                .push((id.clock, id.clock + s.len(), i));
        }
        for runs in by_client.values_mut() {
            runs.sort_unstable();
        }
        let find = |id: &ID| -> Option<usize> {
            let runs = by_client.get(&id.client)?;
            let i = runs.partition_point(|r| r.1 <= id.clock);
            runs.get(i).filter(|r| r.0 <= id.clock).map(|r| r.2)
        };
        let mut out: Vec<Option<Resolved>> = vec![None; structs.len()];
        // 0 unvisited, 1 on the stack, 2 done.
        let mut state = vec![0u8; structs.len()];
        for start in 0..structs.len() {
            let mut stack = vec![start];
            while let Some(&i) = stack.last() {
                if state[i] == 2 {
                    stack.pop();
                    continue;
                }
                let Struct::Item(item) = &structs[i] else {
                    state[i] = 2;
                    stack.pop();
                    continue;
                };
                match self.step(item, structs, &find, &out) {
                    Step::Done(resolved) => {
                        out[i] = Some(resolved);
                        state[i] = 2;
                        stack.pop();
                    }
                    Step::Needs(j) => {
                        if state[j] == 1 {
                            out[i] = Some(Resolved::Invalid("a cycle of origins".into()));
                            state[i] = 2;
                            stack.pop();
                        } else {
                            state[i] = 1;
                            stack.push(j);
                        }
                    }
                }
            }
        }
        out
    }

    fn loc_of(
        &self,
        id: &ID,
        structs: &[Struct],
        find: &dyn Fn(&ID) -> Option<usize>,
        out: &[Option<Resolved>],
    ) -> Result<Loc, Step> {
        if id.clock < self.clock(id.client) {
            return Ok(self.loc(id).cloned().unwrap_or(Loc::Gc));
        }
        match find(id) {
            None => Err(Step::Done(Resolved::Missing(*id))),
            Some(j) => match (&structs[j], &out[j]) {
                (Struct::Gc { .. }, _) => Ok(Loc::Gc),
                (Struct::Skip { .. }, _) => Err(Step::Done(Resolved::Missing(*id))),
                (Struct::Item(_), None) => Err(Step::Needs(j)),
                (Struct::Item(_), Some(Resolved::At(loc))) => Ok(loc.clone()),
                (Struct::Item(_), Some(other)) => Err(Step::Done(other.clone())),
            },
        }
    }

    fn step(
        &self,
        item: &ItemStruct,
        structs: &[Struct],
        find: &dyn Fn(&ID) -> Option<usize>,
        out: &[Option<Resolved>],
    ) -> Step {
        let content = content_kind(&item.content);
        // Dependencies must all be there, whichever decides the parent.
        for dep in [item.origin, item.right_origin].into_iter().flatten() {
            if let Err(step) = self.loc_of(&dep, structs, find, out) {
                return step;
            }
        }
        let inherited = |dep: &ID| -> Result<Loc, Step> { self.loc_of(dep, structs, find, out) };
        let loc = match (&item.origin, &item.right_origin, &item.parent) {
            (Some(dep), _, _) | (None, Some(dep), _) => match inherited(dep) {
                Ok(Loc::Item { parent, sub, .. }) => {
                    if self.container_gone(&parent) {
                        Loc::Gc
                    } else {
                        Loc::Item {
                            parent,
                            sub,
                            content,
                        }
                    }
                }
                // yrs falls back to the right origin's parent when the left
                // one is collected; the admission refuses both anyway.
                Ok(Loc::Gc) => Loc::Gc,
                Err(step) => return step,
            },
            (None, None, Some(ParentRef::Root(name))) => Loc::Item {
                parent: Root::named(self.shape, name).map_or(Container::Junk, Container::Root),
                sub: item.parent_sub.clone(),
                content,
            },
            (None, None, Some(ParentRef::Item(pid))) => {
                let parent_loc = match self.loc_of(pid, structs, find, out) {
                    Ok(loc) => loc,
                    Err(step) => return step,
                };
                let parent_content = if pid.clock < self.clock(pid.client) {
                    match parent_loc {
                        Loc::Item { content, .. } => Some(content),
                        Loc::Gc => None,
                    }
                } else {
                    find(pid).and_then(|j| match &structs[j] {
                        Struct::Item(p) => Some(content_kind(&p.content)),
                        _ => None,
                    })
                };
                match parent_content {
                    None | Some(ContentKind::Deleted) => Loc::Gc,
                    Some(ContentKind::Map | ContentKind::Array | ContentKind::Text)
                    | Some(ContentKind::Other("an XML or other type")) => {
                        if self.is_deleted(pid) || matches!(parent_loc, Loc::Gc) {
                            Loc::Gc
                        } else {
                            Loc::Item {
                                parent: Container::Type(*pid),
                                sub: item.parent_sub.clone(),
                                content,
                            }
                        }
                    }
                    Some(_) => {
                        return Step::Done(Resolved::Invalid(
                            "its parent holds no shared type".into(),
                        ))
                    }
                }
            }
            (None, None, None) => {
                return Step::Done(Resolved::Invalid("an item with no parent".into()))
            }
        };
        Step::Done(Resolved::At(loc))
    }

    fn container_gone(&self, container: &Container) -> bool {
        match container {
            Container::Type(id) => self.is_deleted(id),
            _ => false,
        }
    }

    /// Adds an integrated update (complete: nothing in it is missing).
    /// Items that do not resolve are recorded as collected, as yrs leaves
    /// no content of them a later item could name.
    pub fn extend(&mut self, update: &DecodedUpdate) {
        let resolved = self.resolve(&update.structs);
        self.extend_resolved(update, &resolved);
    }

    /// [`ItemIndex::extend`] with where each struct lands already known
    /// (from [`ItemIndex::resolve`] on the same structs, before any of them
    /// was turned into collected clocks).
    pub fn extend_resolved(&mut self, update: &DecodedUpdate, resolved: &[Option<Resolved>]) {
        // Types first, in a second pass, so a place is known for items that
        // resolved through a type of the same update.
        let mut pending_types: Vec<(ID, Container, Option<Arc<str>>, ContentKind)> = Vec::new();
        for (s, r) in update.structs.iter().zip(resolved) {
            let id = s.id();
            let known = self.clock(id.client);
            if id.clock + s.len() <= known {
                continue;
            }
            let offset = known.saturating_sub(id.clock);
            let loc = match (s, r) {
                (Struct::Item(_), Some(Resolved::At(loc))) => loc.clone(),
                (Struct::Skip { .. }, _) => continue,
                _ => Loc::Gc,
            };
            if let Loc::Item {
                parent,
                sub,
                content: content @ (ContentKind::Map | ContentKind::Array | ContentKind::Text),
            } = &loc
            {
                pending_types.push((id, parent.clone(), sub.clone(), *content));
            }
            // yrs counts collected clocks and collected content as deleted
            // (its delete set names them); so does the index.
            if matches!(
                loc,
                Loc::Gc
                    | Loc::Item {
                        content: ContentKind::Deleted,
                        ..
                    }
            ) {
                self.deleted
                    .insert(ID::new(id.client, id.clock + offset), s.len() - offset);
            }
            self.push(id.client, id.clock + offset, s.len() - offset, loc);
        }
        for (id, parent, sub, content) in pending_types {
            let Some(place) = self.place(&parent) else {
                continue;
            };
            if let Ok(slot) = schema::slot(&place, sub.as_deref(), content) {
                if let Some(place) = schema::place_of(&slot) {
                    self.types.insert(id, place);
                }
            }
        }
        self.deleted.merge_with(update.deletes.clone());
    }

    fn push(&mut self, client: ClientID, clock: u32, len: u32, loc: Loc) {
        let spans = self.clients.entry(client).or_default();
        if let Some(last) = spans.last_mut() {
            let mergeable = last.clock + last.len == clock
                && last.loc == loc
                && matches!(
                    loc,
                    Loc::Gc
                        | Loc::Item {
                            content: ContentKind::String | ContentKind::Any | ContentKind::Deleted,
                            ..
                        }
                );
            if mergeable {
                last.len += len;
                return;
            }
        }
        spans.push(Span { clock, len, loc });
    }
}

enum Step {
    Done(Resolved),
    Needs(usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use yrs::{Array, Doc, Map, ReadTxn, StateVector, Text, Transact};

    #[test]
    fn items_with_origins_land_where_their_origins_are() {
        let doc = Doc::with_client_id(5);
        let actions = doc.get_or_insert_map("actions");
        {
            let mut txn = doc.transact_mut();
            let action = actions.insert(&mut txn, "a-1", yrs::MapPrelim::default());
            action.insert(&mut txn, "title", yrs::TextPrelim::new("Doors"));
            action.insert(&mut txn, "updates", yrs::ArrayPrelim::default());
        }
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let index = ItemIndex::from_state(DocShape::Plan, &state).unwrap();
        let before = doc.transact().state_vector();
        {
            let mut txn = doc.transact_mut();
            let Some(yrs::Out::YMap(action)) = actions.get(&txn, "a-1") else {
                panic!()
            };
            let Some(yrs::Out::YText(title)) = action.get(&txn, "title") else {
                panic!()
            };
            title.insert(&mut txn, 5, " and windows");
            let Some(yrs::Out::YArray(log)) = action.get(&txn, "updates") else {
                panic!()
            };
            log.push_back(&mut txn, yrs::Any::from("x"));
        }
        let update = doc.transact().encode_state_as_update_v1(&before);
        let decoded = codec::decode(&update).unwrap();
        let resolved = index.resolve(&decoded.structs);
        let places: Vec<Option<Place>> = resolved
            .iter()
            .map(|r| match r {
                Some(Resolved::At(Loc::Item { parent, .. })) => index.place(parent),
                _ => None,
            })
            .collect();
        assert!(places.contains(&Some(Place::Text(
            Root::Actions,
            "a-1".into(),
            schema::TextSlot::Action(crate::keys::ActionText::Title)
        ))));
        assert!(places.contains(&Some(Place::Log(
            "a-1".into(),
            crate::changes::Log::Updates
        ))));
    }

    #[test]
    fn an_item_whose_origin_nobody_has_is_missing() {
        let a = Doc::with_client_id(1);
        let text = a.get_or_insert_text("t");
        text.push(&mut a.transact_mut(), "ab");
        let sv = a.transact().state_vector();
        text.push(&mut a.transact_mut(), "cd");
        let second = a.transact().encode_state_as_update_v1(&sv);
        let index = ItemIndex::new(DocShape::Plan);
        let decoded = codec::decode(&second).unwrap();
        assert!(matches!(
            index.resolve(&decoded.structs)[0],
            Some(Resolved::Missing(_))
        ));
    }
}
