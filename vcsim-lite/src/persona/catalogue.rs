//! The persona's registry: a built-in catalogue of deterministic synthetic images.
//!
//! A pull must feed the port layer real-shaped data (v1 layer ids chained from `scratch`, tar
//! blobs whose sha256 WriteImage verifies, a config JSON whose hash is the image id) without a
//! network, so runs replay exactly. Everything here is a pure function of a recipe: no clock, no
//! randomness, no hash-map order. The byte formats hashed into ids (tar headers, the canonical
//! layer string, the JSON field orders) are part of the contract: changing them changes every id,
//! which the golden test catches.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, OnceLock};

use serde::{Deserialize, Serialize};

pub use crate::portlayer::images::HashedTar;

mod images;

/// Repositories (normalized, e.g. `library/busybox`) to tags to recipes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalogue {
    /// Shared by the catalogue's copies until one adds a recipe (every world starts from a
    /// copy of the built-in catalogue, and few add to it).
    repositories: Arc<BTreeMap<String, BTreeMap<String, Entry>>>,
}

/// A recipe and, once pulled, the image built from it: building (tars, SHA-256) is a pure
/// function of the recipe and was the largest cost of a fuzz step, so it happens once. The
/// cell is shared by the catalogue's copies (every world starts from a copy of the built-in
/// one), so each image is built once per process, not once per world.
#[derive(Clone, Debug)]
struct Entry {
    recipe: ImageRecipe,
    built: Arc<OnceLock<Arc<PulledImage>>>,
}

impl Entry {
    fn image(&self) -> Arc<PulledImage> {
        self.built
            .get_or_init(|| Arc::new(images::build(&self.recipe)))
            .clone()
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.recipe == other.recipe
    }
}

impl Eq for Entry {}

/// The built-in catalogue, built once per process; [`Catalogue::builtin`] hands out copies that
/// share the images already built.
static BUILTIN: LazyLock<Catalogue> = LazyLock::new(|| {
    let mut catalogue = Catalogue::default();
    for recipe in images::builtin_recipes() {
        catalogue
            .add(recipe)
            .expect("built-in recipes are valid (tested)");
    }
    catalogue
});

/// What an image is made of; every id and byte of the pulled image derives from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRecipe {
    /// Repository path on Docker Hub, e.g. `library/busybox`.
    pub repository: String,
    /// The tag this recipe answers to.
    pub tag: String,
    /// Oldest first.
    pub layers: Vec<LayerRecipe>,
    /// The image's default command (`config.Cmd`).
    pub cmd: Vec<String>,
    /// The image's environment (`config.Env`).
    pub env: Vec<String>,
    /// `linux`.
    pub os: String,
    /// `amd64`.
    pub architecture: String,
}

/// One layer of a recipe. Its tar is small and synthetic; `size_bytes` is what gets reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerRecipe {
    /// Declared uncompressed size, as `docker history` would show it.
    pub size_bytes: u64,
    /// The history line, e.g. `/bin/sh -c #(nop) ADD file:... in /`.
    pub created_by: String,
}

/// One layer as the persona hands it to the port layer's WriteImage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledLayer {
    /// The docker v1 id (64 hex): the port layer's layer id.
    pub id: String,
    /// The v1 id of the parent, or `scratch` for the base layer.
    pub parent: String,
    /// A small valid ustar archive, hashed when built: WriteImage's body.
    pub tar: HashedTar,
    /// `sha256:<hex of tar>`: WriteImage's `sum`.
    pub sum: String,
    /// `sha256:<hex of tar>`: the layer is not compressed, so the diff id equals the sum.
    pub diff_id: String,
    /// Declared size, not the tar's length.
    pub size_bytes: u64,
    /// The schema1 `v1Compatibility` JSON: WriteImage's `metaData` value.
    pub v1_compat: String,
}

