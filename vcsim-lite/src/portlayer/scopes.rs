//! Scopes (networks) and their IPAM, as plain data: the port layer's `/scopes` calls, with
//! addresses allocated lowest-free-first so that every run hands out the same IPs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use sha2::{Digest, Sha256};

use super::error::{PortLayerError, Result};

/// `Err(BadRequest(format!(..)))`.
macro_rules! bad {
    ($($arg:tt)*) => {
        Err(PortLayerError::BadRequest(format!($($arg)*)))
    };
}

/// `Err(Conflict(format!(..)))`.
macro_rules! conflict {
    ($($arg:tt)*) => {
        Err(PortLayerError::Conflict(format!($($arg)*)))
    };
}

/// Name of the bridge scope every VCH has; it can never be deleted.
const DEFAULT_SCOPE: &str = "bridge";
/// The persona's network mode "default" means the bridge scope.
const DEFAULT_ALIAS: &str = "default";
/// Bridge scopes without a subnet take a /16 from 172.16.0.0/12, as VIC does.
const POOL_SECOND_OCTETS: std::ops::RangeInclusive<u8> = 16..=31;

/// What a caller asks for in `POST /scopes`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ScopeConfig {
    /// Unique; `default` is taken (it names the bridge scope).
    pub name: String,
    /// `bridge` or `external`.
    pub scope_type: String,
    /// CIDR; bridge scopes without one get the next free /16 of the bridge pool.
    pub subnet: Option<String>,
    /// Defaults to the subnet's first address.
    pub gateway: Option<String>,
    pub dns: Vec<String>,
    /// CIDRs or `a-b` ranges inside the subnet that dynamic and static addresses come from;
    /// empty means the whole subnet.
    pub ip_ranges: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    pub internal: bool,
}

/// A scope as `GET /scopes` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeInfo {
    pub id: String,
    pub name: String,
    pub scope_type: String,
    pub subnet: String,
    pub gateway: String,
    pub dns: Vec<String>,
    /// The effective pools: the configured ranges, or the subnet when none were given.
    pub ip_ranges: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    pub internal: bool,
    /// Ordered by container id.
    pub endpoints: Vec<EndpointInfo>,
}

/// What a caller asks for in `POST /scopes/{scope}/containers`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NetworkConfig {
    /// Empty, or a name of the same scope as the one the call targets.
    pub network_name: String,
    /// A static IP, reserved when the container is added so no dynamic allocation takes it.
    pub address: Option<String>,
    pub aliases: Vec<String>,
    pub ports: Vec<String>,
    pub nameservers: Vec<String>,
}

