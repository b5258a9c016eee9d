//! Pod manifests: what the provider reads must parse, and every key the file gives must be one
//! `Pod` knows (found by a round trip of the manifest through `Pod`).

use k8s_openapi::api::core::v1::Pod;
use provider::quantity::{cpu_millis, memory_bytes};

use super::Cx;
use crate::scenario::FileError;

/// The raw `apply:` value of each step as JSON (`None` for other steps), to find manifest keys
/// `Pod` does not know. `None` if the text cannot be read as plain YAML values.
pub(super) fn manifests_doc(text: &str) -> Option<Vec<Option<serde_json::Value>>> {
    let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).ok()?;
    doc.apply_merge().ok()?;
    let steps = doc.get("steps")?.as_sequence()?;
    Some(
        steps
            .iter()
            .map(|s| s.get("apply").and_then(|m| serde_json::to_value(m).ok()))
            .collect(),
    )
}

/// What the provider will read from the manifest must be readable, and every key the file
/// gives must be one `Pod` knows.
pub(super) fn check_manifest(
    cx: &Cx<'_>,
    path: &str,
    pod: &Pod,
    raw: Option<&serde_json::Value>,
) -> Result<(), FileError> {
    if let (Some(raw), Ok(known)) = (raw, serde_json::to_value(pod))
        && let Some(unknown) = unknown_key(raw, &known, path)
    {
        let (parent, key) = unknown.rsplit_once('.').unwrap_or(("", &unknown));
        let message = if key == "<<" {
            "YAML merge keys (`<<`) are not supported; repeat the manifest, or reuse a whole \
             one with an alias (`apply: *web`)"
                .to_string()
        } else {
            format!(
                "unknown field `{key}` in {} (not part of a Kubernetes Pod)",
                short(parent)
            )
        };
        return Err(cx.err(&unknown, message));
    }
    if pod.metadata.name.as_deref().unwrap_or("").is_empty() {
        return Err(cx.err(&format!("{path}.metadata"), "a pod needs `metadata.name`"));
    }
    let Some(spec) = &pod.spec else {
        return Err(cx.err(path, "a pod needs a `spec`"));
    };
    for (i, c) in spec.containers.iter().enumerate() {
        let Some(res) = &c.resources else { continue };
        for (set, map) in [("requests", &res.requests), ("limits", &res.limits)] {
            for (name, q) in map.iter().flatten() {
                let parsed = match name.as_str() {
                    "cpu" => cpu_millis(&q.0).map(|_| ()),
                    "memory" => memory_bytes(&q.0).map(|_| ()),
                    _ => Ok(()),
                };
                parsed.map_err(|e| {
                    cx.err(
                        &format!("{path}.spec.containers[{i}].resources.{set}.{name}"),
                        e.to_string(),
                    )
                })?;
            }
        }
    }
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        if let Some(q) = v.empty_dir.as_ref().and_then(|e| e.size_limit.as_ref()) {
            memory_bytes(&q.0).map_err(|e| {
                cx.err(
                    &format!("{path}.spec.volumes[{i}].emptyDir.sizeLimit"),
                    e.to_string(),
                )
            })?;
        }
    }
    Ok(())
}

/// The last segment of a path, for messages.
fn short(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// The path of the first key of `raw` (with a non-null value) that `known` lacks.
fn unknown_key(raw: &serde_json::Value, known: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match (raw, known) {
        (Value::Object(r), Value::Object(k)) => r.iter().find_map(|(key, v)| {
            let p = format!("{path}.{key}");
            match k.get(key) {
                Some(kv) => unknown_key(v, kv, &p),
                None if v.is_null() => None,
                None => Some(p),
            }
        }),
        (Value::Array(r), Value::Array(k)) => r
            .iter()
            .zip(k)
            .enumerate()
            .find_map(|(i, (rv, kv))| unknown_key(rv, kv, &format!("{path}[{i}]"))),
        _ => None,
    }
}
