//! The images themselves: the built-in recipes, and how a recipe becomes a pulled image's bytes
//! (layer tars, v1 ids, v1Compatibility JSON, image config, manifest).
//!
//! Recipes follow Docker Hub's official amd64 images of late 2023. Sizes are the uncompressed
//! layer sizes `docker history` showed, so storage accounting sees realistic magnitudes. Only the
//! steps that matter are kept, plus the final `CMD`: VIC writes every schema1 history entry as a
//! layer, so metadata-only steps are layers of size 0 there too. nginx, redis and postgres share
//! one Debian base recipe on purpose: identical recipes give identical layer ids, so pulls
//! exercise the port layer's "layer already present" path.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{HashedTar, ImageRecipe, LayerRecipe, PulledImage, PulledLayer, familiar};
use crate::sim::SimTime;

/// `PATH` as the Debian- and Alpine-based official images set it.
const PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// debian:bookworm-slim's root filesystem, the base of nginx, redis and postgres.
const BOOKWORM_SLIM: (u64, &str) = (
    74_761_000,
    "/bin/sh -c #(nop) ADD file:39d17d28c5de0bd629e5b7c8190228e5a445d61d668e189b7523e90e68f78244 in / ",
);

/// `size => created_by` rows, oldest first; a macro so rustfmt keeps one layer per line.
macro_rules! layers {
    ($($size:expr => $created_by:expr),* $(,)?) => { [$(($size, $created_by)),*] };
}

