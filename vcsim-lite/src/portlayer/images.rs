//! Image stores: one per VCH, each a tree of layer disks rooted at `scratch`, kept where VIC
//! keeps them (`VIC/<store>/images/<layer>/<layer>.vmdk`). Every layer is a real disk file in
//! the world, so a pull consumes datastore space and fails with `NoDiskSpace` as VIC's does,
//! and `rmi` gives the space back.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::error::{PortLayerError, Result};
use crate::vsphere::vm_ops::MAX_DISK_MIB;
use crate::vsphere::{DatastoreId, World};

/// The root layer of every store: VIC's empty ext4 filesystem every image descends from.
pub const SCRATCH: &str = "scratch";
/// VIC's default `--base-image-size`: layer disks are children of scratch, so none is smaller.
const BASE_IMAGE_MIB: u64 = 8 * 1024;
/// What the empty ext4 filesystem of `scratch` takes on the datastore.
const SCRATCH_USED_MIB: u64 = 16;
const MIB: u64 = 1024 * 1024;
/// Long enough for a VCH UUID or a 64-hex layer id, short enough for a datastore path.
const MAX_NAME_LEN: usize = 128;
/// The metadata key under which the persona stores docker's v1Compatibility JSON.
const DOCKER_METADATA_KEY: &str = "metaData";

/// Bytes and their SHA-256, computed together, so the digest cannot disagree with the bytes.
/// A layer handed to WriteImage as this is not hashed again: the catalogue's tars are written
/// into a new store in every world a fuzz run builds, and hashing them was the largest single
/// cost of a pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashedTar {
    bytes: Vec<u8>,
    sha256: [u8; 32],
}

impl HashedTar {
    /// Hashes `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        let sha256 = Sha256::digest(&bytes).into();
        HashedTar { bytes, sha256 }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `sha256:<64 lowercase hex>`, as WriteImage's `sum` names it.
    pub fn sum(&self) -> String {
        sum_text(&self.sha256)
    }
}

/// `sha256:<64 lowercase hex>` of a digest.
fn sum_text(digest: &[u8; 32]) -> String {
    let mut text = String::with_capacity(71);
    text.push_str("sha256:");
    for b in digest {
        let _ = write!(text, "{b:02x}");
    }
    text
}

/// A layer tar as WriteImage receives it.
#[derive(Clone, Copy, Debug)]
pub enum LayerBody<'a> {
    /// Bytes from a client: hashed on the way in, as VIC hashes them while untarring.
    Raw(&'a [u8]),
    /// Bytes hashed when they were made.
    Hashed(&'a HashedTar),
}

impl LayerBody<'_> {
    fn len(self) -> usize {
        match self {
            LayerBody::Raw(b) => b.len(),
            LayerBody::Hashed(h) => h.bytes.len(),
        }
    }

    fn sha256(self) -> [u8; 32] {
        match self {
            LayerBody::Raw(b) => Sha256::digest(b).into(),
            LayerBody::Hashed(h) => h.sha256,
        }
    }
}

/// One layer to write (the WriteImage call): the layer tar `body` must hash to `sum`.
#[derive(Clone, Copy, Debug)]
pub struct LayerWrite<'a> {
    /// Image store name.
    pub store: &'a str,
    /// The layer's id (docker's v1 id).
    pub image_id: &'a str,
    /// Its parent's id, or `scratch`.
    pub parent_id: &'a str,
    /// `sha256:<hex>` of `body`.
    pub sum: &'a str,
    /// One metadata key and value (VIC sends `metaData` and the v1Compatibility JSON).
    pub metadata: Option<(&'a str, &'a str)>,
    /// The layer tar.
    pub body: LayerBody<'a>,
}

/// An image layer as `GET /storage/{store}/info/{id}` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    pub id: String,
    /// The store's name.
    pub store: String,
    /// `scratch` for a base layer, empty for scratch itself.
    pub parent: String,
    pub metadata: BTreeMap<String, String>,
    /// The larger of the tar's length and the size docker declared for the layer; 0 for scratch.
    pub size_bytes: u64,
    /// `/storage/<store>/info/<id>`.
    pub self_link: String,
}

#[derive(Clone, Debug)]
struct Layer {
    parent: String,
    metadata: BTreeMap<String, String>,
    size_bytes: u64,
    /// The disk file's path on the stores' datastore.
    path: String,
    /// Containers whose read-write layer is a child of this one (ImageJoin).
    containers: BTreeSet<String>,
}

#[derive(Clone, Debug, Default)]
struct Store {
    layers: BTreeMap<String, Layer>,
    /// Layer ids in creation order (scratch first): the order `list` answers in.
    order: Vec<String>,
}

