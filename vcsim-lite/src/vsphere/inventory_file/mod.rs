//! Inventory files: a lab described in TOML, turned into an [`InventorySpec`].
//!
//! The format is documented key by key in `inventories/example.toml`. Files are written by hand
//! and can be long, so every error points at `FILE:LINE: KEY` (the key as a path such as
//! `datacenter[0].cluster[1].host[2].sockets`) instead of leaving the user to guess which of
//! many similar tables is wrong. Parsing happens in two passes: serde (through
//! `serde_path_to_error`, for the key path) rejects unknown keys and wrong types, then the
//! `validate` pass rejects values that are well-typed but impossible or inconsistent, using
//! the spans `toml::Spanned` keeps for every value it checks.

mod pools;
mod raw;
#[cfg(test)]
mod tests;
mod validate;
mod vms;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde_path_to_error::Segment;

use crate::vsphere::spec::InventorySpec;

/// Key reported when an error is not inside any table or key (e.g. an empty file).
const TOP_LEVEL: &str = "(top level)";

/// Why an inventory file was rejected, and where.
///
/// Display reads `FILE:LINE: KEY: MESSAGE`, the shape editors and terminals turn into a link.
/// Only a file that could not be read at all lacks a line and key; it displays as
/// `FILE: MESSAGE` and keeps the I/O error as its [`source`](std::error::Error::source).
#[derive(Debug)]
pub struct InventoryFileError {
    file: String,
    line: Option<usize>,
    key: String,
    message: String,
    io: Option<std::io::Error>,
}

impl InventoryFileError {
    /// The file name as given to [`parse_inventory`] or [`load_inventory`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line; `None` only when the file could not be read.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The key path, e.g. `datacenter[0].vm[3].pool`; empty only when the file could not be
    /// read. For TOML syntax errors it is a best-effort guess from the table headers above.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What is wrong, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    fn unreadable(file: &str, io: std::io::Error) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            key: String::new(),
            message: format!("cannot read: {io}"),
            io: Some(io),
        }
    }
}

impl fmt::Display for InventoryFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}: {}", self.file, self.key, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for InventoryFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io
            .as_ref()
            .map(|io| io as &(dyn std::error::Error + 'static))
    }
}

/// Reads and parses an inventory file; errors name the file as `path` displays.
pub fn load_inventory(path: &Path) -> Result<InventorySpec, InventoryFileError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|io| InventoryFileError::unreadable(&file, io))?;
    match String::from_utf8(bytes) {
        Ok(text) => parse_inventory(&text, &file),
        Err(err) => {
            // Point at the bad byte rather than failing the whole read: such files are usually
            // a stray Latin-1 character in a comment or name.
            let valid = err.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(err.as_bytes());
            let line = line_of(&text, valid);
            let key = key_at_line(&text, line);
            Err(Source::new(&text, &file).error(valid, key, "not valid UTF-8"))
        }
    }
}

/// Parses inventory text; `file` is only used to name the source in errors.
pub fn parse_inventory(text: &str, file: &str) -> Result<InventorySpec, InventoryFileError> {
    let source = Source::new(text, file);
    let deserializer = toml::Deserializer::parse(text).map_err(|err| {
        let offset = err.span().map_or(0, |span| span.start);
        let key = key_at_line(text, line_of(text, offset));
        source.error(offset, key, err.message())
    })?;
    let raw: raw::RawFile = serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let key = render_path(err.path());
        let offset = match err.inner().span() {
            Some(span) => span.start,
            None => line_of_key(text, &key),
        };
        source.error(offset, key, err.inner().message())
    })?;
    validate::inventory(&source, raw)
}

use super::spec::member_name as expanded_name;

/// The text being parsed, so that errors can turn byte offsets into lines.
struct Source<'a> {
    text: &'a str,
    file: &'a str,
}

impl<'a> Source<'a> {
    fn new(text: &'a str, file: &'a str) -> Self {
        Self { text, file }
    }

    fn error(
        &self,
        offset: usize,
        key: impl Into<String>,
        message: impl fmt::Display,
    ) -> InventoryFileError {
        let key = key.into();
        InventoryFileError {
            file: self.file.to_owned(),
            line: Some(line_of(self.text, offset)),
            key: if key.is_empty() {
                TOP_LEVEL.to_owned()
            } else {
                key
            },
            message: message.to_string(),
            io: None,
        }
    }