/// Every built-in recipe; a version tag and its `latest` alias are separate recipes with the
/// same content, so they resolve to the same image.
pub(super) fn builtin_recipes() -> Vec<ImageRecipe> {
    let busybox = layers! {
        4_261_550 => "/bin/sh -c #(nop) ADD file:7e9002edaafd4e4579b65c8f0aaabde1aeb7fd3f8d95579f7fa4f2e8d89fc5b7 in / ",
        0 => "/bin/sh -c #(nop)  CMD [\"sh\"]",
    };
    let alpine = layers! {
        7_334_164 => "/bin/sh -c #(nop) ADD file:756183bba9c7f4593c2b216e98e4208b9163c4c962ea0837ef88bd917609d001 in / ",
        0 => "/bin/sh -c #(nop)  CMD [\"/bin/sh\"]",
    };
    let nginx = layers! {
        BOOKWORM_SLIM.0 => BOOKWORM_SLIM.1,
        112_398_410 => "/bin/sh -c set -x && groupadd --system --gid 101 nginx && useradd --system --gid nginx \
            --uid 101 nginx && apt-get update && apt-get install -y nginx=${NGINX_VERSION}-${PKG_RELEASE}",
        1_620 => "/bin/sh -c #(nop) COPY file:01e75c6dd0ce317d in / ",
        2_125 => "/bin/sh -c #(nop) COPY file:caec368f5a54f70a in /docker-entrypoint.d ",
        336 => "/bin/sh -c #(nop) COPY file:3b1b9915b7dd898a in /docker-entrypoint.d ",
        3_018 => "/bin/sh -c #(nop) COPY file:57846632accc8997 in /docker-entrypoint.d ",
        4_619 => "/bin/sh -c #(nop) COPY file:9e3b2b63db9f8fc7 in /docker-entrypoint.d ",
        0 => "/bin/sh -c #(nop)  CMD [\"nginx\" \"-g\" \"daemon off;\"]",
    };
    let redis = layers! {
        BOOKWORM_SLIM.0 => BOOKWORM_SLIM.1,
        4_113 => "/bin/sh -c groupadd -r -g 999 redis && useradd -r -g redis -u 999 redis",
        3_069_117 => "/bin/sh -c set -eux; apt-get update; apt-get install -y tzdata",
        4_112_418 => "/bin/sh -c set -eux; wget -O /usr/local/bin/gosu \"$GOSU_URL\"; gosu nobody true",
        56_047_290 => "/bin/sh -c set -eux; wget -O redis.tar.gz \"$REDIS_DOWNLOAD_URL\"; make -C \
            /usr/src/redis -j \"$(nproc)\" all; make -C /usr/src/redis install; redis-server --version",
        0 => "/bin/sh -c mkdir /data && chown redis:redis /data",
        661 => "/bin/sh -c #(nop) COPY file:e873a0e3c13001b5 in /usr/local/bin/ ",
        0 => "/bin/sh -c #(nop)  CMD [\"redis-server\"]",
    };
    let postgres = layers! {
        BOOKWORM_SLIM.0 => BOOKWORM_SLIM.1,
        4_364 => "/bin/sh -c set -eux; groupadd -r postgres --gid=999; useradd -r -g postgres postgres",
        4_145_002 => "/bin/sh -c set -eux; wget -O /usr/local/bin/gosu \"$GOSU_URL\"; gosu nobody true",
        24_900_147 => "/bin/sh -c set -eux; apt-get install -y locales; localedef -i en_US -f UTF-8 en_US.UTF-8",
        1_107_325 => "/bin/sh -c set -eux; apt-get install -y libnss-wrapper xz-utils zstd",
        0 => "/bin/sh -c mkdir /docker-entrypoint-initdb.d",
        4_605 => "/bin/sh -c set -ex; gpg --batch --export --armor \"$key\" > postgres.gpg.asc",
        304_610_244 => "/bin/sh -c set -ex; apt-get install -y \"postgresql-$PG_MAJOR=$PG_VERSION\"",
        29_510 => "/bin/sh -c set -eux; sed -ri \"s!^#?(listen_addresses)\\s*=.*!\\1 = '*'!\" postgresql.conf.sample",
        0 => "/bin/sh -c mkdir -p /var/run/postgresql && chmod 3777 /var/run/postgresql",
        0 => "/bin/sh -c mkdir -p \"$PGDATA\" && chmod 1777 \"$PGDATA\"",
        12_580 => "/bin/sh -c #(nop) COPY multi:a2a9c6a5f1d4b5c1 in /usr/local/bin/ ",
        0 => "/bin/sh -c ln -sT docker-ensure-initdb.sh /usr/local/bin/docker-enforce-initdb.sh",
        0 => "/bin/sh -c #(nop)  CMD [\"postgres\"]",
    };
    let nginx_env = [
        PATH,
        "NGINX_VERSION=1.25.3",
        "NJS_VERSION=0.8.2",
        "PKG_RELEASE=1~bookworm",
    ];
    let redis_env = [PATH, "GOSU_VERSION=1.17", "REDIS_VERSION=7.2.3"];
    let postgres_env = [
        PATH,
        "GOSU_VERSION=1.16",
        "LANG=en_US.utf8",
        "PG_MAJOR=16",
        "PG_VERSION=16.1-1.pgdg120+1",
        "PGDATA=/var/lib/postgresql/data",
    ];
    let nginx_cmd = ["nginx", "-g", "daemon off;"];
    [
        image(
            "library/busybox",
            &["latest", "1.36"],
            &busybox,
            &["sh"],
            &[PATH],
        ),
        image(
            "library/alpine",
            &["latest", "3.18"],
            &alpine,
            &["/bin/sh"],
            &[PATH],
        ),
        image(
            "library/nginx",
            &["latest", "1.25"],
            &nginx,
            &nginx_cmd,
            &nginx_env,
        ),
        image(
            "library/redis",
            &["latest", "7.2"],
            &redis,
            &["redis-server"],
            &redis_env,
        ),
        image(
            "library/postgres",
            &["latest", "16"],
            &postgres,
            &["postgres"],
            &postgres_env,
        ),
    ]
    .concat()
}

/// One recipe per tag; the tags of one call are aliases of the same content.
fn image(
    repository: &str,
    tags: &[&str],
    layers: &[(u64, &str)],
    cmd: &[&str],
    env: &[&str],
) -> Vec<ImageRecipe> {
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    tags.iter()
        .map(|tag| ImageRecipe {
            repository: repository.to_string(),
            tag: (*tag).to_string(),
            layers: layers
                .iter()
                .map(|&(size_bytes, created_by)| LayerRecipe {
                    size_bytes,
                    created_by: created_by.to_string(),
                })
                .collect(),
            cmd: strings(cmd),
            env: strings(env),
            os: "linux".to_string(),
            architecture: "amd64".to_string(),
        })
        .collect()
}

fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    Sha256::digest(bytes.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A number drawn from a hash, for the few values (dates) that need spread, not meaning.
fn hash_u64(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// `serde_json` fails only on maps with non-string keys, which these structs do not have.
fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("catalogue JSON has no non-string map keys")
}

/// `config` in the image config and the top layer's v1 JSON.
#[derive(Serialize)]
struct RunConfig<'a> {
    #[serde(rename = "Cmd")]
    cmd: &'a [String],
    #[serde(rename = "Env")]
    env: &'a [String],
}