impl Store {
    fn children(&self, id: &str) -> usize {
        self.layers.values().filter(|l| l.parent == id).count()
    }

    fn usage(&self) -> u64 {
        self.layers.values().map(|l| l.size_bytes).sum()
    }

    fn info(&self, store: &str, id: &str) -> Option<ImageInfo> {
        let l = self.layers.get(id)?;
        Some(ImageInfo {
            id: id.to_string(),
            store: store.to_string(),
            parent: l.parent.clone(),
            metadata: l.metadata.clone(),
            size_bytes: l.size_bytes,
            self_link: format!("/storage/{store}/info/{id}"),
        })
    }
}

/// Every image store of one VCH, all on the VCH's image datastore.
#[derive(Clone, Debug)]
pub struct ImageStores {
    datastore: DatastoreId,
    stores: BTreeMap<String, Store>,
}

/// Store names and layer ids become datastore path components, so they are kept to a safe
/// alphabet and may not climb out of their directory.
fn check_name(what: &str, name: &str) -> Result<()> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if name.is_empty() || name.len() > MAX_NAME_LEN || !ok_chars || name == "." || name == ".." {
        return Err(PortLayerError::BadRequest(format!(
            "{what} `{name}` must be 1 to {MAX_NAME_LEN} of [A-Za-z0-9._-]"
        )));
    }
    Ok(())
}

fn layer_path(store: &str, id: &str) -> String {
    format!("VIC/{store}/images/{id}/{id}.vmdk")
}

/// keepNodes may hold bare ids or image URLs (`/storage/<store>/info/<id>`).
fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// VIC hashes the tar while untarring it and refuses the layer on a mismatch.
fn verify_sum(sum: &str, body: LayerBody<'_>) -> Result<()> {
    let declared = sum
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| {
            PortLayerError::BadRequest(format!("sum `{sum}` is not sha256:<64 hex digits>"))
        })?;
    let computed = body.sha256();
    let nibble = |c: u8| char::from(c).to_digit(16).unwrap_or(0) as u8;
    let same = declared
        .as_bytes()
        .chunks(2)
        .zip(&computed)
        .all(|(pair, b)| nibble(pair[0]) << 4 | nibble(pair[1]) == *b);
    if !same {
        return Err(PortLayerError::BadRequest(format!(
            "checksum mismatch: declared {sum}, computed {}",
            sum_text(&computed)
        )));
    }
    Ok(())
}

/// Tests and scenarios send small stand-in tars, so docker's declared layer size (the
/// v1Compatibility `Size`) is what makes a pull weigh what the real image would.
fn layer_size(body_len: usize, metadata: Option<&(String, String)>) -> u64 {
    /// The one field of docker's v1Compatibility JSON that matters here; the rest is skipped
    /// without being built.
    #[derive(serde::Deserialize)]
    struct Declared {
        #[serde(rename = "Size")]
        size: Option<u64>,
    }
    let body = u64::try_from(body_len).unwrap_or(u64::MAX);
    let declared = metadata
        .filter(|(k, _)| k == DOCKER_METADATA_KEY)
        .and_then(|(_, v)| serde_json::from_str::<Declared>(v).ok())
        .and_then(|d| d.size)
        .unwrap_or(0);
    body.max(declared)
}

impl ImageStores {
    /// No stores yet; the persona creates its store (named after the VCH UUID) at start.
    pub fn new(datastore: DatastoreId) -> Self {
        ImageStores {
            datastore,
            stores: BTreeMap::new(),
        }
    }

    /// The datastore every store lives on.
    pub fn datastore(&self) -> DatastoreId {
        self.datastore
    }

    /// `POST /storage`: a store with its `scratch` layer. Returns the store URL.
    pub fn create_store(&mut self, w: &mut World, name: &str) -> Result<String> {
        check_name("image store name", name)?;
        if self.stores.contains_key(name) {
            return Err(PortLayerError::Conflict(format!(
                "image store `{name}` already exists"
            )));
        }
        let path = layer_path(name, SCRATCH);
        w.create_virtual_disk(self.datastore, &path, BASE_IMAGE_MIB, SCRATCH_USED_MIB)?;
        let scratch = Layer {
            parent: String::new(),
            metadata: BTreeMap::new(),
            size_bytes: 0,
            path,
            containers: BTreeSet::new(),
        };
        let store = Store {
            layers: BTreeMap::from([(SCRATCH.to_string(), scratch)]),
            order: vec![SCRATCH.to_string()],
        };
        self.stores.insert(name.to_string(), store);
        Ok(format!("/storage/{name}"))
    }

    /// True when the store exists (a check that formats no error).
    pub fn has_store(&self, name: &str) -> bool {
        self.stores.contains_key(name)
    }

