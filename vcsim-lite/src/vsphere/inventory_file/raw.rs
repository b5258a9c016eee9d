//! The file's own shape, as serde reads it.
//!
//! Kept separate from [`crate::vsphere::spec`] because the file is friendlier than the spec
//! (GiB, `count`, flat pool paths, optional keys) and because values that are validated later
//! are wrapped in [`Spanned`] so their errors can name a line. Every table denies unknown keys:
//! a misspelt optional key would otherwise silently fall back to its default.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Unexpected, Visitor};
use toml::Spanned;

use crate::vsphere::spec::Shares;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub datacenter: Option<Spanned<Vec<RawDatacenter>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatacenter {
    pub name: Spanned<String>,
    #[serde(default)]
    pub cluster: Vec<RawCluster>,
    #[serde(default)]
    pub host: Vec<RawHost>,
    #[serde(default)]
    pub datastore: Vec<RawDatastore>,
    #[serde(default)]
    pub network: Vec<RawNetwork>,
    #[serde(default)]
    pub vm: Vec<RawVm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    pub name: Spanned<String>,
    pub drs: Option<bool>,
    #[serde(default)]
    pub host: Vec<RawHost>,
    #[serde(default)]
    pub pool: Vec<RawPool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHost {
    pub name: Spanned<String>,
    pub count: Option<Spanned<u32>>,
    pub sockets: Spanned<u32>,
    pub cores_per_socket: Spanned<u32>,
    pub mhz_per_core: Spanned<u32>,
    pub memory_gib: Spanned<u64>,
    pub overhead_mib: Option<Spanned<u64>>,
    pub connected: Option<bool>,
    pub maintenance: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPool {
    pub path: Spanned<String>,
    pub cpu_reservation_mhz: Option<Spanned<u64>>,
    pub cpu_limit_mhz: Option<Spanned<i64>>,
    pub cpu_expandable: Option<bool>,
    pub cpu_shares: Option<RawShares>,
    pub memory_reservation_mib: Option<Spanned<u64>>,
    pub memory_limit_mib: Option<Spanned<i64>>,
    pub memory_expandable: Option<bool>,
    pub memory_shares: Option<RawShares>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatastore {
    pub name: Spanned<String>,
    pub capacity_gib: Spanned<u64>,
    pub hosts: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    pub name: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVm {
    pub name: Spanned<String>,
    pub count: Option<Spanned<u32>>,
    pub pool: Spanned<String>,
    pub datastore: Spanned<String>,
    pub vcpus: Option<Spanned<u32>>,
    pub memory_mib: Option<Spanned<u64>>,
    pub disk_gib: Option<Spanned<u64>>,
    pub thin: Option<bool>,
    pub power_on: Option<bool>,
    pub guest_id: Option<Spanned<String>>,
}

/// Shares as written: a level name or a custom count. Checked while deserializing because a
/// string-or-integer value has no natural serde type, and serde's own error then carries the
/// line and key path like any other wrong value.
pub(super) struct RawShares(pub Shares);

impl<'de> Deserialize<'de> for RawShares {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SharesVisitor).map(RawShares)
    }
}

struct SharesVisitor;

impl Visitor<'_> for SharesVisitor {
    type Value = Shares;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#""low", "normal", "high" or a positive integer (custom shares)"#)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Shares, E> {
        match value {
            "low" => Ok(Shares::Low),
            "normal" => Ok(Shares::Normal),
            "high" => Ok(Shares::High),
            _ => Err(E::invalid_value(Unexpected::Str(value), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Shares, E> {
        match u32::try_from(value) {
            Ok(custom) if custom > 0 => Ok(Shares::Custom(custom)),
            _ => Err(E::invalid_value(Unexpected::Signed(value), &self)),
        }
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Shares, E> {
        match u32::try_from(value) {
            Ok(custom) if custom > 0 => Ok(Shares::Custom(custom)),
            _ => Err(E::invalid_value(Unexpected::Unsigned(value), &self)),
        }
    }
}