/// `container_config` of a v1 layer: the history line that built it.
#[derive(Serialize)]
struct ContainerConfig<'a> {
    #[serde(rename = "Cmd")]
    cmd: [&'a str; 1],
}

/// Schema1 `v1Compatibility`: the base has no parent; only the top carries the image config.
#[derive(Serialize)]
struct V1Compat<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<&'a str>,
    created: &'a str,
    container_config: ContainerConfig<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<&'a RunConfig<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    architecture: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    os: Option<&'a str>,
    #[serde(rename = "Size")]
    size: u64,
}

#[derive(Serialize)]
struct History<'a> {
    created: &'a str,
    created_by: &'a str,
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<&'a str>,
}

/// Docker's image config; its sha256 is the image id.
#[derive(Serialize)]
struct ImageConfig<'a> {
    architecture: &'a str,
    config: &'a RunConfig<'a>,
    created: &'a str,
    history: Vec<History<'a>>,
    os: &'a str,
    rootfs: RootFs<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor<'a> {
    media_type: &'static str,
    size: usize,
    digest: &'a str,
}

/// Schema2 manifest; its sha256 is the digest `docker pull` prints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a> {
    schema_version: u32,
    media_type: &'static str,
    config: Descriptor<'a>,
    layers: Vec<Descriptor<'a>>,
}

/// 2023-06-01T00:00:00Z, the start of the window base layers are dated in.
const CREATED_EPOCH_SECS: u64 = 1_685_577_600;
const CREATED_WINDOW_SECS: u64 = 150 * 86_400;

/// Builds the pulled image. A layer's v1 id is the sha256 of a canonical string of its parent id,
/// diff id, declared size and history line; the top layer's also covers the run config, os and
/// architecture, as Docker's v1 ids cover the image config. So identical base recipes share ids,
/// while images differing only in their command do not share a top layer. Creation dates come
/// from the same hash: a base layer falls in the 150 days after [`CREATED_EPOCH_SECS`], each
/// later layer 1 to 61 minutes after its parent, so history reads in order.
pub(super) fn build(recipe: &ImageRecipe) -> PulledImage {
    let run_config = RunConfig {
        cmd: &recipe.cmd,
        env: &recipe.env,
    };
    let run_config_json = to_json(&run_config);
    let mut layers: Vec<PulledLayer> = Vec::with_capacity(recipe.layers.len());
    let mut dates: Vec<String> = Vec::with_capacity(recipe.layers.len());
    let mut created_micros = None;
    for (index, layer) in recipe.layers.iter().enumerate() {
        let parent = layers
            .last()
            .map_or("scratch", |p| p.id.as_str())
            .to_string();
        let tar = HashedTar::new(layer_tar(layer));
        let sum = tar.sum();
        let key = sha256_hex(format!(
            "vcsim-lite v1 layer\nparent {parent}\ndiff_id {sum}\nsize {}\ncreated_by {}\n",
            layer.size_bytes, layer.created_by
        ));
        let spread = hash_u64(&key);
        let micros = match created_micros {
            None => (CREATED_EPOCH_SECS + spread % CREATED_WINDOW_SECS) * 1_000_000,
            Some(previous) => previous + (60 + spread % 3_600) * 1_000_000,
        } + spread % 1_000_000;
        created_micros = Some(micros);
        let created = SimTime(micros).to_string();
        let top = index + 1 == recipe.layers.len();
        let id = if top {
            sha256_hex(format!(
                "{key}\nconfig {run_config_json}\nos {}\narchitecture {}\n",
                recipe.os, recipe.architecture
            ))
        } else {
            key
        };
        let v1_compat = to_json(&V1Compat {
            id: &id,
            parent: (parent != "scratch").then_some(parent.as_str()),
            created: &created,
            container_config: ContainerConfig {
                cmd: [&layer.created_by],
            },
            config: top.then_some(&run_config),
            architecture: top.then_some(recipe.architecture.as_str()),
            os: top.then_some(recipe.os.as_str()),
            size: layer.size_bytes,
        });
        dates.push(created);
        layers.push(PulledLayer {
            id,
            parent,
            tar,
            diff_id: sum.clone(),
            sum,
            size_bytes: layer.size_bytes,
            v1_compat,
        });
    }
    let created = dates.last().cloned().unwrap_or_default();
    let config_json = to_json(&ImageConfig {
        architecture: &recipe.architecture,
        config: &run_config,
        created: &created,
        history: recipe
            .layers
            .iter()
            .zip(&dates)
            .map(|(layer, created)| History {
                created,
                created_by: &layer.created_by,
            })
            .collect(),
        os: &recipe.os,
        rootfs: RootFs {
            kind: "layers",
            diff_ids: layers.iter().map(|l| l.diff_id.as_str()).collect(),
        },
    });
    let image_id = format!("sha256:{}", sha256_hex(&config_json));
    let manifest_json = to_json(&Manifest {
        schema_version: 2,
        media_type: "application/vnd.docker.distribution.manifest.v2+json",
        config: Descriptor {
            media_type: "application/vnd.docker.container.image.v1+json",
            size: config_json.len(),
            digest: &image_id,
        },
        layers: layers
            .iter()
            .map(|l| Descriptor {
                media_type: "application/vnd.docker.image.rootfs.diff.tar",
                size: l.tar.bytes().len(),
                digest: &l.sum,
            })
            .collect(),
    });
    let digest = format!("sha256:{}", sha256_hex(&manifest_json));
    let name = familiar(&recipe.repository);
    PulledImage {
        repository: recipe.repository.clone(),
        tag: recipe.tag.clone(),
        reference: format!("{name}:{}", recipe.tag),
        image_id,
        digest,
        size_bytes: layers.iter().map(|l| l.size_bytes).sum(),
        layers,
        config_json,
        manifest_json,
        created,
        cmd: recipe.cmd.clone(),
    }
}

