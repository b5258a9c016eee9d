use super::super::{Catalogue, is_hex};
use super::*;

/// Every image the catalogue can produce, one per tag.
fn all_images() -> Vec<std::sync::Arc<PulledImage>> {
    let catalogue = Catalogue::builtin();
    catalogue
        .references()
        .iter()
        .map(|r| catalogue.resolve(r).expect("listed references resolve"))
        .collect()
}

/// Reads a ustar archive strictly: (path, body) of each entry, or what is wrong.
fn read_ustar(tar: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let octal = |field: &[u8]| -> Result<usize, String> {
        let text = std::str::from_utf8(field).map_err(|e| e.to_string())?;
        usize::from_str_radix(text.trim_matches(['\0', ' ']), 8).map_err(|e| e.to_string())
    };
    if !tar.len().is_multiple_of(TAR_BLOCK) {
        return Err(format!("length {} is not a multiple of 512", tar.len()));
    }
    let mut entries = Vec::new();
    let mut offset = 0;
    loop {
        let header = tar.get(offset..offset + TAR_BLOCK).ok_or("no end blocks")?;
        if header.iter().all(|&b| b == 0) {
            let rest = &tar[offset..];
            let end_ok = rest.len() == 2 * TAR_BLOCK && rest.iter().all(|&b| b == 0);
            return if end_ok {
                Ok(entries)
            } else {
                Err("the archive must end with exactly two zero blocks".to_string())
            };
        }
        let computed: usize = header
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    usize::from(b)
                }
            })
            .sum();
        if octal(&header[148..156])? != computed {
            return Err(format!("bad checksum at offset {offset}"));
        }
        if &header[257..265] != b"ustar\x0000" {
            return Err("not ustar".to_string());
        }
        let size = octal(&header[124..136])?;
        let body_start = offset + TAR_BLOCK;
        let body_end = body_start + size.next_multiple_of(TAR_BLOCK);
        let padded = tar
            .get(body_start..body_end)
            .ok_or("body runs past the end")?;
        if padded[size..].iter().any(|&b| b != 0) {
            return Err("padding is not zero".to_string());
        }
        let name_end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&header[..name_end]).into_owned();
        entries.push((name, padded[..size].to_vec()));
        offset = body_end;
    }
}

#[test]
fn layer_parent_chains_start_at_scratch_and_link_ids() {
    for image in all_images() {
        let mut parent = "scratch".to_string();
        for layer in &image.layers {
            assert_eq!(layer.parent, parent, "{}", image.reference);
            assert!(is_hex(&layer.id, 64), "{}", layer.id);
            parent = layer.id.clone();
        }
    }
}

#[test]
fn identical_base_recipes_share_layer_ids_but_images_differ() {
    let catalogue = Catalogue::builtin();
    let nginx = catalogue.resolve("nginx").expect("nginx");
    let redis = catalogue.resolve("redis").expect("redis");
    assert_eq!(nginx.layers[0].id, redis.layers[0].id);
    assert_eq!(nginx.layers[0].v1_compat, redis.layers[0].v1_compat);
    assert_ne!(nginx.image_id, redis.image_id);
    let ids: std::collections::BTreeSet<_> = all_images()
        .iter()
        .map(|image| image.image_id.clone())
        .collect();
    assert_eq!(ids.len(), 5);
}

#[test]
fn sum_and_diff_id_are_the_sha256_of_the_tar() {
    for image in all_images() {
        for layer in &image.layers {
            let expected = format!("sha256:{}", sha256_hex(layer.tar.bytes()));
            assert_eq!(layer.sum, expected);
            assert_eq!(layer.diff_id, expected);
        }
    }
}

#[test]
fn every_layer_tar_is_a_small_valid_ustar_archive_of_its_recipe() {
    for image in all_images() {
        for layer in &image.layers {
            assert!(
                layer.tar.bytes().len() < 8 * 1024,
                "{}",
                layer.tar.bytes().len()
            );
            let entries = read_ustar(layer.tar.bytes()).expect("valid ustar");
            assert_eq!(entries.len(), 4);
            let body = |suffix: &str| {
                entries
                    .iter()
                    .find(|(name, _)| name.ends_with(suffix))
                    .map(|(_, body)| String::from_utf8_lossy(body).into_owned())
                    .expect("entry present")
            };
            assert_eq!(body("/size"), format!("{}\n", layer.size_bytes));
            let v1: serde_json::Value = serde_json::from_str(&layer.v1_compat).expect("v1 JSON");
            assert_eq!(
                body("/created_by").strip_suffix('\n').expect("newline"),
                v1["container_config"]["Cmd"][0]
            );
        }
    }
}