/// A container's membership of one scope, as `GET /scopes/containers/{id}` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointInfo {
    pub id: String,
    pub container: String,
    /// The container's name, or its id when it has none.
    pub name: String,
    /// The scope's name (never the `default` alias).
    pub scope: String,
    /// `a.b.c.d/len` while bound; an unbound (stopped) container shows no address, as in Docker.
    pub address: Option<String>,
    pub gateway: String,
    pub aliases: Vec<String>,
    pub ports: Vec<String>,
    pub nameservers: Vec<String>,
    /// VIC's trust level: container networks (external) default to `published`.
    pub trust: String,
    /// True on external scopes, where the container sits on the network without the VCH's NAT.
    pub direct: bool,
    /// Derived from the IP (`02:42:` + its octets) as Docker does; empty while unbound.
    pub mac_address: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Endpoint {
    id: String,
    container: String,
    name: String,
    cfg: NetworkConfig,
    ip: Option<u32>,
    /// Static addresses survive unbind; dynamic ones go back to the pool.
    static_ip: bool,
    bound: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Scope {
    id: String,
    cfg: ScopeConfig,
    net: u32,
    prefix: u8,
    gateway: u32,
    /// Inclusive, sorted by start, so the first free address found is the lowest one.
    ranges: Vec<(u32, u32)>,
    allocated: BTreeSet<u32>,
    /// Free addresses below `fresh` (handed out once, then given back). With `fresh`, the
    /// lowest free address is found without scanning the allocated ones.
    freed: BTreeSet<u32>,
    /// Every address below it was handed out at least once or is reserved; above it, only
    /// static reservations are taken.
    fresh: u64,
    /// By container id: a lookup per call must not scan 100,000 endpoints.
    endpoints: BTreeMap<String, Endpoint>,
}

impl Scope {
    /// Addresses no endpoint may ever hold: network, broadcast and gateway.
    fn is_reserved(&self, ip: u32) -> bool {
        ip == self.net || ip == self.net | !mask(self.prefix) || ip == self.gateway
    }

    fn lowest_free(&self) -> Option<u32> {
        let fresh = self.next_fresh();
        match (self.freed.first().copied(), fresh) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The lowest address at or above `fresh` that lies in a range and is neither reserved
    /// nor statically taken.
    fn next_fresh(&self) -> Option<u32> {
        let mut ip = self.fresh;
        loop {
            let in_range = |&(a, b): &(u32, u32)| (u64::from(a)..=u64::from(b)).contains(&ip);
            if !self.ranges.iter().any(in_range) {
                ip = self
                    .ranges
                    .iter()
                    .map(|&(a, _)| u64::from(a))
                    .find(|&a| a > ip)?;
                continue;
            }
            let candidate = u32::try_from(ip).ok()?;
            if !self.is_reserved(candidate) && !self.allocated.contains(&candidate) {
                return Some(candidate);
            }
            ip += 1;
        }
    }

    /// Marks `ip` taken; false if it already was.
    fn take(&mut self, ip: u32) -> bool {
        let was_fresh = self.next_fresh() == Some(ip);
        if !self.allocated.insert(ip) {
            return false;
        }
        self.freed.remove(&ip);
        if was_fresh {
            self.fresh = u64::from(ip) + 1;
        }
        true
    }

    fn give_back(&mut self, ip: u32) {
        if self.allocated.remove(&ip) && u64::from(ip) < self.fresh {
            self.freed.insert(ip);
        }
    }

    /// VIC reserves static addresses from the scope's pools, so they must lie in a range.
    fn reserve(&mut self, a: &str) -> Result<u32> {
        let (ip, name) = (parse_ip("address", a)?, &self.cfg.name);
        let in_pool = self.ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&ip));
        if !in_pool || self.is_reserved(ip) {
            return bad!("address {a} is not assignable in scope {name}");
        }
        if !self.take(ip) {
            let name = &self.cfg.name;
            return conflict!("address {a} is in use in scope {name}");
        }
        Ok(ip)
    }

    fn endpoint_info(&self, e: &Endpoint) -> EndpointInfo {
        let ip = e.ip.filter(|_| e.bound);
        let external = self.cfg.scope_type == "external";
        EndpointInfo {
            id: e.id.clone(),
            container: e.container.clone(),
            name: e.name.clone(),
            scope: self.cfg.name.clone(),
            address: ip.map(|ip| cidr(ip, self.prefix)),
            gateway: dotted(self.gateway),
            aliases: e.cfg.aliases.clone(),
            ports: e.cfg.ports.clone(),
            nameservers: e.cfg.nameservers.clone(),
            trust: if external { "published" } else { "unspecified" }.to_string(),
            direct: external,
            mac_address: ip.map(mac_of).unwrap_or_default(),
        }
    }

    fn info(&self) -> ScopeInfo {
        let c = &self.cfg;
        let subnet = format!("{}/{}", Ipv4Addr::from(self.net), self.prefix);
        let mut ip_ranges = c.ip_ranges.clone();
        if ip_ranges.is_empty() {
            ip_ranges.push(subnet.clone());
        }
        let endpoints = self.endpoints.values().map(|e| self.endpoint_info(e));
        ScopeInfo {
            id: self.id.clone(),
            name: c.name.clone(),
            scope_type: c.scope_type.clone(),
            subnet,
            gateway: Ipv4Addr::from(self.gateway).to_string(),
            dns: c.dns.clone(),
            ip_ranges,
            annotations: c.annotations.clone(),
            internal: c.internal,
            endpoints: endpoints.collect(),
        }
    }
}