/// The layer's tar: its history line, declared size and a filler that grows with the declared
/// size (up to 2 KiB), under a directory named by the layer's content so layers do not collide.
fn layer_tar(layer: &LayerRecipe) -> Vec<u8> {
    let seed = sha256_hex(format!("{}\n{}", layer.size_bytes, layer.created_by));
    let dir = format!("vcsim/layers/{}/", &seed[..12]);
    let blocks = 1 + (layer.size_bytes / 1_000_000).min(31);
    let mut filler = String::new();
    let mut block = seed.clone();
    for _ in 0..blocks {
        block = sha256_hex(&block);
        filler.push_str(&block);
    }
    let files = [
        ("created_by", format!("{}\n", layer.created_by)),
        ("size", format!("{}\n", layer.size_bytes)),
        ("filler", filler),
    ];
    let mut out = Vec::new();
    tar_entry(&mut out, &dir, b"", b'5');
    for (name, body) in files {
        tar_entry(&mut out, &format!("{dir}{name}"), body.as_bytes(), b'0');
    }
    out.resize(out.len() + 2 * TAR_BLOCK, 0);
    out
}

const TAR_BLOCK: usize = 512;
/// Fixed mtime (2023-06-01T00:00:00Z) so a tar's bytes depend on its recipe alone.
const TAR_MTIME: u64 = CREATED_EPOCH_SECS;

/// Appends one ustar entry (header block, body padded to a block). Paths are ours and short.
fn tar_entry(out: &mut Vec<u8>, path: &str, body: &[u8], typeflag: u8) {
    let mode = if typeflag == b'5' {
        "0000755"
    } else {
        "0000644"
    };
    let (size, mtime) = (format!("{:011o}", body.len()), format!("{TAR_MTIME:011o}"));
    let mut header = [0u8; TAR_BLOCK];
    for (range, value) in [
        (0..100, path.as_bytes()),
        (100..108, mode.as_bytes()),
        (108..116, b"0000000"), // uid
        (116..124, b"0000000"), // gid
        (124..136, size.as_bytes()),
        (136..148, mtime.as_bytes()),
        (148..156, b"        "), // the checksum counts its own field as spaces
        (156..157, &[typeflag]),
        (257..265, b"ustar\x0000"),
        (265..269, b"root"),    // uname
        (297..301, b"root"),    // gname
        (329..337, b"0000000"), // devmajor
        (337..345, b"0000000"), // devminor
    ] {
        let field = &mut header[range];
        let n = value.len().min(field.len());
        field[..n].copy_from_slice(&value[..n]);
    }
    let checksum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(body);
    out.resize(out.len().next_multiple_of(TAR_BLOCK), 0);
}

#[cfg(test)]
mod tests;