/// An image as a registry pull yields it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledImage {
    /// Normalized, e.g. `library/busybox`.
    pub repository: String,
    /// The tag pulled; for a digest pull, the first tag (in sort order) carrying that manifest.
    pub tag: String,
    /// Docker's familiar form: `busybox:latest`, or `busybox@sha256:...` for a digest pull.
    pub reference: String,
    /// `sha256:` + sha256 of `config_json`.
    pub image_id: String,
    /// `sha256:` + sha256 of `manifest_json`.
    pub digest: String,
    /// Oldest first.
    pub layers: Vec<PulledLayer>,
    /// The docker image config the image id hashes.
    pub config_json: String,
    /// The schema2 manifest the digest hashes (layers as uncompressed tar blobs).
    pub manifest_json: String,
    /// Sum of the declared layer sizes.
    pub size_bytes: u64,
    /// RFC3339; the creation time of the top layer.
    pub created: String,
    /// `config.Cmd` of the image config: the command a container runs when it names none.
    pub cmd: Vec<String>,
}

/// A failed pull or catalogue edit, worded as Docker words it where Docker has a word.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// No such repository; `reference` is the familiar repository name (`nosuch`).
    #[error(
        "pull access denied for {reference}, repository does not exist or may require 'docker login'"
    )]
    NotFound {
        /// The familiar repository name.
        reference: String,
    },
    /// A known repository without that tag or digest; `reference` is `busybox:nosuch`.
    #[error("manifest for {reference} not found")]
    ManifestUnknown {
        /// The familiar reference.
        reference: String,
    },
    /// Not a reference under Docker's grammar (uppercase, stray `:`, bad digest, ...).
    #[error("invalid reference format")]
    InvalidReference {
        /// The text given.
        reference: String,
    },
    /// A recipe that could not be pulled even though its name is valid.
    #[error("invalid image recipe for {reference}: {reason}")]
    InvalidRecipe {
        /// `repository:tag` of the recipe.
        reference: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl CatalogueError {
    /// The HTTP status the Docker API answers a failed `POST /images/create` with.
    pub fn status(&self) -> u16 {
        match self {
            CatalogueError::NotFound { .. } | CatalogueError::ManifestUnknown { .. } => 404,
            CatalogueError::InvalidReference { .. } | CatalogueError::InvalidRecipe { .. } => 400,
        }
    }
}

impl Catalogue {
    /// busybox, alpine, nginx, redis and postgres, each as `latest` and a version tag.
    pub fn builtin() -> Catalogue {
        BUILTIN.clone()
    }

    /// Adds a recipe under its normalized repository; a recipe for an existing tag replaces it,
    /// as a push to a registry does. Names are checked here because a recipe the reference
    /// grammar cannot name could never be pulled.
    pub fn add(&mut self, mut recipe: ImageRecipe) -> Result<(), CatalogueError> {
        let reference = format!("{}:{}", recipe.repository, recipe.tag);
        let invalid = || CatalogueError::InvalidReference {
            reference: reference.clone(),
        };
        let repository = match parse_reference(&recipe.repository) {
            Ok((repository, None, None)) => repository,
            _ => return Err(invalid()),
        };
        if !is_tag(&recipe.tag) {
            return Err(invalid());
        }
        let reason = if recipe.layers.is_empty() {
            Some("an image needs at least one layer")
        } else if recipe.os.is_empty() || recipe.architecture.is_empty() {
            Some("os and architecture must be set")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(CatalogueError::InvalidRecipe { reference, reason });
        }
        recipe.repository.clone_from(&repository);
        let repositories = Arc::make_mut(&mut self.repositories);
        repositories.entry(repository).or_default().insert(
            recipe.tag.clone(),
            Entry {
                recipe,
                built: Arc::default(),
            },
        );
        Ok(())
    }

    /// What `docker pull <reference>` would get. The tag defaults to `latest`; a digest wins
    /// over a tag given with it, as in Docker. Shared: a pull copies none of the layer tars.
    pub fn resolve(&self, reference: &str) -> Result<Arc<PulledImage>, CatalogueError> {
        let (repository, tag, digest) = parse_reference(reference)?;
        let name = familiar(&repository);
        let tags = self
            .repositories
            .get(&repository)
            .ok_or_else(|| CatalogueError::NotFound {
                reference: name.to_string(),
            })?;
        let Some(digest) = digest else {
            let tag = tag.unwrap_or_else(|| "latest".to_string());
            return tags.get(&tag).map(Entry::image).ok_or_else(|| {
                CatalogueError::ManifestUnknown {
                    reference: format!("{name}:{tag}"),
                }
            });
        };
        let by_digest = format!("{name}@{digest}");
        let mut image = tags
            .values()
            .map(Entry::image)
            .find(|image| image.digest == digest)
            .ok_or_else(|| CatalogueError::ManifestUnknown {
                reference: by_digest.clone(),
            })?;
        Arc::make_mut(&mut image).reference = by_digest;
        Ok(image)
    }

    /// Every `repo:tag` in Docker's familiar form (`busybox:latest`), sorted.
    pub fn references(&self) -> Vec<String> {
        let mut references: Vec<String> = self
            .repositories
            .iter()
            .flat_map(|(repository, tags)| {
                let name = familiar(repository);
                tags.keys().map(move |tag| format!("{name}:{tag}"))
            })
            .collect();
        references.sort();
        references
    }
}

/// Splits a Docker image reference into (normalized repository, tag, digest) after Docker's
/// grammar: `docker.io`/`index.docker.io` dropped, `library/` added to one-component names,
/// lowercase path components, tags `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, digests `sha256:<64 hex>`.
/// Another registry's domain stays in the repository, which the catalogue never holds.
pub fn parse_reference(
    reference: &str,
) -> Result<(String, Option<String>, Option<String>), CatalogueError> {
    let invalid = || CatalogueError::InvalidReference {
        reference: reference.to_string(),
    };
    // Docker refuses a bare image id here so it cannot be mistaken for a repository.
    if is_hex(reference, 64) {
        return Err(invalid());
    }
    let (named, digest) = match reference.split_once('@') {
        Some((named, digest)) => {
            let valid = digest
                .strip_prefix("sha256:")
                .is_some_and(|h| is_hex(h, 64));
            if !valid {
                return Err(invalid());
            }
            (named, Some(digest.to_string()))
        }
        None => (reference, None),
    };
    let last_component = named.rfind('/').map_or(0, |slash| slash + 1);
    let (name, tag) = match named[last_component..].find(':') {
        Some(colon) => {
            let (name, tag) = named.split_at(last_component + colon);
            (name, Some(&tag[1..]))
        }
        None => (named, None),
    };
    if tag.is_some_and(|tag| !is_tag(tag)) {
        return Err(invalid());
    }
    let repository = normalize_name(name).ok_or_else(invalid)?;
    Ok((repository, tag.map(str::to_string), digest))
}

/// Docker Hub's repository path for `name`, or None if the grammar rejects it.
fn normalize_name(name: &str) -> Option<String> {
    /// Docker counts it on the fully qualified name, `docker.io/library/...` included.
    const NAME_TOTAL_LENGTH_MAX: usize = 255;
    let (domain, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    if domain.is_some_and(|domain| !is_domain(domain)) || !path.split('/').all(is_component) {
        return None;
    }
    let repository = match domain {
        None | Some("docker.io" | "index.docker.io") if !path.contains('/') => {
            format!("library/{path}")
        }
        None | Some("docker.io" | "index.docker.io") => path.to_string(),
        Some(domain) => format!("{domain}/{path}"),
    };
    let on_hub = matches!(domain, None | Some("docker.io" | "index.docker.io"));
    let qualified_len = repository.len() + if on_hub { "docker.io/".len() } else { 0 };
    (qualified_len <= NAME_TOTAL_LENGTH_MAX).then_some(repository)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`: one lowercase path component.
fn is_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    bytes
        .split(alnum)
        .filter(|separator| !separator.is_empty())
        .all(|separator| {
            matches!(separator, b"." | b"_" | b"__") || separator.iter().all(|&b| b == b'-')
        })
}

/// Host name components (letters, digits, inner hyphens) joined by dots, with an optional port.
fn is_domain(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
            && bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
    };
    host.split('.').all(label_ok)
        && port.is_none_or(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let bytes = tag.as_bytes();
    bytes.len() <= 128
        && bytes.first().is_some_and(word)
        && bytes.iter().all(|b| word(b) || matches!(b, b'.' | b'-'))
}

/// Exactly `len` lowercase hex digits.
fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Docker's display name: `library/` is implied for Docker Hub's official images.
fn familiar(repository: &str) -> &str {
    match repository.strip_prefix("library/") {
        Some(rest) if !rest.contains('/') => rest,
        _ => repository,
    }
}

#[cfg(test)]
mod tests;
