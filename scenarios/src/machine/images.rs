//! What the model knows of images: the references pods name, the layers each known one pulls
//! (from the registry catalogue), and the space each layer takes on the image datastore. The
//! space is measured once, by pulling every known image into an empty stack, rather than
//! derived: how the image store sizes a layer's disk is the store's business, not the model's;
//! the model only has to know that a layer takes its space once, whoever pulls it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use vcsim_lite::persona::{Catalogue, Persona};
use vcsim_lite::portlayer::{PortLayer, VchConfig};
use vcsim_lite::vsphere::{LatencyProfile, WorldBuilder};

/// Images pods may name: the catalogue's, with and without a tag (no tag is `latest`, whose
/// default pull policy is `Always`).
pub const KNOWN: [&str; 7] = [
    "busybox:1.36",
    "busybox",
    "alpine:3.18",
    "nginx:1.25",
    "nginx",
    "redis:7.2",
    "postgres:16",
];
/// Images the registry cannot give: an unknown repository, an unknown tag and a reference
/// Docker's grammar refuses.
pub const UNKNOWN: [&str; 3] = ["nosuch:1.0", "busybox:nosuch", "Bad:Ref"];

/// Layers and sizes of the known images.
#[derive(Debug)]
pub struct ImageFacts {
    /// Space the image store's own root takes when it is created, MiB.
    pub store_mib: u64,
    /// Layer ids of each known reference (as named in [`KNOWN`]), oldest first.
    pub layers_of: BTreeMap<&'static str, Vec<String>>,
    /// Space each layer takes, MiB.
    pub layer_mib: BTreeMap<String, u64>,
}

/// The tag a reference is recorded under once pulled (`busybox` is `busybox:latest`).
pub fn tagged(reference: &str) -> String {
    if reference.contains(':') {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    }
}

/// The facts, measured on first use.
pub fn facts() -> &'static ImageFacts {
    static FACTS: OnceLock<ImageFacts> = OnceLock::new();
    FACTS.get_or_init(measure)
}

fn measure() -> ImageFacts {
    let mut w = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .expect("the built-in inventory builds");
    let mut pl = PortLayer::create(&mut w, VchConfig::new("measure")).expect("a VCH fits");
    let ds = pl.vch().datastore;
    let used = |w: &vcsim_lite::vsphere::World| w.datastore(ds).map_or(0, |d| d.used_mib);
    let before = used(&w);
    let store = Persona::store(&pl);
    pl.create_image_store(&mut w, &store)
        .expect("an image store fits");
    let store_mib = used(&w) - before;
    let catalogue = Catalogue::builtin();
    let mut persona = Persona::new(catalogue.clone());
    let mut layers_of: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for reference in KNOWN {
        let image = catalogue.resolve(reference).expect("a known image");
        layers_of.insert(
            reference,
            image.layers.iter().map(|l| l.id.clone()).collect(),
        );
        persona
            .pull(&mut w, &mut pl, reference)
            .expect("the built-in datastore holds every image");
    }
    let mut layer_mib = BTreeMap::new();
    for id in layers_of.values().flatten() {
        let needle = format!("/{id}/");
        let mib = w
            .disk_files()
            .iter()
            .filter(|((d, path), _)| *d == ds && path.contains(&needle))
            .map(|(_, f)| f.used_mib)
            .sum();
        layer_mib.insert(id.clone(), mib);
    }
    ImageFacts {
        store_mib,
        layers_of,
        layer_mib,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_layer_takes_space_and_unknown_references_do_not_resolve() {
        let f = facts();
        assert_eq!(f.layers_of.len(), KNOWN.len());
        assert!(f.store_mib > 0);
        assert!(f.layer_mib.values().all(|m| *m > 0), "{:?}", f.layer_mib);
        // busybox:1.36 and busybox (latest) are the same content.
        assert_eq!(f.layers_of["busybox:1.36"], f.layers_of["busybox"]);
        let catalogue = Catalogue::builtin();
        for r in UNKNOWN {
            assert!(catalogue.resolve(r).is_err(), "{r}");
        }
    }
}
