//! Resource pools: the file lists them flat by path, the spec wants a tree.

use super::raw::{RawPool, RawShares};
use super::validate::{Checker, MAX_NAME_LEN, Result};
use crate::vsphere::spec::{AllocationSpec, PoolSpec, Shares};

/// Bounds pool reservations and limits (MHz or MiB) so sums over a pool tree stay exact; the
/// same bound the world's pool operations apply.
use crate::vsphere::pool_ops::MAX_ALLOCATION;
/// Bounds the pool tree so that recursive walks over it stay shallow.
const MAX_POOL_DEPTH: usize = 16;

impl Checker<'_, '_> {
    /// Builds the pool tree from flat paths; a parent must come first so that the file reads
    /// top-down like the vSphere client's tree.
    pub(super) fn pools(&self, raw: &[RawPool], key: &str) -> Result<Vec<PoolSpec>> {
        let mut roots: Vec<PoolSpec> = Vec::new();
        for (p, pool) in raw.iter().enumerate() {
            let key = format!("{key}.pool[{p}]");
            let path_key = format!("{key}.path");
            let path = pool.path.get_ref().as_str();
            let error = |message: String| self.src.at(pool.path.span(), path_key.as_str(), message);
            let segments: Vec<&str> = path.split('/').collect();
            if segments.iter().any(|segment| segment.trim().is_empty()) {
                return Err(error(format!("pool path `{path}` has an empty segment")));
            }
            if segments.len() > MAX_POOL_DEPTH {
                let message = format!("pools nest at most {MAX_POOL_DEPTH} deep");
                return Err(error(message));
            }
            if let Some(long) = segments.iter().find(|s| s.chars().count() > MAX_NAME_LEN) {
                let message =
                    format!("pool name `{long}` is longer than {MAX_NAME_LEN} characters");
                return Err(error(message));
            }
            let cpu = self.allocation(&key, pool, Part::Cpu)?;
            let memory = self.allocation(&key, pool, Part::Memory)?;
            let Some((name, parents)) = segments.split_last() else {
                return Err(error(format!("pool path `{path}` has an empty segment")));
            };
            let mut level = &mut roots;
            for (depth, parent) in parents.iter().enumerate() {
                let Some(found) = level.iter_mut().find(|pool| pool.name == *parent) else {
                    let parent_path = segments.get(..=depth).unwrap_or_default().join("/");
                    let message = format!("parent pool `{parent_path}` is not listed before it");
                    return Err(error(message));
                };
                level = &mut found.children;
            }
            if level.iter().any(|sibling| sibling.name == *name) {
                return Err(error(format!("duplicate pool `{path}`")));
            }
            level.push(PoolSpec {
                name: (*name).to_owned(),
                cpu,
                memory,
                children: Vec::new(),
            });
        }
        Ok(roots)
    }

    fn allocation(&self, key: &str, pool: &RawPool, part: Part) -> Result<AllocationSpec> {
        let (prefix, unit, reservation, limit, expandable, shares) = match part {
            Part::Cpu => (
                "cpu",
                "mhz",
                &pool.cpu_reservation_mhz,
                &pool.cpu_limit_mhz,
                pool.cpu_expandable,
                &pool.cpu_shares,
            ),
            Part::Memory => (
                "memory",
                "mib",
                &pool.memory_reservation_mib,
                &pool.memory_limit_mib,
                pool.memory_expandable,
                &pool.memory_shares,
            ),
        };
        let reservation_key = format!("{key}.{prefix}_reservation_{unit}");
        let limit_key = format!("{key}.{prefix}_limit_{unit}");
        let amount = reservation.as_ref().map_or(0, |r| *r.get_ref());
        if let Some(r) = reservation
            && amount > MAX_ALLOCATION
        {
            let message = format!("{amount} is more than {MAX_ALLOCATION}");
            return Err(self.src.at(r.span(), reservation_key, message));
        }
        let cap = match limit {
            None => None,
            Some(l) => match *l.get_ref() {
                -1 => None,
                value => match u64::try_from(value) {
                    Ok(cap) if cap <= MAX_ALLOCATION => Some(cap),
                    Ok(_) => {
                        let message = format!("{value} is more than {MAX_ALLOCATION}");
                        return Err(self.src.at(l.span(), limit_key, message));
                    }
                    Err(_) => {
                        let message = format!("{value} is not -1 (unlimited) or at least 0");
                        return Err(self.src.at(l.span(), limit_key, message));
                    }
                },
            },
        };
        if let (Some(r), Some(cap)) = (reservation, cap)
            && amount > cap
        {
            let message = format!("reservation {amount} is more than the limit {cap}");
            return Err(self.src.at(r.span(), reservation_key, message));
        }
        Ok(AllocationSpec {
            reservation: amount,
            limit: cap,
            expandable: expandable.unwrap_or(true),
            shares: shares.as_ref().map_or(Shares::Normal, |RawShares(s)| *s),
        })
    }
}

#[derive(Clone, Copy)]
enum Part {
    Cpu,
    Memory,
}