    /// Store names, sorted.
    pub fn stores(&self) -> Vec<String> {
        self.stores.keys().cloned().collect()
    }

    fn store(&self, name: &str) -> Result<&Store> {
        self.stores
            .get(name)
            .ok_or_else(|| PortLayerError::not_found("image store", name))
    }

    /// `POST /storage/{store}` (WriteImage): a layer child of `parent_id`, whose tar `body`
    /// must hash to `sum`. The layer's disk takes its size on the datastore; a failure records
    /// nothing. Unlike VIC, which answers an existing id with that image, an existing id is a
    /// 409 so that callers cannot mistake a re-pull for a fresh write.
    pub fn write_image(&mut self, w: &mut World, req: &LayerWrite<'_>) -> Result<ImageInfo> {
        self.write_layer(w, req)?;
        self.get(req.store, req.image_id)
    }

    /// [`Self::write_image`] without its answer, for callers that write many layers and read
    /// none of them back (the persona's pulls).
    pub fn write_layer(&mut self, w: &mut World, req: &LayerWrite<'_>) -> Result<()> {
        let LayerWrite {
            store,
            image_id,
            parent_id,
            sum,
            body,
            ..
        } = *req;
        let metadata = req.metadata.map(|(k, v)| (k.to_string(), v.to_string()));
        let s = self.store(store)?;
        check_name("image id", image_id)?;
        if image_id == SCRATCH {
            return Err(PortLayerError::BadRequest(
                "`scratch` is the store's root and cannot be written".into(),
            ));
        }
        if s.layers.contains_key(image_id) {
            return Err(PortLayerError::Conflict(format!(
                "image `{image_id}` already exists in store `{store}`"
            )));
        }
        if !s.layers.contains_key(parent_id) {
            return Err(PortLayerError::not_found("image", parent_id));
        }
        verify_sum(sum, body)?;
        let size_bytes = layer_size(body.len(), metadata.as_ref());
        let used_mib = size_bytes.div_ceil(MIB).max(1);
        if used_mib > MAX_DISK_MIB {
            return Err(PortLayerError::BadRequest(format!(
                "layer `{image_id}` of {size_bytes} bytes is larger than a disk can be"
            )));
        }
        let path = layer_path(store, image_id);
        w.create_virtual_disk(
            self.datastore,
            &path,
            used_mib.max(BASE_IMAGE_MIB),
            used_mib,
        )?;
        let layer = Layer {
            parent: parent_id.to_string(),
            metadata: metadata.into_iter().collect(),
            size_bytes,
            path,
            containers: BTreeSet::new(),
        };
        let s = self
            .stores
            .get_mut(store)
            .ok_or_else(|| PortLayerError::not_found("image store", store))?;
        s.layers.insert(image_id.to_string(), layer);
        s.order.push(image_id.to_string());
        Ok(())
    }

    /// `GET /storage/{store}/info/{id}`.
    /// 404 unless the store has the layer (a check that builds no `ImageInfo`).
    pub fn require(&self, store: &str, id: &str) -> Result<()> {
        match self.store(store)?.layers.contains_key(id) {
            true => Ok(()),
            false => Err(PortLayerError::not_found("image", id)),
        }
    }

    pub fn get(&self, store: &str, id: &str) -> Result<ImageInfo> {
        self.store(store)?
            .info(store, id)
            .ok_or_else(|| PortLayerError::not_found("image", id))
    }

    /// The ids `list` answers with (no `scratch`), in creation order, without building an
    /// `ImageInfo` for each: what a caller that only compares ids needs.
    pub fn layer_ids(&self, store: &str) -> Result<impl Iterator<Item = &str>> {
        let s = self.store(store)?;
        Ok(s.order
            .iter()
            .map(String::as_str)
            .filter(|id| *id != SCRATCH))
    }

    /// `GET /storage/{store}?ids=`: in creation order. As in VIC, the full list leaves out
    /// `scratch` and a list by ids skips the ids it does not know.
    pub fn list(&self, store: &str, ids: &[String]) -> Result<Vec<ImageInfo>> {
        let s = self.store(store)?;
        let wanted: BTreeSet<&str> = ids.iter().map(|i| last_segment(i)).collect();
        Ok(s.order
            .iter()
            .filter(|id| {
                if wanted.is_empty() {
                    *id != SCRATCH
                } else {
                    wanted.contains(id.as_str())
                }
            })
            .filter_map(|id| s.info(store, id))
            .collect())
    }

