//! Fault rules: named vSphere faults injected into matching operations.
//!
//! Rules are simulation inputs, so they replay exactly from the seed: the only randomness is the
//! [`SimRng`] passed to [`FaultPlan::check`], and a draw happens only when a rule matches, is past
//! its skip count, is not exhausted and has a probability below 100%. The draw sequence is
//! therefore a pure function of the calls made.

use std::fmt;
use std::str::FromStr;

use glob::Pattern;

use super::fault_kind::{FaultKind, ObjectKind, Operation, UnknownName};
use super::rng::SimRng;

/// 100% in parts per million: the probability at which no draw is needed.
const CERTAIN_PPM: u32 = 1_000_000;

// Operation sets are bitmasks indexed by `Operation` discriminant.
const _: () = assert!(Operation::ALL.len() <= 64);

/// One injected fault, in the form `OP:KIND/NAME=[SKIP>][PROB%][MAX*]FAULT`.
///
/// Kept as plain data (globs are compiled by [`FaultPlan`]) so rules compare, print and round-trip
/// through their text form, which is how they travel in files and on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// A WSDL method name or a glob over them, so one rule can cover a family of operations.
    pub op: String,
    /// The kind of object targeted; `None` (written `*`) because some faults hit every kind.
    pub kind: Option<ObjectKind>,
    /// A glob on the inventory name, so a rule can single out e.g. the `web-*` VMs.
    pub name: String,
    /// Matching calls let through before the rule may fire, to fail "the third create".
    pub skip: u32,
    /// Chance of firing in parts per million; integers keep the draw exact and replayable.
    pub probability_ppm: u32,
    /// Most times the rule fires, so a flaky fault can heal; `None` means forever.
    pub max: Option<u32>,
    /// The fault the client sees.
    pub fault: FaultKind,
}

/// Why a fault rule's text was rejected. Every variant but `Empty` holds the whole rule first,
/// and every message quotes it, so the bad line can be found among many in a file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultRuleError {
    /// Blank input is almost always a quoting mistake, so it is not silently ignored.
    #[error("fault rule is empty")]
    Empty,
    /// Whitespace inside a rule usually means two rules ran together or a shell split one.
    #[error("fault rule `{0}`: whitespace is not allowed inside a rule")]
    Whitespace(String),
    #[error("fault rule `{0}`: missing `=` between the target and the fault")]
    MissingEquals(String),
    #[error("fault rule `{0}`: missing `:` after the operation")]
    MissingColon(String),
    #[error("fault rule `{0}`: missing `/` between kind and name")]
    MissingSlash(String),
    /// The catalogue error lists the known operations, which is what the user needs next.
    #[error("fault rule `{0}`: {1}")]
    UnknownOperation(String, UnknownName),
    /// A glob that matches no operation is a typo that would otherwise never fire.
    #[error("fault rule `{0}`: operation pattern `{1}` matches no known operation")]
    NoOperationMatches(String, String),
    #[error("fault rule `{0}`: {1}; use `*` for any kind")]
    UnknownKind(String, UnknownName),
    #[error("fault rule `{0}`: the object name pattern is empty; use `*` for any name")]
    EmptyName(String),
    /// The glob (second field) and the glob crate's reason (third).
    #[error("fault rule `{0}`: bad glob `{1}`: {2}")]
    BadGlob(String, String, String),
    /// Which count (`skip count` or `max count`) and its text. Counts are checked rather than
    /// wrapped so a huge typo cannot turn into a small number.
    #[error("fault rule `{0}`: {1} `{2}` must be a whole number at most 4294967295")]
    BadCount(String, &'static str, String),
    #[error("fault rule `{0}`: max count must be at least 1")]
    ZeroMax(String),
    #[error("fault rule `{0}`: probability `{1}%` is not a decimal with at most 4 decimals")]
    BadProbability(String, String),
    #[error("fault rule `{0}`: probability `{1}%` must be greater than 0 and at most 100")]
    ProbabilityOutOfRange(String, String),
    #[error("fault rule `{0}`: missing the fault name after `=`")]
    MissingFault(String),
    #[error("fault rule `{0}`: {1}")]
    UnknownFault(String, UnknownName),
    /// Misordered, repeated or stray modifiers; quoting the rest shows where parsing stopped.
    #[error("fault rule `{0}`: unexpected `{1}`; expected [SKIP>][PROB%][MAX*]FAULT")]
    Garbage(String, String),
}

