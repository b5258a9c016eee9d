use super::*;

fn busybox() -> Arc<PulledImage> {
    Catalogue::builtin()
        .resolve("busybox")
        .expect("busybox is built in")
}

#[test]
fn every_builtin_reference_resolves() {
    let catalogue = Catalogue::builtin();
    let references = catalogue.references();
    for name in ["busybox", "alpine", "nginx", "redis", "postgres"] {
        assert!(references.contains(&format!("{name}:latest")), "{name}");
    }
    assert_eq!(references.len(), 10);
    for reference in &references {
        let image = catalogue.resolve(reference).expect("resolves");
        assert_eq!(&image.reference, reference);
    }
}

#[test]
fn references_are_familiar_names_in_sorted_order() {
    let references = Catalogue::builtin().references();
    let mut sorted = references.clone();
    sorted.sort();
    assert_eq!(references, sorted);
    assert_eq!(references[0], "alpine:3.18");
    assert!(references.iter().all(|r| !r.starts_with("library/")));
}

#[test]
fn short_tagged_library_and_registry_forms_give_the_same_image() {
    let catalogue = Catalogue::builtin();
    let forms = [
        "busybox",
        "busybox:latest",
        "library/busybox:latest",
        "docker.io/library/busybox:latest",
        "docker.io/busybox",
        "index.docker.io/library/busybox",
    ];
    for form in forms {
        assert_eq!(catalogue.resolve(form), Ok(busybox()), "{form}");
    }
    assert_eq!(busybox().repository, "library/busybox");
    assert_eq!(busybox().tag, "latest");
    assert_eq!(busybox().reference, "busybox:latest");
}

#[test]
fn the_version_tag_aliases_latest() {
    let catalogue = Catalogue::builtin();
    for (name, version) in [
        ("busybox", "1.36"),
        ("alpine", "3.18"),
        ("nginx", "1.25"),
        ("redis", "7.2"),
        ("postgres", "16"),
    ] {
        let latest = catalogue.resolve(name).expect("latest");
        let pinned = catalogue
            .resolve(&format!("{name}:{version}"))
            .expect("version");
        assert_eq!(latest.image_id, pinned.image_id, "{name}");
        assert_eq!(latest.digest, pinned.digest, "{name}");
        assert_eq!(latest.layers, pinned.layers, "{name}");
        assert_eq!(pinned.tag, version);
    }
}

#[test]
fn an_unknown_repository_is_denied_in_dockers_words() {
    let error = Catalogue::builtin().resolve("nosuch").expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "pull access denied for nosuch, repository does not exist or may require 'docker login'"
    );
    assert_eq!(error.status(), 404);
    let error = Catalogue::builtin()
        .resolve("quay.io/coreos/etcd:v3")
        .expect_err("other registry");
    assert!(
        error
            .to_string()
            .starts_with("pull access denied for quay.io/coreos/etcd,")
    );
}

#[test]
fn an_unknown_tag_is_a_missing_manifest() {
    let error = Catalogue::builtin()
        .resolve("busybox:nosuch")
        .expect_err("unknown tag");
    assert_eq!(error.to_string(), "manifest for busybox:nosuch not found");
    assert_eq!(error.status(), 404);
}

#[test]
fn uppercase_and_malformed_references_are_invalid() {
    let catalogue = Catalogue::builtin();
    let bad = [
        "BusyBox",
        "busybox::x",
        "",
        ":latest",
        "busybox:",
        "busybox:.x",
        "-busybox",
        "library//busybox",
        "busybox/",
        "bus..box",
        "busybox@sha256:abc",
        "busybox@md5:0123",
        "busybox@",
        "docker.io/",
        "bad_domain.io:x/busybox",
        &"a".repeat(240),
        &"b".repeat(64),
        &format!("busybox:{}", "t".repeat(129)),
    ];
    for reference in bad {
        let error = catalogue.resolve(reference).expect_err(reference);
        assert_eq!(
            error,
            CatalogueError::InvalidReference {
                reference: reference.to_string()
            }
        );
        assert_eq!(error.to_string(), "invalid reference format");
        assert_eq!(error.status(), 400);
    }
}

#[test]
fn parse_reference_normalizes_like_docker() {
    let parsed = |r: &str| parse_reference(r).expect(r);
    let digest = format!("sha256:{}", "0".repeat(64));
    let cases = [
        ("busybox", ("library/busybox", None, None)),
        ("my_org/app-1:v1.0", ("my_org/app-1", Some("v1.0"), None)),
        ("docker.io/foo/bar", ("foo/bar", None, None)),
        (
            "localhost:5000/a__b/c",
            ("localhost:5000/a__b/c", None, None),
        ),
        ("localhost/x:1", ("localhost/x", Some("1"), None)),
        (
            "a---b.c_d:Tag_1",
            ("library/a---b.c_d", Some("Tag_1"), None),
        ),
        (
            &format!("redis:7.2@{digest}"),
            ("library/redis", Some("7.2"), Some(digest.as_str())),
        ),
    ];
    for (reference, (repository, tag, digest)) in cases {
        assert_eq!(
            parsed(reference),
            (
                repository.to_string(),
                tag.map(str::to_string),
                digest.map(str::to_string)
            ),
            "{reference}"
        );
    }
}