    /// An error about a value whose span the TOML deserializer recorded.
    fn at(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl fmt::Display,
    ) -> InventoryFileError {
        self.error(span.start, key, message)
    }
}

/// The 1-based line holding byte `offset` (clamped to the text, so any offset is safe).
fn line_of(text: &str, offset: usize) -> usize {
    let bytes = text.as_bytes();
    let end = offset.min(bytes.len());
    bytes
        .get(..end)
        .map_or(0, |before| before.iter().filter(|&&b| b == b'\n').count())
        + 1
}

/// Renders serde's path as the file's own key path, dropping the segments `toml::Spanned`
/// adds internally (they are an implementation detail the user never wrote).
fn render_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if key.starts_with("$__serde_spanned_private") {
                    continue;
                }
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// Best-effort key path of a line, for errors that have a line but no serde path (syntax
/// errors): tracks `[table]` and `[[array]]` headers the way TOML numbers array elements.
fn key_at_line(text: &str, line: usize) -> String {
    keys_by_line(text)
        .into_iter()
        .nth(line.saturating_sub(1))
        .unwrap_or_default()
}

/// Best-effort first byte of the line holding `key` (exactly, else its longest enclosing
/// table), for the rare serde error that carries no span.
fn line_of_key(text: &str, key: &str) -> usize {
    let keys = keys_by_line(text);
    let mut best: Option<(usize, usize)> = None;
    for (index, line_key) in keys.iter().enumerate() {
        let encloses = key == line_key
            || key
                .strip_prefix(line_key.as_str())
                .is_some_and(|rest| rest.starts_with(['.', '[']));
        if encloses && best.is_none_or(|(_, len)| line_key.len() > len) {
            best = Some((index, line_key.len()));
        }
    }
    let line = best.map_or(0, |(index, _)| index);
    text.split_inclusive('\n').take(line).map(str::len).sum()
}

/// The key path each line belongs to: the table path for header and other lines, plus the
/// key for `key = value` lines.
fn keys_by_line(text: &str) -> Vec<String> {
    let mut arrays: BTreeMap<String, usize> = BTreeMap::new();
    let mut table = String::new();
    let mut keys = Vec::new();
    for content in text.split('\n') {
        let trimmed = content.trim();
        if let Some((is_array, segments)) = parse_header(trimmed) {
            let dotted = segments.join(".");
            if is_array {
                *arrays.entry(dotted.clone()).or_insert(0) += 1;
                let nested = format!("{dotted}.");
                arrays.retain(|name, _| !name.starts_with(&nested));
            }
            table = render_table(&segments, &arrays);
            keys.push(table.clone());
        } else if let Some(key) = assignment_key(trimmed) {
            keys.push(if table.is_empty() {
                key
            } else {
                format!("{table}.{key}")
            });
        } else {
            keys.push(table.clone());
        }
    }
    keys
}

fn parse_header(line: &str) -> Option<(bool, Vec<String>)> {
    let (is_array, rest) = if let Some(rest) = line.strip_prefix("[[") {
        (true, rest)
    } else if let Some(rest) = line.strip_prefix('[') {
        (false, rest)
    } else {
        return None;
    };
    // Stops at the first `]`, so that a half-closed header still names its table.
    let inner = rest.split(']').next().unwrap_or(rest);
    Some((is_array, split_dotted(inner)))
}

/// The key of a `key = value` line; for a line that lost its `=`, a leading bare key.
fn assignment_key(line: &str) -> Option<String> {
    let code = line.split('#').next().unwrap_or_default();
    let key = match code.split_once('=') {
        Some((key, _)) => key,
        None => code.split_whitespace().next().filter(|word| {
            word.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        })?,
    };
    let segments = split_dotted(key);
    (!segments.is_empty()).then(|| segments.join("."))
}

fn split_dotted(key: &str) -> Vec<String> {
    key.split('.')
        .map(|part| part.trim().trim_matches(['"', '\'']).to_owned())
        .filter(|part| !part.is_empty())
        .collect()
}

fn render_table(segments: &[String], arrays: &BTreeMap<String, usize>) -> String {
    let mut out = String::new();
    let mut dotted = String::new();
    for segment in segments {
        if !out.is_empty() {
            out.push('.');
            dotted.push('.');
        }
        out.push_str(segment);
        dotted.push_str(segment);
        if let Some(count) = arrays.get(&dotted) {
            out.push_str(&format!("[{}]", count.saturating_sub(1)));
        }
    }
    out
}