use FaultRuleError as E;

impl FromStr for FaultRule {
    type Err = FaultRuleError;

    fn from_str(s: &str) -> Result<Self, FaultRuleError> {
        let rule = s.trim();
        let own = || rule.to_string();
        if rule.is_empty() {
            return Err(E::Empty);
        }
        if rule.contains(char::is_whitespace) {
            return Err(E::Whitespace(own()));
        }
        // The fault part never holds `=`, so splitting at the last one lets names contain it.
        let (target, action) = rule
            .rsplit_once('=')
            .ok_or_else(|| E::MissingEquals(own()))?;
        let (op, rest) = target
            .split_once(':')
            .ok_or_else(|| E::MissingColon(own()))?;
        let (kind, name) = rest.split_once('/').ok_or_else(|| E::MissingSlash(own()))?;
        let ops = if is_glob(op) {
            op_mask(&compile(rule, op)?)
        } else {
            bit(op.parse().map_err(|e| E::UnknownOperation(own(), e))?)
        };
        if ops == 0 {
            return Err(E::NoOperationMatches(own(), op.to_string()));
        }
        let kind = match kind {
            "*" => None,
            k => Some(k.parse().map_err(|e| E::UnknownKind(own(), e))?),
        };
        if name.is_empty() {
            return Err(E::EmptyName(own()));
        }
        compile(rule, name)?;
        let (skip, probability_ppm, max, fault) = parse_action(rule, action)?;
        let (op, name) = (op.to_string(), name.to_string());
        Ok(FaultRule {
            op,
            kind,
            name,
            skip,
            probability_ppm,
            max,
            fault,
        })
    }
}

impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.map_or("*", ObjectKind::as_str);
        write!(f, "{}:{kind}/{}=", self.op, self.name)?;
        if self.skip != 0 {
            write!(f, "{}>", self.skip)?;
        }
        if self.probability_ppm != CERTAIN_PPM {
            let (whole, frac) = (self.probability_ppm / 10_000, self.probability_ppm % 10_000);
            let p = format!("{whole}.{frac:04}");
            write!(f, "{}%", p.trim_end_matches('0').trim_end_matches('.'))?;
        }
        if let Some(max) = self.max {
            write!(f, "{max}*")?;
        }
        write!(f, "{}", self.fault)
    }
}

/// Glob metacharacters; an operation without them is looked up in the catalogue instead.
fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn bit(op: Operation) -> u64 {
    1 << op as u32
}

fn op_mask(pattern: &Pattern) -> u64 {
    let ops = Operation::ALL
        .iter()
        .filter(|o| pattern.matches(o.as_str()));
    ops.fold(0, |mask, &o| mask | bit(o))
}

fn compile(rule: &str, glob: &str) -> Result<Pattern, FaultRuleError> {
    let reason = |e: glob::PatternError| format!("{} at position {}", e.msg, e.pos);
    Pattern::new(glob).map_err(|e| E::BadGlob(rule.into(), glob.into(), reason(e)))
}

/// Parses `[SKIP>][PROB%][MAX*]FAULT` left to right, so order and repetition are enforced.
fn parse_action(rule: &str, text: &str) -> Result<(u32, u32, Option<u32>, FaultKind), E> {
    let garbage = |t: &str| E::Garbage(rule.into(), t.into());
    let (mut skip, mut ppm, mut max, mut stage) = (0, CERTAIN_PPM, None, 0);
    let mut rest = text;
    loop {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'));
        let (num, after) = rest.split_at(end.unwrap_or(rest.len()));
        if num.is_empty() {
            break;
        }
        let slot = match after.as_bytes().first() {
            Some(b'>') => 1,
            Some(b'%') => 2,
            Some(b'*') => 3,
            _ => 0,
        };
        match slot {
            _ if slot <= stage => return Err(garbage(rest)),
            1 => skip = parse_count(rule, "skip count", num)?,
            2 => ppm = parse_percent(rule, num)?,
            _ => match parse_count(rule, "max count", num)? {
                0 => return Err(E::ZeroMax(rule.into())),
                m => max = Some(m),
            },
        }
        stage = slot;
        rest = after.get(1..).unwrap_or("");
    }
    if rest.is_empty() {
        return Err(E::MissingFault(rule.into()));
    }
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    match rest.split_at(end.unwrap_or(rest.len())) {
        ("", _) => Err(garbage(rest)),
        (_, tail) if !tail.is_empty() => Err(garbage(tail)),
        (name, _) => match name.parse() {
            Ok(fault) => Ok((skip, ppm, max, fault)),
            Err(e) => Err(E::UnknownFault(rule.into(), e)),
        },
    }
}