/// Every scope of one VCH with its IPAM state and endpoints. Scopes are kept in creation
/// order; the default bridge is created first and can never be deleted, so it is always first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scopes {
    scopes: Vec<Scope>,
    next_scope: u64,
    next_endpoint: u64,
}

impl Default for Scopes {
    fn default() -> Self {
        Self::new()
    }
}

impl Scopes {
    /// A VCH's networks at install time: the bridge scope alone, on the pool's first /16.
    pub fn new() -> Self {
        let mut scopes = Scopes::empty();
        let mut bridge = ScopeConfig::default();
        (bridge.name, bridge.scope_type) = (DEFAULT_SCOPE.into(), "bridge".into());
        // Cannot fail: with no scopes yet the name and 172.16.0.0/16 are free.
        let created = scopes.create(bridge);
        debug_assert!(created.is_ok(), "{created:?}");
        scopes
    }

    /// As [`Scopes::new`] with the bridge `width` bits wide (vic-machine's
    /// `--bridge-network-width`, 12 to 30).
    pub fn with_bridge_width(width: u8) -> Result<Self> {
        if !(12..=30).contains(&width) {
            return bad!("bridge network width {width} is not between 12 and 30");
        }
        let mut scopes = Scopes::empty();
        let mut bridge = ScopeConfig::default();
        (bridge.name, bridge.scope_type) = (DEFAULT_SCOPE.into(), "bridge".into());
        bridge.subnet = Some(format!("172.16.0.0/{width}"));
        scopes.create(bridge)?;
        Ok(scopes)
    }

    fn empty() -> Self {
        Scopes {
            scopes: Vec::new(),
            next_scope: 0,
            next_endpoint: 0,
        }
    }

    pub fn create(&mut self, cfg: ScopeConfig) -> Result<ScopeInfo> {
        let (name, ty) = (&cfg.name, &cfg.scope_type);
        if name.is_empty() {
            return bad!("scope name must not be empty");
        }
        if name == DEFAULT_ALIAS || self.index(name).is_some() {
            return conflict!("scope {name} already exists");
        }
        if ty != "bridge" && ty != "external" {
            return bad!("scope type `{ty}` is not bridge or external");
        }
        let (net, prefix) = match given(&cfg.subnet) {
            Some(s) => parse_cidr("subnet", s, 8, 30)?,
            None if ty == "external" => return bad!("an external scope needs a subnet"),
            None => self.next_pool_subnet()?,
        };
        let subnet = format!("{}/{prefix}", Ipv4Addr::from(net));
        if let Some(other) = self.overlapping(net, prefix) {
            return conflict!("subnet {subnet} overlaps scope {}", other.cfg.name);
        }
        let inside = |ip: u32| ip & mask(prefix) == net;
        let broadcast = net | !mask(prefix);
        let gateway = match given(&cfg.gateway) {
            // prefix <= 30, so net | 1 is a host address.
            None => net | 1,
            Some(g) => match parse_ip("gateway", g)? {
                ip if inside(ip) && ip != net && ip != broadcast => ip,
                _ => return bad!("gateway {g} is not a host of subnet {subnet}"),
            },
        };
        if let Some(d) = cfg.dns.iter().find(|d| d.trim().parse::<IpAddr>().is_err()) {
            return bad!("dns server `{d}` is not an IP address");
        }
        let mut ranges = vec![];
        for r in &cfg.ip_ranges {
            let (a, b) = parse_range(r)?;
            if !inside(a) || !inside(b) {
                return bad!("ip range {r} is not inside subnet {subnet}");
            }
            ranges.push((a, b));
        }
        if ranges.is_empty() {
            ranges.push((net, broadcast));
        }
        ranges.sort_unstable();
        let id = hex_id("scope", self.next_scope);
        self.next_scope = self.next_scope.saturating_add(1);
        let (allocated, endpoints) = (BTreeSet::new(), BTreeMap::new());
        let (freed, fresh) = (BTreeSet::new(), u64::from(ranges[0].0));
        let scope = Scope {
            id,
            cfg,
            net,
            prefix,
            gateway,
            ranges,
            allocated,
            freed,
            fresh,
            endpoints,
        };
        let info = scope.info();
        self.scopes.push(scope);
        Ok(info)
    }

