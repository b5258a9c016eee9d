//! The persona: VIC's Docker API server. It pulls images from a built-in registry catalogue
//! into the port layer's image store and answers the Docker API calls a Docker CLI needs.
//!
//! - [`catalogue`]: deterministic synthetic images (busybox, alpine, nginx, redis, postgres).
//! - This module: pull, the image cache (kept in the port layer's KV store as VIC does), and
//!   the figures `docker version` and `docker info` report.

pub mod catalogue;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::portlayer::images::{LayerBody, LayerWrite};
use crate::portlayer::{ContainerState, PortLayer, PortLayerError};
use crate::vsphere::World;
pub use catalogue::{Catalogue, CatalogueError, PulledImage};

/// Docker Engine API version the persona speaks (VIC 1.x: docker 1.13).
pub const API_VERSION: &str = "1.25";
/// Oldest API version it accepts.
pub const MIN_API_VERSION: &str = "1.19";

/// A failed persona call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PersonaError {
    /// The registry refused the reference.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// The port layer refused a call.
    #[error(transparent)]
    PortLayer(#[from] PortLayerError),
    /// No such image in the local cache.
    #[error("No such image: {0}")]
    NoSuchImage(String),
}

impl PersonaError {
    /// The HTTP status the Docker API answers with.
    pub fn status(&self) -> u16 {
        match self {
            PersonaError::Catalogue(e) => e.status(),
            PersonaError::PortLayer(e) => match e.status() {
                404 => 404,
                409 => 409,
                400 => 400,
                _ => 500,
            },
            PersonaError::NoSuchImage(_) => 404,
        }
    }
}

/// An image in the persona's cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRecord {
    /// `sha256:...`.
    pub image_id: String,
    /// `busybox:latest`, ...
    pub repo_tags: BTreeSet<String>,
    /// `busybox@sha256:...`.
    pub repo_digests: BTreeSet<String>,
    /// The top layer id (what containers join).
    pub top_layer: String,
    /// Layer ids, oldest first.
    pub layers: Vec<String>,
    /// Declared size.
    pub size_bytes: u64,
    /// RFC3339 creation time.
    pub created: String,
    /// The image's default command (`config.Cmd`): what a container runs when it names none.
    pub cmd: Vec<String>,
}

/// What a pull did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullReport {
    /// The image.
    pub image: ImageRecord,
    /// Layers written (ids); the others were already in the store.
    pub written: Vec<String>,
    /// Layers already present.
    pub existing: Vec<String>,
    /// Manifest digest.
    pub digest: String,
    /// Familiar reference, e.g. `busybox:latest`.
    pub reference: String,
}

/// The persona of one VCH.
#[derive(Clone, Debug)]
pub struct Persona {
    catalogue: Catalogue,
    images: BTreeMap<String, ImageRecord>,
}

impl Persona {
    /// A persona pulling from `catalogue`.
    pub fn new(catalogue: Catalogue) -> Self {
        Persona {
            catalogue,
            images: BTreeMap::new(),
        }
    }

    /// The registry catalogue.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Cached images by id.
    pub fn images(&self) -> &BTreeMap<String, ImageRecord> {
        &self.images
    }

    /// The image store's name: the VCH's BIOS UUID, as VIC names it.
    pub fn store(pl: &PortLayer) -> String {
        pl.vch().uuid.clone()
    }

