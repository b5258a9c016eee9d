//! Scopes (networks) and their IPAM, as plain data: the port layer's `/scopes` calls, with
//! addresses allocated lowest-free-first so that every run hands out the same IPs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
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
    /// In the order the containers were added.
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
    endpoints: Vec<Endpoint>,
}

impl Scope {
    /// Addresses no endpoint may ever hold: network, broadcast and gateway.
    fn is_reserved(&self, ip: u32) -> bool {
        ip == self.net || ip == self.net | !mask(self.prefix) || ip == self.gateway
    }

    fn lowest_free(&self) -> Option<u32> {
        let free = |ip: &u32| !self.is_reserved(*ip) && !self.allocated.contains(ip);
        self.ranges.iter().find_map(|&(a, b)| (a..=b).find(free))
    }

    /// VIC reserves static addresses from the scope's pools, so they must lie in a range.
    fn reserve(&mut self, a: &str) -> Result<u32> {
        let (ip, name) = (parse_ip("address", a)?, &self.cfg.name);
        let in_pool = self.ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&ip));
        if !in_pool || self.is_reserved(ip) {
            return bad!("address {a} is not assignable in scope {name}");
        }
        if !self.allocated.insert(ip) {
            return conflict!("address {a} is in use in scope {name}");
        }
        Ok(ip)
    }

    fn endpoint(&self, c: &str) -> Option<usize> {
        self.endpoints.iter().position(|e| e.container == c)
    }

    fn endpoint_info(&self, e: &Endpoint) -> EndpointInfo {
        let ip = e.ip.filter(|_| e.bound);
        let external = self.cfg.scope_type == "external";
        EndpointInfo {
            id: e.id.clone(),
            container: e.container.clone(),
            name: e.name.clone(),
            scope: self.cfg.name.clone(),
            address: ip.map(|ip| format!("{}/{}", Ipv4Addr::from(ip), self.prefix)),
            gateway: Ipv4Addr::from(self.gateway).to_string(),
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
        let endpoints = self.endpoints.iter().map(|e| self.endpoint_info(e));
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
        let mut scopes = Scopes {
            scopes: Vec::new(),
            next_scope: 0,
            next_endpoint: 0,
        };
        let mut bridge = ScopeConfig::default();
        (bridge.name, bridge.scope_type) = (DEFAULT_SCOPE.into(), "bridge".into());
        // Cannot fail: with no scopes yet the name and 172.16.0.0/16 are free.
        let created = scopes.create(bridge);
        debug_assert!(created.is_ok(), "{created:?}");
        scopes
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
        let (allocated, endpoints) = (BTreeSet::new(), Vec::new());
        let scope = Scope {
            id,
            cfg,
            net,
            prefix,
            gateway,
            ranges,
            allocated,
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
        if s.endpoint(container_id).is_some() {
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
        let info = s.endpoint_info(&endpoint);
        s.endpoints.push(endpoint);
        self.next_endpoint = self.next_endpoint.saturating_add(1);
        Ok(info)
    }

    pub fn remove_container(&mut self, container_id: &str, scope: &str) -> Result<()> {
        let i = self.index_or_404(scope)?;
        let s = &mut self.scopes[i];
        let Some(e) = s.endpoint(container_id) else {
            return Err(PortLayerError::not_found("endpoint", container_id));
        };
        if let Some(ip) = s.endpoints.remove(e).ip {
            s.allocated.remove(&ip);
        }
        Ok(())
    }

    /// Either every endpoint of the container gets an address or none does.
    pub fn bind(&mut self, container_id: &str) -> Result<Vec<EndpointInfo>> {
        let mut plan = Vec::new();
        for (i, s) in self.scopes.iter().enumerate() {
            let unbound = |e: &usize| s.endpoints[*e].ip.is_none();
            if let Some(e) = s.endpoint(container_id).filter(unbound) {
                let Some(ip) = s.lowest_free() else {
                    return conflict!("scope {} has no free address", s.cfg.name);
                };
                plan.push((i, e, ip));
            }
        }
        for (i, e, ip) in plan {
            self.scopes[i].allocated.insert(ip);
            self.scopes[i].endpoints[e].ip = Some(ip);
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
            let Some(e) = s.endpoint(container_id) else {
                continue;
            };
            let e = &mut s.endpoints[e];
            e.bound = bound;
            if !bound
                && !e.static_ip
                && let Some(ip) = e.ip.take()
            {
                s.allocated.remove(&ip);
            }
        }
    }

    pub fn endpoints_of(&self, container_id: &str) -> Vec<EndpointInfo> {
        let of = |s: &Scope| Some(s.endpoint_info(&s.endpoints[s.endpoint(container_id)?]));
        self.scopes.iter().filter_map(of).collect()
    }

    /// For container removal: static reservations go too.
    pub fn remove_all(&mut self, container_id: &str) {
        for s in &mut self.scopes {
            if let Some(e) = s.endpoint(container_id)
                && let Some(ip) = s.endpoints.remove(e).ip
            {
                s.allocated.remove(&ip);
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
    let [a, b, c, d] = ip.to_be_bytes();
    format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

/// Ids come from a counter, never from randomness, so a replay yields the same ids.
fn hex_id(kind: &str, n: u64) -> String {
    let digest = Sha256::digest(format!("{kind}-{n}").as_bytes());
    digest.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `name type subnet gateway range`, space-separated; `-` or a missing field is empty.
    fn cfg(spec: &str) -> ScopeConfig {
        let f: Vec<&str> = spec.split(' ').collect();
        let field = |i: usize| f.get(i).filter(|v| **v != "-").map(|v| v.to_string());
        let mut c = ScopeConfig::default();
        (c.name, c.scope_type) = (field(0).unwrap_or_default(), field(1).unwrap_or_default());
        (c.subnet, c.gateway, c.ip_ranges) = (field(2), field(3), field(4).into_iter().collect());
        c
    }

    fn create(s: &mut Scopes, spec: &str) -> ScopeInfo {
        s.create(cfg(spec)).unwrap()
    }

    /// Adds container `c` with the static address `ip` ("" for none).
    fn add(s: &mut Scopes, c: &str, scope: &str, ip: &str) -> Result<EndpointInfo> {
        let address = Some(ip.to_string()).filter(|ip| !ip.is_empty());
        let cfg = NetworkConfig {
            address,
            ..Default::default()
        };
        s.add_container(c, "", scope, cfg)
    }

    fn bind(s: &mut Scopes, c: &str) -> Vec<String> {
        let bound = s.bind(c).unwrap().into_iter();
        bound.map(|e| e.address.unwrap_or_default()).collect()
    }

    fn status<T: std::fmt::Debug>(r: Result<T>) -> u16 {
        r.expect_err("the call should fail").status()
    }

    #[test]
    fn the_default_bridge_exists_and_default_aliases_it() {
        let s = Scopes::new();
        let b = s.get("default").unwrap();
        let got = [&*b.name, &*b.scope_type, &*b.subnet, &*b.gateway];
        assert_eq!(got, ["bridge", "bridge", "172.16.0.0/16", "172.16.0.1"]);
        assert_eq!(b.ip_ranges, [&*b.subnet]);
        assert_eq!(s.get(&b.id).unwrap(), b);
        assert_eq!(s.list(), [b]);
        assert_eq!(s.resolve("default").as_deref(), Some("bridge"));
        assert_eq!((s.resolve("x"), status(s.get("x"))), (None, 404));
    }

    #[test]
    fn bind_hands_out_the_lowest_free_addresses_and_unbind_returns_them() {
        let mut s = Scopes::new();
        let web = NetworkConfig::default();
        let e = s.add_container("c1", "web", "default", web).unwrap();
        assert_eq!((e.address, &*e.scope, &*e.name), (None, "bridge", "web"));
        add(&mut s, "c2", "bridge", "").unwrap();
        add(&mut s, "c3", "bridge", "").unwrap();
        assert_eq!(bind(&mut s, "c1"), ["172.16.0.2/16"]);
        let mac = s.endpoints_of("c1")[0].mac_address.clone();
        assert_eq!(mac, "02:42:ac:10:00:02");
        assert_eq!(bind(&mut s, "c2"), ["172.16.0.3/16"]);
        assert_eq!(bind(&mut s, "c2"), ["172.16.0.3/16"], "idempotent");
        let unbound = s.unbind("c1").unwrap();
        assert_eq!(unbound[0].address, None);
        assert_eq!(s.allocated_count(), 1);
        assert_eq!(bind(&mut s, "c3"), ["172.16.0.2/16"]);
        assert_eq!(bind(&mut s, "c1"), ["172.16.0.4/16"]);
        assert_eq!(s.unbind("never-added").unwrap(), []);
        assert_eq!(s.bind("never-added").unwrap(), []);
    }

    #[test]
    fn new_bridge_scopes_take_the_next_free_16_and_reuse_deleted_ones() {
        let mut s = Scopes::new();
        assert_eq!(create(&mut s, "a bridge").subnet, "172.17.0.0/16");
        assert_eq!(create(&mut s, "b bridge").subnet, "172.18.0.0/16");
        s.delete("a").unwrap();
        assert_eq!(create(&mut s, "c bridge").subnet, "172.17.0.0/16");
        create(&mut s, "x external 172.19.0.0/24");
        assert_eq!(create(&mut s, "d bridge").subnet, "172.20.0.0/16");
        let names: Vec<_> = s.list().into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["bridge", "b", "c", "x", "d"]);
        for n in 21..=31 {
            let subnet = create(&mut s, &format!("n{n} bridge")).subnet;
            assert_eq!(subnet, format!("172.{n}.0.0/16"));
        }
        let exhausted = s.create(cfg("one-too-many bridge"));
        let want = conflict!("bridge pool exhausted");
        assert_eq!(exhausted, want);
    }

    #[test]
    fn invalid_scope_configs_are_client_errors_of_the_right_kind() {
        let mut s = Scopes::new();
        create(&mut s, "ext external 10.0.0.0/16");
        let cases = "409 ext bridge
            409 default bridge
            409 o1 bridge 10.0.5.0/24
            409 o2 external 10.0.0.0/8
            409 o3 bridge 172.16.0.0/12
            400 - bridge
            400 t overlay 10.9.0.0/16
            400 e external
            400 h bridge 10.1.0.5/24
            400 g bridge 10.2.0.0/24 10.3.0.1
            400 g bridge 10.2.0.0/24 10.2.0.255
            400 g bridge 10.2.0.0/24 nonsense
            400 r bridge 10.2.0.0/24 - 10.2.1.0/28
            400 r bridge 10.2.0.0/24 - 10.2.0.9-10.2.0.3
            400 r bridge 10.2.0.0/24 - 10.2.0.250-10.2.1.3";
        for case in cases.lines().map(str::trim) {
            let (code, spec) = case.split_once(' ').unwrap();
            assert_eq!(status(s.create(cfg(spec))).to_string(), code, "{case}");
        }
        let dns = ScopeConfig {
            dns: vec!["x".into()],
            ..cfg("d bridge")
        };
        assert_eq!(status(s.create(dns)), 400);
        for cidr in "10.1.0.0 10.1.0.0/31 10.0.0.0/7 10.1.0.0/x 300.1.0.0/16".split(' ') {
            let err = s.create(cfg(&format!("c bridge {cidr}"))).unwrap_err();
            let named = err.to_string().contains(cidr);
            assert!(named && err.status() == 400, "{err}");
        }
        assert_eq!(s.list().len(), 2, "failed creates change nothing");
        let ok = create(&mut s, "g bridge 10.2.0.0/24 10.2.0.254");
        assert_eq!(ok.gateway, "10.2.0.254");
    }

    #[test]
    fn static_addresses_are_reserved_at_add_and_a_container_joins_a_scope_once() {
        let mut s = Scopes::new();
        create(&mut s, "n bridge 10.4.0.0/24 - 10.4.0.16/28");
        assert_eq!(add(&mut s, "a", "n", "10.4.0.18").unwrap().address, None);
        assert_eq!(s.allocated_count(), 1);
        assert_eq!(status(add(&mut s, "b", "n", "10.4.0.18")), 409);
        for ip in "10.4.0.3 10.4.1.18 10.4.0.1 10.4.0.0 10.4.0.255 x ::1".split(' ') {
            assert_eq!(status(add(&mut s, "b", "n", ip)), 400, "{ip}");
        }
        for (c, ip) in [("b", "16"), ("c", "17"), ("d", "19")] {
            add(&mut s, c, "n", "").unwrap();
            assert_eq!(bind(&mut s, c), [format!("10.4.0.{ip}/24")]);
        }
        assert_eq!(bind(&mut s, "a"), ["10.4.0.18/24"]);
        assert_eq!(s.unbind("a").unwrap()[0].address, None);
        let taken = add(&mut s, "e", "n", "10.4.0.18");
        assert_eq!(status(taken), 409, "unbind keeps static addresses");
        assert_eq!(bind(&mut s, "a"), ["10.4.0.18/24"]);
        assert_eq!(status(add(&mut s, "a", "n", "")), 409);
        assert_eq!(status(add(&mut s, "", "n", "")), 400);
        assert_eq!(status(add(&mut s, "a", "nope", "")), 404);
        s.remove_container("a", "n").unwrap();
        assert_eq!(status(s.remove_container("a", "n")), 404);
        add(&mut s, "e", "n", "10.4.0.18").unwrap();
        let named = |n: &str| NetworkConfig {
            network_name: n.into(),
            ..Default::default()
        };
        let wrong = s.add_container("f", "", "bridge", named("n"));
        assert_eq!(status(wrong), 400);
        let right = s.add_container("f", "", "default", named("default"));
        assert_eq!(right.unwrap().name, "f");
    }

    #[test]
    fn an_exhausted_scope_makes_bind_fail_without_taking_any_address() {
        let mut s = Scopes::new();
        let tiny = create(&mut s, "tiny external 192.168.9.0/30");
        add(&mut s, "first", "tiny", "").unwrap();
        assert_eq!(bind(&mut s, "first"), ["192.168.9.2/30"]);
        assert!(s.endpoints_of("first")[0].direct);
        add(&mut s, "second", "bridge", "").unwrap();
        add(&mut s, "second", &tiny.id, "").unwrap();
        let want = conflict!("scope tiny has no free address");
        assert_eq!(s.bind("second"), want);
        assert_eq!(s.allocated_count(), 1);
        let second = s.endpoints_of("second");
        assert!(second.iter().all(|e| e.address.is_none()));
        s.unbind("first").unwrap();
        let both = bind(&mut s, "second");
        assert_eq!(both, ["172.16.0.2/16", "192.168.9.2/30"]);
    }

    #[test]
    fn delete_refuses_the_default_bridge_and_scopes_with_endpoints() {
        let mut s = Scopes::new();
        let refused = [s.delete("default"), s.delete("bridge"), s.delete("x")];
        assert_eq!(refused.map(status), [409, 409, 404]);
        let n = create(&mut s, "n bridge");
        add(&mut s, "c", "n", "").unwrap();
        add(&mut s, "d", "n", "").unwrap();
        let want = conflict!("scope n has 2 endpoints");
        assert_eq!(s.delete(&n.id), want);
        s.remove_all("c");
        s.remove_all("d");
        s.delete(&n.id).unwrap();
        assert_eq!(status(s.get("n")), 404);
    }

    #[test]
    fn remove_all_releases_every_address_of_the_container() {
        let mut s = Scopes::new();
        create(&mut s, "n bridge");
        create(&mut s, "x external 10.8.0.0/16");
        add(&mut s, "c", "x", "").unwrap();
        add(&mut s, "c", "bridge", "").unwrap();
        add(&mut s, "c", "n", "172.17.0.9").unwrap();
        add(&mut s, "other", "bridge", "").unwrap();
        s.bind("other").unwrap();
        let bound = s.bind("c").unwrap().into_iter();
        let scopes: Vec<_> = bound.map(|e| e.scope).collect();
        assert_eq!(scopes, ["bridge", "n", "x"], "scope creation order");
        assert_eq!(s.allocated_count(), 4);
        s.remove_all("c");
        assert_eq!(s.endpoints_of("c"), []);
        assert_eq!(s.allocated_count(), 1);
        s.remove_all("other");
        assert_eq!(s.allocated_count(), 0);
    }

    #[test]
    fn ids_are_deterministic() {
        let run = || {
            let mut s = Scopes::new();
            create(&mut s, "a bridge");
            add(&mut s, "c", "a", "").unwrap();
            s.bind("c").unwrap();
            s
        };
        let (a, b) = (run(), run());
        assert_eq!((&a, a.list()), (&b, b.list()));
        let mut ids: Vec<_> = a.list().into_iter().map(|i| i.id).collect();
        ids.push(a.endpoints_of("c")[0].id.clone());
        ids.dedup();
        assert_eq!(ids.len(), 3);
        let hex = |id: &String| id.bytes().all(|c| c.is_ascii_hexdigit());
        assert!(ids.iter().all(|id| id.len() == 64 && hex(id)));
    }

    #[test]
    fn odd_strings_never_panic_and_the_top_of_the_address_space_is_safe() {
        let mut s = Scopes::new();
        for o in ". / - 1.2.3.4/ /16 1.2.3.4/99999 0.0.0.0/0 é/ü a-b-c".split(' ') {
            let o = o.trim_matches('.');
            let subnet = "10.9.0.0/16";
            for spec in [
                format!("{o} bridge {o}"),
                format!("g bridge {subnet} {o} {o}"),
            ] {
                let _ = s.create(cfg(&spec));
            }
            let dns = ScopeConfig {
                dns: vec![o.into()],
                ..cfg("d bridge")
            };
            assert_eq!(status(s.create(dns)), 400);
            let _ = (add(&mut s, o, o, o), add(&mut s, "c", "bridge", o));
            let _ = (
                s.remove_container(o, o),
                s.delete(o),
                s.bind(o),
                s.unbind(o),
            );
        }
        create(&mut s, "top bridge 255.255.255.0/24 - 255.255.255.252/30");
        for (c, ip) in [("t", "252"), ("u", "253"), ("v", "254")] {
            add(&mut s, c, "top", "").unwrap();
            assert_eq!(bind(&mut s, c), [format!("255.255.255.{ip}/24")]);
        }
        add(&mut s, "w", "top", "").unwrap();
        assert_eq!(status(s.bind("w")), 409);
    }
}