    pub fn list(&self) -> Vec<ScopeInfo> {
        self.scopes.iter().map(Scope::info).collect()
    }

    pub fn get(&self, id_or_name: &str) -> Result<ScopeInfo> {
        Ok(self.scopes[self.index_or_404(id_or_name)?].info())
    }

    pub fn delete(&mut self, id_or_name: &str) -> Result<()> {
        let i = self.index_or_404(id_or_name)?;
        let (name, n) = (&self.scopes[i].cfg.name, self.scopes[i].endpoints.len());
        if i == 0 {
            return conflict!("the default scope {name} cannot be deleted");
        }
        if n > 0 {
            return conflict!("scope {name} has {n} endpoints");
        }
        self.scopes.remove(i);
        Ok(())
    }

    /// The endpoint gets its dynamic address only at bind (container start).
    pub fn add_container(
        &mut self,
        container_id: &str,
        container_name: &str,
        scope: &str,
        cfg: NetworkConfig,
    ) -> Result<EndpointInfo> {
        let i = self.add(container_id, container_name, scope, cfg)?;
        let s = &self.scopes[i];
        let e = s.endpoints.get(container_id).expect("just added");
        Ok(s.endpoint_info(e))
    }

    /// [`Scopes::add_container`] without the info (what a commit needs); returns the scope's
    /// index.
    pub(crate) fn add(
        &mut self,
        container_id: &str,
        container_name: &str,
        scope: &str,
        cfg: NetworkConfig,
    ) -> Result<usize> {
        if container_id.is_empty() {
            return bad!("container id must not be empty");
        }
        let i = self.index_or_404(scope)?;
        let network = &cfg.network_name;
        if !network.is_empty() && self.index(network) != Some(i) {
            return bad!("network {network} is not scope {scope}");
        }
        let id = hex_id("endpoint", self.next_endpoint);
        let s = &mut self.scopes[i];
        if s.endpoints.contains_key(container_id) {
            return conflict!("{container_id} is already in scope {}", s.cfg.name);
        }
        let ip = given(&cfg.address).map(|a| s.reserve(a)).transpose()?;
        let name = match container_name {
            "" => container_id.into(),
            name => name.into(),
        };
        let (container, static_ip) = (container_id.into(), ip.is_some());
        let endpoint = Endpoint {
            id,
            container,
            name,
            cfg,
            ip,
            static_ip,
            bound: false,
        };
        s.endpoints.insert(container_id.to_string(), endpoint);
        self.next_endpoint = self.next_endpoint.saturating_add(1);
        Ok(i)
    }

    pub fn remove_container(&mut self, container_id: &str, scope: &str) -> Result<()> {
        let i = self.index_or_404(scope)?;
        let s = &mut self.scopes[i];
        let Some(e) = s.endpoints.remove(container_id) else {
            return Err(PortLayerError::not_found("endpoint", container_id));
        };
        if let Some(ip) = e.ip {
            s.give_back(ip);
        }
        Ok(())
    }