    /// `docker pull`: resolve, create the image store if it is missing, write each layer
    /// oldest first, and record the image in the caches and the KV store.
    pub fn pull(
        &mut self,
        w: &mut World,
        pl: &mut PortLayer,
        reference: &str,
    ) -> Result<PullReport, PersonaError> {
        let image = self.catalogue.resolve(reference)?;
        let store = Self::store(pl);
        if !pl.images().has_store(&store) {
            pl.create_image_store(w, &store)?;
        }
        let (mut written, mut existing) = (Vec::new(), Vec::new());
        for layer in &image.layers {
            if pl.images().require(&store, &layer.id).is_ok() {
                existing.push(layer.id.clone());
                continue;
            }
            let meta = Some(("metaData", layer.v1_compat.as_str()));
            pl.write_layer(
                w,
                &LayerWrite {
                    store: &store,
                    image_id: &layer.id,
                    parent_id: &layer.parent,
                    sum: &layer.sum,
                    metadata: meta,
                    body: LayerBody::Hashed(&layer.tar),
                },
            )?;
            written.push(layer.id.clone());
        }
        let familiar = familiar_repo(&image.repository);
        let tag = format!("{familiar}:{}", image.tag);
        let repo_digest = format!("{familiar}@{}", image.digest);
        // Pulling an image the caches already name as this tag changes nothing, so the caches
        // in the KV store are not written again.
        let unchanged = self
            .images
            .get(&image.image_id)
            .filter(|r| r.repo_tags.contains(&tag) && r.repo_digests.contains(&repo_digest))
            .cloned();
        let rec = match unchanged {
            Some(rec) => rec,
            None => {
                // A tag moves to the new image, as in Docker.
                for rec in self.images.values_mut() {
                    rec.repo_tags.remove(&tag);
                }
                let rec = self
                    .images
                    .entry(image.image_id.clone())
                    .or_insert_with(|| ImageRecord {
                        image_id: image.image_id.clone(),
                        repo_tags: BTreeSet::new(),
                        repo_digests: BTreeSet::new(),
                        top_layer: image
                            .layers
                            .last()
                            .map(|l| l.id.clone())
                            .unwrap_or_default(),
                        layers: image.layers.iter().map(|l| l.id.clone()).collect(),
                        size_bytes: image.size_bytes,
                        created: image.created.clone(),
                        cmd: image.cmd.clone(),
                    });
                rec.repo_tags.insert(tag);
                rec.repo_digests.insert(repo_digest);
                let rec = rec.clone();
                self.save_caches(pl)?;
                rec
            }
        };
        Ok(PullReport {
            image: rec,
            written,
            existing,
            digest: image.digest.clone(),
            reference: image.reference.clone(),
        })
    }

    /// Finds a cached image by id, short id or `repo:tag`.
    pub fn find_image(&self, name: &str) -> Result<&ImageRecord, PersonaError> {
        let with_tag = if name.contains(':') && !name.starts_with("sha256:") {
            name.to_string()
        } else {
            format!("{name}:latest")
        };
        self.images
            .values()
            .find(|r| {
                r.image_id == name
                    || r.image_id
                        .trim_start_matches("sha256:")
                        .starts_with(name.trim_start_matches("sha256:"))
                        && name.len() >= 12
                    || r.repo_tags.contains(&with_tag)
            })
            .ok_or_else(|| PersonaError::NoSuchImage(name.to_string()))
    }

    /// Writes `docker.images` and `docker.repositories` to the port layer's KV store. Records
    /// are serialized straight from the caches, fields in the sorted order a JSON map gives.
    fn save_caches(&self, pl: &mut PortLayer) -> Result<(), PortLayerError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct CachedImage<'a> {
            cmd: &'a [String],
            created: &'a str,
            #[serde(rename = "ID")]
            id: &'a str,
            layers: &'a [String],
            repo_tags: &'a BTreeSet<String>,
            size: u64,
            store: &'a str,
            top_layer: &'a str,
        }
        #[derive(Serialize)]
        struct RepoEntry<'a> {
            #[serde(rename = "ImageID")]
            image_id: &'a str,
            #[serde(rename = "Layer")]
            layer: &'a str,
        }
        let store = Self::store(pl);
        let images: Vec<CachedImage<'_>> = self
            .images
            .values()
            .map(|r| CachedImage {
                cmd: &r.cmd,
                created: &r.created,
                id: &r.image_id,
                layers: &r.layers,
                repo_tags: &r.repo_tags,
                size: r.size_bytes,
                store: &store,
                top_layer: &r.top_layer,
            })
            .collect();
        let mut repos = BTreeMap::new();
        for r in self.images.values() {
            for t in r.repo_tags.iter().chain(&r.repo_digests) {
                let entry = RepoEntry {
                    image_id: &r.image_id,
                    layer: &r.top_layer,
                };
                repos.insert(t.as_str(), entry);
            }
        }
        pl.kv_put(
            "docker.images",
            &serde_json::to_string(&images).unwrap_or_default(),
        )?;
        pl.kv_put(
            "docker.repositories",
            &serde_json::to_string(&repos).unwrap_or_default(),
        )?;
        Ok(())
    }
}

/// `library/busybox` -> `busybox`, as Docker shows repositories.
pub fn familiar_repo(repository: &str) -> &str {
    repository.strip_prefix("library/").unwrap_or(repository)
}

/// What `docker info` shows for a VCH (VIC's fields, including its known quirks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerInfo {
    /// `Name`: the VCH's name.
    pub name: String,
    /// `NCPU`: VIC reports the CPU limit in MHz here (VIC issue 5761, kept for fidelity).
    pub ncpu: i64,
    /// `MemTotal` in bytes.
    pub mem_total: i64,
    /// Containers by state.
    pub containers: (usize, usize, usize, usize),
    /// Images cached.
    pub images: usize,
    /// `ServerVersion`, VIC's short version.
    pub server_version: String,
    /// `Driver`.
    pub driver: String,
    /// `OperatingSystem` (the vSphere endpoint's OS type).
    pub operating_system: String,
    /// The `SystemStatus` rows (names start with a space, as VIC writes them).
    pub system_status: Vec<(String, String)>,
}

