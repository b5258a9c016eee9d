//! Pod operations, one module each: create (with rollback), start, stop, delete. Each takes the
//! client traits, so they run the same in process and over HTTP.

pub mod creator;
pub mod deleter;
pub mod starter;
pub mod stopper;

/// How often a call refused with 409 (concurrent access) is retried with a fresh handle.
pub const CONFLICT_RETRIES: u32 = 3;

/// A name usable for port layer objects (letters, digits, `_`, `.`, `-`; starting with a letter
/// or digit): Kubernetes names already are, except namespaces and names joined by `-`.
pub fn object_name(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}
