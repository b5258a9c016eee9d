//! Where each key of a YAML document is: a map from key paths (`steps[3].apply.spec`, the form
//! serde_yaml_ng prints) to 1-based line numbers.
//!
//! serde reports where a value failed to deserialize, but checks that run after deserializing
//! (a quantity that does not parse, a host the inventory lacks) know only the path of what they
//! reject. This index, built from the YAML parser's events, turns that path back into a line, so
//! every error in a scenario file can read `FILE:LINE: PATH: MESSAGE`.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser};

/// Lines of the keys and sequence items of one YAML document.
#[derive(Clone, Debug, Default)]
pub struct Lines {
    by_path: BTreeMap<String, usize>,
}

/// A mapping or sequence being read.
struct Frame {
    path: String,
    kind: FrameKind,
}

enum FrameKind {
    /// In a mapping: `Some(key)` once the key is read and its value is next.
    Map(Option<String>),
    /// In a sequence: the index of the next item.
    Seq(usize),
    /// A collection used as a mapping key (rare); its contents are not indexed.
    Key,
}

impl Lines {
    /// Indexes `text`. YAML the parser rejects is indexed up to the error; lookups past it fall
    /// back to the nearest indexed ancestor (serde's own error names the syntax problem).
    pub fn index(text: &str) -> Lines {
        let mut lines = Lines::default();
        let mut stack: Vec<Frame> = Vec::new();
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else { break };
            let line = span.start.line();
            match event {
                Event::Scalar(value, ..) => {
                    if let Some(path) = lines.node(&mut stack, line, Some(&value)) {
                        lines.by_path.entry(path).or_insert(line);
                    }
                }
                Event::Alias(_) => {
                    if let Some(path) = lines.node(&mut stack, line, None) {
                        lines.by_path.entry(path).or_insert(line);
                    }
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let is_map = matches!(event, Event::MappingStart(..));
                    let in_key = matches!(
                        stack.last(),
                        Some(Frame {
                            kind: FrameKind::Map(None) | FrameKind::Key,
                            ..
                        })
                    );
                    let (path, kind) = if in_key {
                        (String::new(), FrameKind::Key)
                    } else {
                        let path = lines.node(&mut stack, line, None).unwrap_or_default();
                        lines.by_path.entry(path.clone()).or_insert(line);
                        let kind = if is_map {
                            FrameKind::Map(None)
                        } else {
                            FrameKind::Seq(0)
                        };
                        (path, kind)
                    };
                    stack.push(Frame { path, kind });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    let ended = stack.pop();
                    // A collection used as a key: its parent mapping now expects the value.
                    if let Some(Frame {
                        kind: FrameKind::Key,
                        ..
                    }) = ended
                        && let Some(Frame {
                            kind: FrameKind::Map(key @ None),
                            ..
                        }) = stack.last_mut()
                    {
                        *key = Some("?".into());
                    }
                }
                _ => {}
            }
        }
        lines
    }

    /// Accounts for one node at the top of `stack`: a mapping key (returns the key's path and
    /// records nothing else), a mapping value or a sequence item (returns its path).
    fn node(&mut self, stack: &mut [Frame], line: usize, scalar: Option<&str>) -> Option<String> {
        let Some(top) = stack.last_mut() else {
            return Some(String::new());
        };
        match &mut top.kind {
            FrameKind::Map(key @ None) => {
                let k = scalar.unwrap_or("?").to_string();
                let path = join(&top.path, &k);
                *key = Some(k);
                self.by_path.entry(path).or_insert(line);
                None
            }
            FrameKind::Map(key @ Some(_)) => {
                let k = key.take().unwrap_or_default();
                Some(join(&top.path, &k))
            }
            FrameKind::Seq(i) => {
                let path = format!("{}[{i}]", top.path);
                *i += 1;
                Some(path)
            }
            FrameKind::Key => None,
        }
    }

    /// The line of `path`, or of its nearest indexed ancestor (a path into an alias, say).
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(line) = self.by_path.get(p) {
                return Some(*line);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
seed: 3
vch:
  name: v
steps:
  - advance: 30s
  - apply:
      metadata: {name: web}
      spec:
        containers:
          - name: main
            resources:
              requests:
                memory: 12Q
    expect:
      - pod: {name: web}
";

    #[test]
    fn keys_and_items_map_to_their_lines() {
        let l = Lines::index(TEXT);
        assert_eq!(l.line_of("seed"), Some(1));
        assert_eq!(l.line_of("vch.name"), Some(3));
        assert_eq!(l.line_of("steps[0]"), Some(5));
        assert_eq!(l.line_of("steps[0].advance"), Some(5));
        assert_eq!(l.line_of("steps[1].apply"), Some(6));
        assert_eq!(l.line_of("steps[1].apply.metadata.name"), Some(7));
        assert_eq!(l.line_of("steps[1].apply.spec.containers[0]"), Some(10));
        assert_eq!(
            l.line_of("steps[1].apply.spec.containers[0].resources.requests.memory"),
            Some(13)
        );
        assert_eq!(l.line_of("steps[1].expect[0].pod.name"), Some(15));
    }

    #[test]
    fn an_unknown_path_falls_back_to_its_nearest_ancestor() {
        let l = Lines::index(TEXT);
        assert_eq!(l.line_of("steps[1].apply.spec.volumes[2].name"), Some(8));
        assert_eq!(l.line_of("nothing.here"), None);
    }

    #[test]
    fn broken_yaml_is_indexed_up_to_the_error() {
        let l = Lines::index("seed: 1\nvch:\n  name: [x\n");
        assert_eq!(l.line_of("seed"), Some(1));
        assert_eq!(l.line_of("vch.name"), Some(3));
    }
}
