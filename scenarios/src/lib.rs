//! Scenario files, proptest regressions and whole-stack property tests for vcsim-lite.
//!
//! The tests live in `tests/`; this library is empty on purpose.
