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

/// The free list and the fresh cursor must agree with a plain lowest-free scan, including
/// static addresses taken above and below the cursor and ranges with gaps between them.
#[test]
fn lowest_free_matches_a_scan_through_frees_statics_and_range_gaps() {
    let mut s = Scopes::new();
    let mut c = cfg("net bridge 10.9.0.0/24 - -");
    c.ip_ranges = vec!["10.9.0.1-10.9.0.4".into(), "10.9.0.10-10.9.0.12".into()];
    s.create(c).unwrap();
    let scan = |s: &Scopes| {
        let sc = &s.scopes[s.index("net").unwrap()];
        let free = |ip: &u32| !sc.is_reserved(*ip) && !sc.allocated.contains(ip);
        sc.ranges.iter().find_map(|&(a, b)| (a..=b).find(free))
    };
    let ip = |s: &Scopes, c: &str| {
        let e = s.endpoints_of(c);
        e.iter().find_map(|e| e.address.clone()).unwrap_or_default()
    };
    let names = ["a", "b", "c", "d", "e", "f"];
    for n in names {
        add(&mut s, n, "net", "").unwrap();
    }
    // A static address above the cursor, in the second range.
    add(&mut s, "st", "net", "10.9.0.11").unwrap();
    for n in ["a", "b", "c"] {
        let expected = scan(&s).map(Ipv4Addr::from);
        s.bind(n).unwrap();
        assert_eq!(ip(&s, n), format!("{}/24", expected.unwrap()));
    }
    assert_eq!(ip(&s, "c"), "10.9.0.4/24", ".1 is the gateway");
    s.unbind("a").unwrap();
    for n in ["d", "a", "e"] {
        let expected = scan(&s).map(Ipv4Addr::from);
        s.bind(n).unwrap();
        assert_eq!(ip(&s, n), format!("{}/24", expected.unwrap()), "{n}");
    }
    assert_eq!(
        [ip(&s, "d"), ip(&s, "a"), ip(&s, "e")],
        ["10.9.0.2/24", "10.9.0.10/24", "10.9.0.12/24"]
    );
    assert_eq!(scan(&s), None);
    assert_eq!(status(s.bind("f")), 409, "the scope is full");
    // Freeing the static address below the cursor makes it the lowest free one.
    s.remove_container("st", "net").unwrap();
    s.bind("f").unwrap();
    assert_eq!(ip(&s, "f"), "10.9.0.11/24");
}

#[test]
fn addresses_and_macs_are_written_as_the_standard_formatters_would() {
    for ip in [
        0u32,
        0x0a00_0001,
        0xac10_0002,
        0xc0a8_64ff,
        0x6463_0a09,
        u32::MAX,
    ] {
        let std = Ipv4Addr::from(ip);
        assert_eq!(dotted(ip), std.to_string());
        assert_eq!(cidr(ip, 16), format!("{std}/16"));
        let [a, b, c, d] = ip.to_be_bytes();
        assert_eq!(mac_of(ip), format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}"));
    }
}

#[test]
fn first_address_is_the_first_endpoint_address_endpoints_show() {
    let mut s = Scopes::new();
    create(&mut s, "x external 10.8.0.0/16");
    add(&mut s, "c", "x", "").unwrap();
    add(&mut s, "c", "bridge", "").unwrap();
    let shown = |s: &Scopes| {
        let eps = s.endpoints_of("c");
        let first = eps.iter().find_map(|e| e.address.clone());
        first.map(|a| a.split('/').next().unwrap_or_default().to_string())
    };
    let first = |s: &Scopes| s.first_address("c").map(|a| a.to_string());
    assert_eq!((first(&s), shown(&s)), (None, None), "unbound: no address");
    s.bind("c").unwrap();
    assert_eq!(first(&s), shown(&s));
    assert_eq!(first(&s).as_deref(), Some("172.16.0.2"), "bridge is first");
    s.unbind("c").unwrap();
    assert_eq!((first(&s), shown(&s)), (None, None), "unbound again");
    assert_eq!(s.first_address("nobody"), None);
}