fn parse_count(rule: &str, what: &'static str, text: &str) -> Result<u32, FaultRuleError> {
    // `text` holds only digits and dots, so `parse` fails only on a dot or on overflow.
    text.parse()
        .map_err(|_| E::BadCount(rule.into(), what, text.into()))
}

fn parse_percent(rule: &str, text: &str) -> Result<u32, FaultRuleError> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) || frac.len() > 4 {
        return Err(E::BadProbability(rule.into(), text.into()));
    }
    // All digits, so a failed parse is an overflow: far above 100 either way.
    let whole = whole.parse::<u64>().unwrap_or(u64::MAX);
    let frac = format!("{frac:0<4}").parse::<u64>().unwrap_or(0);
    match u32::try_from(whole.saturating_mul(10_000).saturating_add(frac)) {
        Ok(p) if p > 0 && p <= CERTAIN_PPM => Ok(p),
        _ => Err(E::ProbabilityOutOfRange(rule.into(), text.into())),
    }
}

/// A rule compiled once so the per-operation check is a bit test, a compare and a name match.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Compiled {
    ops: u64,
    name: NameMatch,
    matched: u32,
    fired: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum NameMatch {
    Any,
    /// Literal names skip the glob engine; also how a hand-built rule's bad glob is treated.
    Exact(String),
    Glob(Pattern),
}

impl Compiled {
    fn new(rule: &FaultRule) -> Self {
        let ops = match Pattern::new(&rule.op) {
            Ok(p) if is_glob(&rule.op) => op_mask(&p),
            _ => rule.op.parse().map_or(0, bit),
        };
        let name = match rule.name.as_str() {
            "*" => NameMatch::Any,
            n if !is_glob(n) => NameMatch::Exact(n.to_string()),
            n => Pattern::new(n).map_or_else(|_| NameMatch::Exact(n.to_string()), NameMatch::Glob),
        };
        Compiled {
            ops,
            name,
            matched: 0,
            fired: 0,
        }
    }

    fn matches(&self, op: Operation, name: &str) -> bool {
        self.ops & bit(op) != 0
            && match &self.name {
                NameMatch::Any => true,
                NameMatch::Exact(n) => n == name,
                NameMatch::Glob(p) => p.matches(name),
            }
    }
}

/// The fault rules of one simulation with the per-rule counters that make SKIP and MAX work
/// and let a run report what it injected; consulted on every operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    rules: Vec<FaultRule>,
    compiled: Vec<Compiled>,
}

impl FaultPlan {
    /// Hand-built rules are accepted as they are: an op that names no operation never matches,
    /// and a name glob that does not compile is compared literally.
    pub fn new(rules: Vec<FaultRule>) -> Self {
        let compiled = rules.iter().map(Compiled::new).collect();
        FaultPlan { rules, compiled }
    }

