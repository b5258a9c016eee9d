//! Pod operations, one module each: create (with rollback), start, stop, delete. Each takes the
//! client traits, so they run the same in process and over HTTP.

pub mod creator;
pub mod deleter;
pub mod starter;
pub mod stopper;

/// How often a call refused with 409 (concurrent access) is retried with a fresh handle.
pub const CONFLICT_RETRIES: u32 = 3;

/// A name usable for port layer objects (letters, digits, `_`, `.`, `-`; any other character
/// becomes `-`), one per tuple of parts: the parts are joined with `-`, and a `-` inside any
/// part but the last is doubled. Joining alone would give pods `team/a-web` and `team-a/web`
/// the same name (`team-a-web`); doubled, the second is `team--a-web`. Kubernetes names neither
/// start nor end with `-`, so the single `-` after a part is always the join. Names without
/// `-` before the last part (`default-web`) are as plainly joined.
pub fn object_name(parts: &[&str]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        let last = i + 1 == parts.len();
        for c in part.chars() {
            let c = if c.is_ascii_alphanumeric() || "_.".contains(c) {
                c
            } else {
                '-'
            };
            out.push(c);
            if c == '-' && !last {
                out.push('-');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::object_name;

    #[test]
    fn distinct_parts_give_distinct_names() {
        assert_eq!(object_name(&["default", "web"]), "default-web");
        assert_eq!(object_name(&["team", "a-web"]), "team-a-web");
        assert_eq!(object_name(&["team-a", "web"]), "team--a-web");
        assert_eq!(object_name(&["ns", "a-b", "c"]), "ns-a--b-c");
        assert_eq!(object_name(&["ns", "a", "b-c"]), "ns-a-b-c");
        assert_eq!(object_name(&["ns", "web", "scratch"]), "ns-web-scratch");
        assert_eq!(object_name(&["a b", "c/d"]), "a--b-c-d");
    }
}