    /// Either every endpoint of the container gets an address or none does.
    pub fn bind(&mut self, container_id: &str) -> Result<Vec<EndpointInfo>> {
        let mut plan = Vec::new();
        for (i, s) in self.scopes.iter().enumerate() {
            let unbound = |e: &&Endpoint| e.ip.is_none();
            if s.endpoints.get(container_id).filter(unbound).is_some() {
                let Some(ip) = s.lowest_free() else {
                    return conflict!("scope {} has no free address", s.cfg.name);
                };
                plan.push((i, ip));
            }
        }
        for (i, ip) in plan {
            let s = &mut self.scopes[i];
            s.take(ip);
            if let Some(e) = s.endpoints.get_mut(container_id) {
                e.ip = Some(ip);
            }
        }
        self.set_bound(container_id, true);
        Ok(self.endpoints_of(container_id))
    }

    /// A container never added to any scope unbinds to an empty list: the persona unbinds
    /// on every stop and reads the answer.
    pub fn unbind(&mut self, container_id: &str) -> Result<Vec<EndpointInfo>> {
        self.set_bound(container_id, false);
        Ok(self.endpoints_of(container_id))
    }

    /// Unbinding gives dynamic addresses back; static ones stay reserved.
    fn set_bound(&mut self, container_id: &str, bound: bool) {
        for s in &mut self.scopes {
            let Some(e) = s.endpoints.get_mut(container_id) else {
                continue;
            };
            e.bound = bound;
            if !bound
                && !e.static_ip
                && let Some(ip) = e.ip.take()
            {
                s.give_back(ip);
            }
        }
    }

    /// Calls `f` with the scope name and `a.b.c.d/len` of each bound endpoint of the
    /// container (what a commit writes to guestinfo, without building `EndpointInfo`s).
    pub fn for_each_address(&self, container_id: &str, mut f: impl FnMut(&str, String)) {
        for s in &self.scopes {
            if let Some(e) = s.endpoints.get(container_id)
                && let Some(ip) = e.ip.filter(|_| e.bound)
            {
                f(&s.cfg.name, cidr(ip, s.prefix));
            }
        }
    }

    pub fn endpoints_of(&self, container_id: &str) -> Vec<EndpointInfo> {
        let of = |s: &Scope| Some(s.endpoint_info(s.endpoints.get(container_id)?));
        self.scopes.iter().filter_map(of).collect()
    }

    /// The address of the container's first bound endpoint, as `endpoints_of` would show it
    /// first, without building the endpoints: what a status needs.
    pub fn first_address(&self, container_id: &str) -> Option<Ipv4Addr> {
        self.scopes.iter().find_map(|s| {
            let e = s.endpoints.get(container_id)?;
            e.ip.filter(|_| e.bound).map(Ipv4Addr::from)
        })
    }

    /// Names of the scopes `container_id` has an endpoint on (no formatting: for bookkeeping).
    pub fn scopes_of(&self, container_id: &str) -> Vec<String> {
        self.scopes
            .iter()
            .filter(|s| s.endpoints.contains_key(container_id))
            .map(|s| s.cfg.name.clone())
            .collect()
    }

    /// For container removal: static reservations go too.
    pub fn remove_all(&mut self, container_id: &str) {
        for s in &mut self.scopes {
            if let Some(e) = s.endpoints.remove(container_id)
                && let Some(ip) = e.ip
            {
                s.give_back(ip);
            }
        }
    }

    /// Addresses held (dynamic and static) across all scopes; zero once every container is gone.
    pub fn allocated_count(&self) -> usize {
        self.scopes.iter().map(|s| s.allocated.len()).sum()
    }

    /// The scope's name, with `default` resolved to the bridge scope.
    pub fn resolve(&self, id_or_name: &str) -> Option<String> {
        Some(self.scopes[self.index(id_or_name)?].cfg.name.clone())
    }

    fn index(&self, id_or_name: &str) -> Option<usize> {
        if id_or_name == DEFAULT_ALIAS {
            return Some(0);
        }
        let by_name = self.scopes.iter().position(|s| s.cfg.name == id_or_name);
        by_name.or_else(|| self.scopes.iter().position(|s| s.id == id_or_name))
    }

    fn index_or_404(&self, id_or_name: &str) -> Result<usize> {
        let i = self.index(id_or_name);
        i.ok_or_else(|| PortLayerError::not_found("scope", id_or_name))
    }