    /// One rule per line, as read from a rules file; blank lines and `#` comments are skipped.
    pub fn parse_all<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<FaultPlan, E> {
        let lines = lines.into_iter().map(str::trim);
        let rules = lines
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::parse);
        Ok(FaultPlan::new(rules.collect::<Result<_, _>>()?))
    }

    /// True when no fault can ever be injected, so callers may skip the check entirely.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules, in the order they are tried.
    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    /// How many times each rule injected its fault, in rule order.
    pub fn fired(&self) -> Vec<u32> {
        self.compiled.iter().map(|c| c.fired).collect()
    }

    /// How many calls each rule matched (including skipped and exhausted ones), in rule order.
    pub fn matched(&self) -> Vec<u32> {
        self.compiled.iter().map(|c| c.matched).collect()
    }

    /// Appends `rule` (tried after the others) with fresh counters; the other rules keep
    /// theirs, so adding a rule mid-run does not restart their SKIP and MAX counts.
    pub fn push(&mut self, rule: FaultRule) {
        self.compiled.push(Compiled::new(&rule));
        self.rules.push(rule);
    }

    /// Removes the first rule equal to `rule`; false when there is none. The others keep
    /// their counters.
    pub fn remove(&mut self, rule: &FaultRule) -> bool {
        let Some(i) = self.rules.iter().position(|r| r == rule) else {
            return false;
        };
        self.rules.remove(i);
        self.compiled.remove(i);
        true
    }

    /// Starts SKIP and MAX over, e.g. when a scenario is replayed on the same plan.
    pub fn reset_counters(&mut self) {
        for c in &mut self.compiled {
            (c.matched, c.fired) = (0, 0);
        }
    }

    /// The fault to inject into `op` on the object `kind`/`name`, if any; the first rule that
    /// fires wins. Draws from `rng` only for a matching, active rule below 100%.
    pub fn check(
        &mut self,
        op: Operation,
        kind: ObjectKind,
        name: &str,
        rng: &mut SimRng,
    ) -> Option<FaultKind> {
        for (rule, c) in self.rules.iter().zip(&mut self.compiled) {
            if rule.kind.is_some_and(|k| k != kind) || !c.matches(op, name) {
                continue;
            }
            c.matched = c.matched.saturating_add(1);
            if c.matched <= rule.skip || rule.max.is_some_and(|m| c.fired >= m) {
                continue;
            }
            if rule.probability_ppm < CERTAIN_PPM && !rng.chance_ppm(rule.probability_ppm) {
                continue;
            }
            c.fired = c.fired.saturating_add(1);
            return Some(rule.fault);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FaultKind::{ConcurrentAccess as CA, SystemError, Timeout};
    use ObjectKind::{Host, Vm};
    use Operation::{CreateVm, PowerOffVm, PowerOnVm};

    fn rule(s: &str) -> FaultRule {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    /// A rule's fields in one line, so a test can state them all at once.
    fn fields(s: &str) -> String {
        let r = rule(s);
        let (kind, max) = (r.kind.map_or("*", ObjectKind::as_str), r.max.unwrap_or(0));
        let (skip, ppm) = (r.skip, r.probability_ppm);
        format!("{} {kind} {} {skip} {ppm} {max} {}", r.op, r.name, r.fault)
    }

    /// `n` checks of `op` on the VM `db1`, with a fresh RNG seeded with `seed`.
    fn run(p: &mut FaultPlan, n: usize, seed: u64, op: Operation) -> Vec<Option<FaultKind>> {
        let mut rng = SimRng::new(seed);
        (0..n).map(|_| p.check(op, Vm, "db1", &mut rng)).collect()
    }

    fn plan(lines: &[&str]) -> FaultPlan {
        FaultPlan::parse_all(lines.iter().copied()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_documented_examples_parse_into_their_fields() {
        let power_on = fields(" PowerOnVM_Task:vm/web-*=25%3*InsufficientResourcesFault ");
        assert_eq!(
            power_on,
            "PowerOnVM_Task vm web-* 0 250000 3 InsufficientResourcesFault"
        );
        let host = fields("*:host/*=HostCommunication");
        assert_eq!(host, "* host * 0 1000000 0 HostCommunication");
        let create = fields("CreateVM_Task:vm/db?=2>ConcurrentAccess");
        assert_eq!(create, "CreateVM_Task vm db? 2 1000000 0 ConcurrentAccess");
        assert_eq!(fields("*:*/*=0.01%Timeout"), "* * * 0 100 0 Timeout");
        assert_eq!(rule("*:*/*=Timeout").kind, None);
    }

    #[test]
    fn a_pushed_rule_fires_and_a_removed_one_stops_while_others_keep_their_counts() {
        let mut p = plan(&["PowerOnVM_Task:vm/*=1>Timeout"]);
        assert_eq!(
            run(&mut p, 1, 1, PowerOnVm),
            [None],
            "the first call is skipped"
        );
        p.push(rule("PowerOffVM_Task:vm/db?=SystemError"));
        assert_eq!(run(&mut p, 1, 1, PowerOffVm), [Some(SystemError)]);
        assert_eq!(
            run(&mut p, 1, 1, PowerOnVm),
            [Some(Timeout)],
            "skip count kept"
        );
        assert!(p.remove(&rule("PowerOffVM_Task:vm/db?=SystemError")));
        assert!(!p.remove(&rule("PowerOffVM_Task:vm/db?=SystemError")));
        assert_eq!(run(&mut p, 1, 1, PowerOffVm), [None]);
        assert_eq!((p.matched(), p.fired()), (vec![2], vec![1]));
    }

    #[test]
    fn display_prints_the_canonical_form_that_parses_back() {
        for s in [
            "PowerOnVM_Task:vm/web-*=25%3*InsufficientResourcesFault",
            "*:host/*=HostCommunication",
            "CreateVM_Task:vm/db?=2>ConcurrentAccess",
            "Power*:*/a=b:c=1>12.5%1*Timeout",
            "Destroy_Task:vm/x=0.0001%NoDiskSpace",
            "UpdateConfig:pool/p[0-9]=99.9999%4294967295*ResourceInUse",
        ] {
            assert_eq!(rule(s).to_string(), s);
            assert_eq!(rule(s).to_string().parse(), Ok(rule(s)));
        }
        let canonical = rule("*:vm/*=0>12.50%Timeout").to_string();
        assert_eq!(canonical, "*:vm/*=12.5%Timeout");
        assert_eq!(rule("*:vm/*=100.000%Timeout").to_string(), "*:vm/*=Timeout");
    }

    /// Each line: a malformed rule, ` => `, and a part of the message it must give.
    const MALFORMED: &str = "
          => fault rule is empty
        *:vm/* => fault rule `*:vm/*`: missing `=` between the target and the fault
        *vm/*=Timeout => missing `:` after the operation
        *:vm=Timeout => missing `/` between kind and name
        *:vm/=Timeout => the object name pattern is empty
        *:vm/a b=Timeout => whitespace is not allowed
        PowerOnVm:vm/*=Timeout => unknown Operation `PowerOnVm` (known: CreateVM_Task,
        Pwr*:vm/*=Timeout => operation pattern `Pwr*` matches no known operation
        *:vms/*=Timeout => unknown ObjectKind `vms` (known: vm, host,
        *:vm/*=Timeot => unknown FaultKind `Timeot` (known: InsufficientResourcesFault,
        *:vm/[=Timeout => bad glob `[`
        *:vm/*= => missing the fault name after `=`
        *:vm/*=0%Timeout => `*:vm/*=0%Timeout`: probability `0%` must be greater than 0
        *:vm/*=101%Timeout => probability `101%` must be greater than 0 and at most 100
        *:vm/*=99999999999999999999%X => must be greater than 0 and at most 100
        *:vm/*=1.23456%Timeout => probability `1.23456%` is not a decimal with at most 4
        *:vm/*=1.%Timeout => probability `1.%` is not a decimal
        *:vm/*=0*Timeout => max count must be at least 1
        *:vm/*=99999999999*Timeout => max count `99999999999` must be a whole number
        *:vm/*=4294967296>Timeout => skip count `4294967296` must be a whole number
        *:vm/*=1.5>Timeout => skip count `1.5` must be a whole number
        *:vm/*=25%%X => unexpected `%X`; expected [SKIP>][PROB%][MAX*]FAULT
        *:vm/*=Timeout% => unexpected `%`
        *:vm/*=Timeout-x => unexpected `-x`
        *:vm/*=25%2>Timeout => unexpected `2>Timeout`
        *:vm/*=3*3*Timeout => unexpected `3*Timeout`
        *:vm/*=7Timeout => unexpected `7Timeout`";

    #[test]
    fn each_malformed_rule_names_its_own_problem() {
        for case in MALFORMED.lines().skip(1) {
            let (text, problem) = case.split_once(" => ").unwrap_or_default();
            let err = text.parse::<FaultRule>().map_err(|e| e.to_string());
            assert!(
                err.as_ref().is_err_and(|e| e.contains(problem)),
                "{text}: {err:?}"
            );
        }
        let zero = "*:vm/*=0*X".parse::<FaultRule>();
        assert_eq!(zero, Err(FaultRuleError::ZeroMax("*:vm/*=0*X".into())));
        let e = FaultPlan::parse_all(["# comment", "", "*:vm/*=Nope"]);
        assert!(matches!(e, Err(FaultRuleError::UnknownFault(r, _)) if r == "*:vm/*=Nope"));
    }

    #[test]
    fn the_first_skip_calls_pass_and_later_ones_fire() {
        let mut p = plan(&["CreateVM_Task:vm/db?=2>ConcurrentAccess"]);
        assert_eq!(
            run(&mut p, 4, 1, CreateVm),
            [None, None, Some(CA), Some(CA)]
        );
        assert_eq!((p.fired(), p.matched()), (vec![2], vec![4]));
        p.reset_counters();
        assert_eq!(run(&mut p, 3, 1, CreateVm), [None, None, Some(CA)]);
    }

    #[test]
    fn a_rule_is_exhausted_after_max_fires_and_later_rules_take_over() {
        let mut p = plan(&["*:vm/*=1>2*Timeout", "*:*/*=SystemError"]);
        let (t, s) = (Some(Timeout), Some(SystemError));
        assert_eq!(run(&mut p, 5, 1, PowerOnVm), [s, t, t, s, s]);
        assert_eq!(p.fired(), [2, 3]);
    }

    #[test]
    fn certain_and_non_matching_rules_never_draw_from_the_rng() {
        let mut p = plan(&[
            "PowerOnVM_Task:vm/web-*=50%Timeout",
            "*:host/*=HostCommunication",
        ]);
        let mut rng = SimRng::new(9);
        for _ in 0..100 {
            let host = p.check(PowerOffVm, Host, "h", &mut rng);
            assert_eq!(host, Some(FaultKind::HostCommunication));
            assert_eq!(p.check(PowerOnVm, Vm, "db-1", &mut rng), None);
        }
        assert_eq!(rng.next_u64(), SimRng::new(9).next_u64());
        assert!(FaultPlan::new(vec![]).is_empty() && !p.is_empty());
    }

    #[test]
    fn a_quarter_rule_fires_about_a_quarter_of_the_time_and_replays_exactly() {
        let fires = || {
            run(
                &mut plan(&["Power*:vm/*=25%InvalidState"]),
                10_000,
                2024,
                PowerOnVm,
            )
        };
        let (a, b) = (fires(), fires());
        let n = a.iter().flatten().count();
        assert!((2_200..=2_800).contains(&n), "{n}");
        assert_eq!(a, b);
    }

    #[test]
    fn rules_fire_only_on_their_op_kind_and_name() {
        let mut p = plan(&["PowerOnVM_Task:vm/web-*=Timeout"]);
        let mut rng = SimRng::new(3);
        assert_eq!(p.check(PowerOffVm, Vm, "web-1", &mut rng), None);
        assert_eq!(p.check(PowerOnVm, Host, "web-1", &mut rng), None);
        assert_eq!(p.check(PowerOnVm, Vm, "db-1", &mut rng), None);
        assert_eq!(p.check(PowerOnVm, Vm, "web-1", &mut rng), Some(Timeout));
        assert_eq!(p.fired(), [1]);
        assert_eq!(p.rules(), [rule("PowerOnVM_Task:vm/web-*=Timeout")]);
    }

    #[test]
    fn the_first_firing_rule_wins() {
        let mut p = plan(&["*:vm/*=NoDiskSpace", "*:vm/*=Timeout"]);
        assert_eq!(run(&mut p, 1, 5, PowerOnVm), [Some(FaultKind::NoDiskSpace)]);
        assert_eq!((p.fired(), p.matched()), (vec![1, 0], vec![1, 0]));
    }

    #[test]
    fn a_rule_pushed_mid_run_fires_and_earlier_counters_stay() {
        let mut p = plan(&["PowerOnVM_Task:vm/*=1>NoDiskSpace"]);
        assert_eq!(run(&mut p, 1, 5, PowerOffVm), [None]);
        assert_eq!(
            run(&mut p, 1, 5, PowerOnVm),
            [None],
            "the first match is skipped"
        );
        p.push(rule("PowerOffVM_Task:vm/*=Timeout"));
        assert_eq!(run(&mut p, 1, 5, PowerOffVm), [Some(Timeout)]);
        assert_eq!(run(&mut p, 1, 5, PowerOnVm), [Some(FaultKind::NoDiskSpace)]);
        assert_eq!((p.fired(), p.matched()), (vec![1, 1], vec![2, 1]));
    }
}