    /// Why a layer cannot go: VIC answers 423 while containers or child layers need it, or
    /// while a VM has its disk attached.
    fn in_use(&self, w: &World, s: &Store, id: &str) -> Option<String> {
        let l = s.layers.get(id)?;
        if !l.containers.is_empty() {
            return Some(format!(
                "image {id} is in use by {} containers",
                l.containers.len()
            ));
        }
        let children = s.children(id);
        if children > 0 {
            return Some(format!("image {id} has {children} children"));
        }
        w.disk_file(self.datastore, &l.path)
            .filter(|f| !f.attached_to.is_empty())
            .map(|f| format!("image {id} is attached to {} VMs", f.attached_to.len()))
    }

    /// `DELETE /storage/{store}/info/{id}?keepNodes=`: the layer, then each ancestor that
    /// nothing needs any more (no containers, no other children, not scratch, not kept).
    /// Returns the deleted layers, child first. Everything is checked before anything is
    /// deleted. Once the requested layer is gone, a vSphere failure on an ancestor ends the walk
    /// without an error, as VIC's `DeleteBranch` does: the ancestor stays an ordinary layer.
    pub fn delete(
        &mut self,
        w: &mut World,
        store: &str,
        id: &str,
        keep_nodes: &[String],
    ) -> Result<Vec<ImageInfo>> {
        let s = self.store(store)?;
        let Some(layer) = s.layers.get(id) else {
            return Err(PortLayerError::not_found("image", id));
        };
        if id == SCRATCH {
            return Err(PortLayerError::InUse(
                "scratch is the root of every image and cannot be deleted".into(),
            ));
        }
        let keep: BTreeSet<&str> = keep_nodes.iter().map(|k| last_segment(k)).collect();
        if keep.contains(id) {
            return Err(PortLayerError::InUse(format!(
                "image {id} is to be kept and cannot be deleted"
            )));
        }
        if let Some(why) = self.in_use(w, s, id) {
            return Err(PortLayerError::InUse(why));
        }
        let mut victims = vec![id.to_string()];
        let mut parent = layer.parent.as_str();
        while parent != SCRATCH && !keep.contains(parent) {
            let Some(p) = s.layers.get(parent) else { break };
            // Its only child is the layer being deleted below it.
            let free = p.containers.is_empty()
                && s.children(parent) == 1
                && w.disk_file(self.datastore, &p.path)
                    .is_none_or(|f| f.attached_to.is_empty());
            if !free {
                break;
            }
            victims.push(parent.to_string());
            parent = p.parent.as_str();
        }
        let mut deleted = Vec::with_capacity(victims.len());
        for victim in victims {
            let s = self
                .stores
                .get_mut(store)
                .ok_or_else(|| PortLayerError::not_found("image store", store))?;
            let (Some(info), Some(path)) = (
                s.info(store, &victim),
                s.layers.get(&victim).map(|l| l.path.clone()),
            ) else {
                break;
            };
            if let Err(e) = w.delete_virtual_disk(self.datastore, &path) {
                if deleted.is_empty() {
                    return Err(e.into());
                }
                break;
            }
            s.layers.remove(&victim);
            s.order.retain(|o| *o != victim);
            deleted.push(info);
        }
        Ok(deleted)
    }

    /// `GET /storage/{store}/usage`: the layers' sizes in bytes; scratch is not counted.
    pub fn usage_bytes(&self, store: &str) -> Result<u64> {
        Ok(self.store(store)?.usage())
    }

    /// ImageJoin: a container's read-write layer is a child of `layer`, which keeps the layer
    /// (and so its ancestors) from being deleted.
    pub fn add_ref(&mut self, store: &str, layer: &str, container: &str) -> Result<()> {
        let l = self
            .stores
            .get_mut(store)
            .ok_or_else(|| PortLayerError::not_found("image store", store))?
            .layers
            .get_mut(layer)
            .ok_or_else(|| PortLayerError::not_found("image", layer))?;
        l.containers.insert(container.to_string());
        Ok(())
    }

    /// The container is gone; a no-op when it held no reference, so removal can be retried.
    pub fn remove_ref(&mut self, store: &str, layer: &str, container: &str) {
        if let Some(l) = self
            .stores
            .get_mut(store)
            .and_then(|s| s.layers.get_mut(layer))
        {
            l.containers.remove(container);
        }
    }

    /// The layer's disk: its datastore and its path there (without the `[ds]` prefix), which
    /// a container's read-write disk names as its parent.
    pub fn layer_disk(&self, store: &str, layer: &str) -> Result<(DatastoreId, String)> {
        let l = self
            .store(store)?
            .layers
            .get(layer)
            .ok_or_else(|| PortLayerError::not_found("image", layer))?;
        Ok((self.datastore, l.path.clone()))
    }

    /// The layers of every store, in bytes: what images count against the VCH storage quota.
    pub fn total_bytes(&self) -> u64 {
        self.stores.values().map(Store::usage).sum()
    }
}

#[cfg(test)]
mod tests;