#[test]
fn the_image_id_is_the_sha256_of_the_config_json() {
    for image in all_images() {
        let id = format!("sha256:{}", sha256_hex(&image.config_json));
        assert_eq!(image.image_id, id);
        assert_eq!(
            image.digest,
            format!("sha256:{}", sha256_hex(&image.manifest_json))
        );
        let config: serde_json::Value =
            serde_json::from_str(&image.config_json).expect("config JSON");
        let diff_ids: Vec<_> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
        assert_eq!(config["rootfs"]["type"], "layers");
        assert_eq!(config["rootfs"]["diff_ids"], serde_json::json!(diff_ids));
        assert_eq!(
            config["history"].as_array().map(Vec::len),
            Some(diff_ids.len())
        );
        assert_eq!(config["created"], image.created.as_str());
        assert_eq!(config["os"], "linux");
        assert_eq!(config["architecture"], "amd64");
        assert!(config["config"]["Env"].is_array());
        assert_eq!(config["config"]["Cmd"], serde_json::json!(image.cmd));
        assert!(!image.cmd.is_empty());
    }
}

#[test]
fn v1_json_has_a_parent_above_the_base_and_the_config_on_top_only() {
    let image = Catalogue::builtin().resolve("nginx").expect("nginx");
    let top = image.layers.len() - 1;
    for (index, layer) in image.layers.iter().enumerate() {
        let v1: serde_json::Value = serde_json::from_str(&layer.v1_compat).expect("JSON");
        assert_eq!(v1["id"], layer.id.as_str());
        assert_eq!(v1["Size"], layer.size_bytes);
        assert!(v1["created"].is_string());
        if index == 0 {
            assert!(v1.get("parent").is_none());
        } else {
            assert_eq!(v1["parent"], layer.parent.as_str());
        }
        assert_eq!(v1.get("config").is_some(), index == top);
    }
    let v1: serde_json::Value = serde_json::from_str(&image.layers[top].v1_compat).expect("JSON");
    assert_eq!(
        v1["config"]["Cmd"],
        serde_json::json!(["nginx", "-g", "daemon off;"])
    );
}

#[test]
fn history_dates_are_rfc3339_and_ascend() {
    for image in all_images() {
        let config: serde_json::Value =
            serde_json::from_str(&image.config_json).expect("config JSON");
        let dates: Vec<&str> = config["history"]
            .as_array()
            .expect("history")
            .iter()
            .filter_map(|h| h["created"].as_str())
            .collect();
        assert!(dates.windows(2).all(|w| w[0] < w[1]), "{dates:?}");
        assert!(
            dates
                .iter()
                .all(|d| d.starts_with("2023-") && d.ends_with('Z'))
        );
        assert_eq!(dates.last().copied(), Some(image.created.as_str()));
    }
}

#[test]
fn resolving_twice_gives_identical_bytes() {
    assert_eq!(all_images(), all_images());
    let catalogue = Catalogue::builtin();
    assert_eq!(catalogue.resolve("postgres"), catalogue.resolve("postgres"));
}

/// Pins the hashed byte formats: if this changes, every stored image id changes with it.
#[test]
fn ids_are_stable_across_versions_of_this_code() {
    let image = Catalogue::builtin().resolve("busybox").expect("busybox");
    assert_eq!(
        image.image_id,
        "sha256:20d8eb1b60b04e37765e245db9b7dd9de38428f7563368c2160ba7f681f05f10"
    );
    assert_eq!(
        image.layers[0].id,
        "94d1618cf46f914f8adb920c98e5c3d3ddbf031ea76608f9459796b05f1cdee6"
    );
    assert_eq!(
        image.digest,
        "sha256:8b088994c78d42fc01b5db06b5fc80ccd2063124cd839d6ea7a3adf4fea6ffb1"
    );
}

#[test]
fn every_image_has_several_layers_and_plausible_sizes() {
    for image in all_images() {
        assert!(image.layers.len() >= 2, "{}", image.reference);
        let total: u64 = image.layers.iter().map(|l| l.size_bytes).sum();
        assert_eq!(image.size_bytes, total);
        assert!(total > 1_000_000, "{}: {total}", image.reference);
        assert!(total < 1_000_000_000, "{}: {total}", image.reference);
        assert!(
            image.layers[0].size_bytes > 1_000_000,
            "a base has a root fs"
        );
    }
    let postgres = Catalogue::builtin().resolve("postgres:16").expect("pg");
    assert!(postgres.layers.len() >= 13);
    assert!(postgres.size_bytes > 250_000_000);
}