    fn overlapping(&self, net: u32, prefix: u8) -> Option<&Scope> {
        let m = |s: &Scope| mask(s.prefix.min(prefix));
        self.scopes.iter().find(|s| s.net & m(s) == net & m(s))
    }

    fn next_pool_subnet(&self) -> Result<(u32, u8)> {
        let pool = POOL_SECOND_OCTETS.map(|b| (u32::from(Ipv4Addr::new(172, b, 0, 0)), 16));
        let mut free = pool.filter(|&(net, prefix)| self.overlapping(net, prefix).is_none());
        let Some(subnet) = free.next() else {
            return conflict!("bridge pool exhausted");
        };
        Ok(subnet)
    }
}

/// JSON clients send absent optional fields as empty strings too.
fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn mask(prefix: u8) -> u32 {
    let shift = 32u32.saturating_sub(prefix.into());
    u32::MAX.checked_shl(shift).unwrap_or(0)
}

fn parse_ip(what: &str, s: &str) -> Result<u32> {
    match s.trim().parse::<Ipv4Addr>() {
        Ok(ip) => Ok(ip.into()),
        Err(_) => bad!("{what} `{s}` is not an IPv4 address"),
    }
}

/// A network with host bits set is refused rather than masked, as Docker does.
fn parse_cidr(what: &str, s: &str, min: u8, max: u8) -> Result<(u32, u8)> {
    let (ip, len) = s.trim().split_once('/').unwrap_or((s, ""));
    match (ip.parse::<Ipv4Addr>().map(u32::from), len.parse::<u8>()) {
        (Ok(ip), Ok(p)) if (min..=max).contains(&p) && ip & !mask(p) == 0 => Ok((ip, p)),
        _ => bad!("{what} `{s}` is not an IPv4 network with prefix {min}..={max}"),
    }
}

/// A CIDR, an `a-b` range or a single address, as an inclusive range.
fn parse_range(s: &str) -> Result<(u32, u32)> {
    if s.contains('/') {
        let (net, prefix) = parse_cidr("ip range", s, 1, 32)?;
        return Ok((net, net | !mask(prefix)));
    }
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    match (parse_ip("ip range", a)?, parse_ip("ip range", b)?) {
        (a, b) if a <= b => Ok((a, b)),
        _ => bad!("ip range `{s}` ends before it starts"),
    }
}

fn mac_of(ip: u32) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut mac = String::with_capacity(17);
    mac.push_str("02:42");
    for b in ip.to_be_bytes() {
        mac.push(':');
        mac.push(char::from(HEX[usize::from(b >> 4)]));
        mac.push(char::from(HEX[usize::from(b & 15)]));
    }
    mac
}

/// `a.b.c.d`, written digit by digit: `Ipv4Addr`'s `Display` goes through the formatting
/// machinery, and every container info and commit formats addresses.
fn dotted(ip: u32) -> String {
    let mut s = String::with_capacity(18);
    push_dotted(&mut s, ip);
    s
}

fn push_dotted(s: &mut String, ip: u32) {
    for (i, b) in ip.to_be_bytes().into_iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        push_decimal(s, b);
    }
}

fn push_decimal(s: &mut String, b: u8) {
    if b >= 100 {
        s.push(char::from(b'0' + b / 100));
    }
    if b >= 10 {
        s.push(char::from(b'0' + b / 10 % 10));
    }
    s.push(char::from(b'0' + b % 10));
}

/// `a.b.c.d/len`.
fn cidr(ip: u32, prefix: u8) -> String {
    let mut s = dotted(ip);
    s.push('/');
    push_decimal(&mut s, prefix);
    s
}

/// Ids come from a counter, never from randomness, so a replay yields the same ids.
fn hex_id(kind: &str, n: u64) -> String {
    crate::sim::rng::to_hex(&Sha256::digest(format!("{kind}-{n}").as_bytes()))
}

#[cfg(test)]
mod tests;