#[test]
fn digest_references_resolve_to_the_image_of_that_manifest() {
    let catalogue = Catalogue::builtin();
    let alpine = catalogue.resolve("alpine:3.18").expect("alpine");
    let by_digest = format!("alpine@{}", alpine.digest);
    let pulled = catalogue.resolve(&by_digest).expect("by digest");
    assert_eq!(pulled.image_id, alpine.image_id);
    assert_eq!(pulled.reference, by_digest);
    assert_eq!(pulled.tag, "3.18");
    let both = format!("docker.io/library/alpine:latest@{}", alpine.digest);
    assert_eq!(
        catalogue.resolve(&both).expect("both").image_id,
        alpine.image_id
    );
    let unknown = format!("busybox@{}", alpine.digest);
    assert_eq!(
        catalogue
            .resolve(&unknown)
            .expect_err("wrong repo")
            .to_string(),
        format!("manifest for {unknown} not found")
    );
}

fn recipe(repository: &str, tag: &str) -> ImageRecipe {
    ImageRecipe {
        repository: repository.to_string(),
        tag: tag.to_string(),
        layers: vec![LayerRecipe {
            size_bytes: 2_000_000,
            created_by: "/bin/sh -c #(nop) ADD file:abc in / ".to_string(),
        }],
        cmd: vec!["app".to_string()],
        env: Vec::new(),
        os: "linux".to_string(),
        architecture: "amd64".to_string(),
    }
}

#[test]
fn add_validates_names_and_recipes() {
    let mut catalogue = Catalogue::default();
    for (repository, tag) in [
        ("MyOrg/app", "1"),
        ("myorg/app:1", "1"),
        ("myorg//app", "1"),
        ("myorg/app", ""),
        ("myorg/app", "-x"),
        ("myorg/app", "a b"),
    ] {
        let error = catalogue
            .add(recipe(repository, tag))
            .expect_err(repository);
        assert!(
            matches!(error, CatalogueError::InvalidReference { .. }),
            "{repository}:{tag}"
        );
    }
    let mut empty = recipe("myorg/app", "1");
    empty.layers.clear();
    assert!(matches!(
        catalogue.add(empty),
        Err(CatalogueError::InvalidRecipe { .. })
    ));
    assert!(catalogue.references().is_empty());

    catalogue.add(recipe("myorg/app", "1")).expect("valid");
    catalogue
        .add(recipe("docker.io/tool", "v2"))
        .expect("valid");
    assert_eq!(catalogue.references(), ["myorg/app:1", "tool:v2"]);
    let tool = catalogue
        .resolve("library/tool:v2")
        .expect("normalized on add");
    assert_eq!(tool.repository, "library/tool");
    assert_eq!(tool.layers.len(), 1);
    assert_eq!(tool.layers[0].parent, "scratch");
}

#[test]
fn a_recipe_added_again_replaces_the_tag() {
    let mut catalogue = Catalogue::builtin();
    let before = catalogue.resolve("busybox").expect("busybox");
    let mut replacement = recipe("busybox", "latest");
    replacement.cmd = vec!["true".to_string()];
    catalogue.add(replacement).expect("valid");
    let after = catalogue.resolve("busybox").expect("busybox");
    assert_ne!(before.image_id, after.image_id);
    assert_eq!(catalogue.references().len(), 10);
}

proptest::proptest! {
    #[test]
    fn parsing_any_text_never_panics_and_accepted_repositories_parse_to_themselves(
        text in "\\PC{0,24}|[a-zA-Z0-9./:_@-]{0,40}"
    ) {
        if let Ok((repository, _, _)) = parse_reference(&text) {
            let reparsed = parse_reference(&repository).map(|(r, _, _)| r);
            proptest::prop_assert_eq!(reparsed, Ok(repository));
        }
    }
}

#[test]
fn copies_of_a_catalogue_share_the_images_built() {
    let (a, b) = (Catalogue::builtin(), Catalogue::builtin());
    let redis_latest = |c: &Catalogue| c.repositories["library/redis"]["latest"].built.clone();
    let from_a = a.resolve("redis").expect("redis");
    let built = redis_latest(&b);
    assert_eq!(built.get(), Some(&from_a), "b sees the image a built");
    assert!(
        Arc::ptr_eq(&from_a, &b.resolve("redis").expect("redis")),
        "nothing copied"
    );
    assert!(Arc::ptr_eq(&built, &redis_latest(&a)));
    // A recipe pushed to one copy is that copy's alone.
    let mut c = b.clone();
    let mut recipe = c.repositories["library/redis"]["latest"].recipe.clone();
    recipe.cmd = vec!["redis-server".into(), "--port".into(), "7000".into()];
    c.add(recipe).expect("valid recipe");
    assert_ne!(c.resolve("redis").expect("redis").image_id, from_a.image_id);
    assert_eq!(b.resolve("redis").expect("redis"), from_a);
}