impl Persona {
    /// `docker info`.
    pub fn info(&self, w: &World, pl: &mut PortLayer) -> Result<DockerInfo, PersonaError> {
        let vch = pl.vch_info(w)?;
        let list = pl.list_containers(w, true);
        let count = |s: ContainerState| list.iter().filter(|c| c.state == s).count();
        let build = &pl.vch().config.build;
        let short = format!("{}-{}-{}", build.version, build.build, build.commit);
        let about = w.about();
        let storage = pl.images().total_bytes();
        let rows = vec![
            (" VCH CPU limit".into(), format!("{} MHz", vch.cpu_mhz)),
            (" VCH memory limit".into(), format!("{} MiB", vch.memory_mb)),
            (
                " VCH CPU usage".into(),
                format!("{} MHz", vch.cpu_usage_mhz),
            ),
            (
                " VCH memory usage".into(),
                format!("{} MiB", vch.memory_usage_mb),
            ),
            (" VCH storage usage".into(), format!("{storage} B")),
            (" VMware Product".into(), about.name.to_string()),
            (" VMware OS".into(), about.os_type.to_string()),
            (" VMware OS version".into(), about.version.to_string()),
            (" Registry Whitelist Mode".into(), "disabled".into()),
            ("VolumeStores".into(), pl.volumes().stores().join(" ")),
            (
                format!("vSphere Integrated Containers {short} Backend Engine"),
                "RUNNING".into(),
            ),
        ];
        Ok(DockerInfo {
            name: pl.vch().config.name.clone(),
            ncpu: vch.cpu_mhz,
            mem_total: vch.memory_mb.saturating_mul(1024 * 1024),
            containers: (
                list.len(),
                count(ContainerState::Running) + count(ContainerState::Starting),
                count(ContainerState::Suspended),
                count(ContainerState::Stopped) + count(ContainerState::Created),
            ),
            images: self.images.len(),
            server_version: short.clone(),
            driver: format!("vSphere Integrated Containers {short} Backend Engine"),
            operating_system: about.os_type.to_string(),
            system_status: rows,
        })
    }
}

/// An images file: extra registry images for the catalogue, e.g.
///
/// ```toml
/// [[image]]
/// repository = "myorg/app"
/// tag = "1.0"
/// cmd = ["/app"]
/// env = []
/// os = "linux"
/// architecture = "amd64"
/// layers = [
///   { size_bytes = 5000000, created_by = "ADD rootfs.tar /" },
///   { size_bytes = 20000000, created_by = "COPY app /app" },
/// ]
/// ```
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ImagesFile {
    image: Vec<catalogue::ImageRecipe>,
}

/// Adds the images of a TOML images file to `catalogue`; errors name the file and the place.
pub fn load_images(catalogue: &mut Catalogue, text: &str, file: &str) -> Result<usize, String> {
    let parsed: ImagesFile = toml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
    let n = parsed.image.len();
    for (i, recipe) in parsed.image.into_iter().enumerate() {
        catalogue
            .add(recipe)
            .map_err(|e| format!("{file}: image[{i}]: {e}"))?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[image]]
repository = "myorg/app"
tag = "1.0"
cmd = ["/app"]
env = []
os = "linux"
architecture = "amd64"
layers = [
  { size_bytes = 5000000, created_by = "ADD rootfs.tar /" },
  { size_bytes = 20000000, created_by = "COPY app /app" },
]
"#;

    #[test]
    fn images_file_extends_the_catalogue() {
        let mut c = Catalogue::builtin();
        assert_eq!(load_images(&mut c, FILE, "images.toml"), Ok(1));
        let img = c.resolve("myorg/app:1.0").expect("added image resolves");
        assert_eq!(img.layers.len(), 2);
        assert_eq!(img.size_bytes, 25_000_000);
    }

    #[test]
    fn bad_images_files_name_the_file_and_problem() {
        let mut c = Catalogue::builtin();
        let e = load_images(&mut c, "[[image]]\nrepository = 3\n", "x.toml").unwrap_err();
        assert!(e.starts_with("x.toml: ") && e.contains("line 2"), "{e}");
        let bad_name = FILE.replace("myorg/app", "MyOrg/App");
        let e = load_images(&mut c, &bad_name, "x.toml").unwrap_err();
        assert!(
            e.contains("image[0]") && e.contains("invalid reference format"),
            "{e}"
        );
        let e = load_images(&mut c, &FILE.replace("os = ", "oss = "), "x.toml").unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }
}
