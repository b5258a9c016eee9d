//! Simulated time. The core never reads the wall clock: time moves only when an operation's
//! latency is charged or a caller advances it, so a run replays exactly.

use std::fmt;

/// A point in simulated time, in microseconds since the Unix epoch.
///
/// Microseconds match the resolution of vSphere's `xsd:dateTime` values while staying a plain
/// integer, so ordering and arithmetic are exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimDuration {
    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms.saturating_mul(1_000))
    }

    /// A duration of `s` seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(1_000_000))
    }

    /// Whole milliseconds, rounded down.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }
}

impl SimTime {
    /// 2024-01-01T00:00:00Z: the default start of a simulation, chosen to be recent yet fixed.
    pub const DEFAULT_EPOCH: SimTime = SimTime(1_704_067_200_000_000);

    /// This time moved forward by `d`, saturating rather than wrapping on absurd inputs.
    pub const fn plus(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub const fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

/// Formats as `xsd:dateTime` in UTC with microseconds, as vSphere reports times.
impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0 % 1_000_000;
        let secs = self.0 / 1_000_000;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = civil_from_days(days as i64);
        if !(0..10_000).contains(&y) {
            return write!(
                f,
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60
            );
        }
        // The usual case written digit by digit: SOAP responses carry several times each, and
        // the formatting machinery cost more than the rest of a `TaskInfo`.
        let mut buf = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut v: u64| {
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y as u64);
        put(5, 2, u64::from(m));
        put(8, 2, u64::from(d));
        put(11, 2, rem / 3600);
        put(14, 2, rem % 3600 / 60);
        put(17, 2, rem % 60);
        put(20, 6, micros);
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

/// Gregorian date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The simulation's clock: monotonic, advanced only on purpose.
#[derive(Clone, Debug)]
pub struct Clock {
    now: SimTime,
}

impl Clock {
    /// A clock that starts at `start`.
    pub fn new(start: SimTime) -> Self {
        Clock { now: start }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Moves time forward by `d` and returns the new time.
    pub fn advance(&mut self, d: SimDuration) -> SimTime {
        self.now = self.now.plus(d);
        self.now
    }

    /// Moves time forward to `t`; a time in the past leaves the clock where it is.
    pub fn advance_to(&mut self, t: SimTime) -> SimTime {
        self.now = self.now.max(t);
        self.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_epoch_formats_as_new_year_2024() {
        assert_eq!(
            SimTime::DEFAULT_EPOCH.to_string(),
            "2024-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn formats_leap_day_and_fraction() {
        // 2024-02-29T12:34:56.789Z
        let t = SimTime(1_709_210_096_789_000);
        assert_eq!(t.to_string(), "2024-02-29T12:34:56.789000Z");
    }

    #[test]
    fn formats_every_field_width_and_far_years() {
        // 1970-01-01T00:00:00.000001Z, 1999-12-31T23:59:59.999999Z.
        assert_eq!(SimTime(1).to_string(), "1970-01-01T00:00:00.000001Z");
        assert_eq!(
            SimTime(946_684_799_999_999).to_string(),
            "1999-12-31T23:59:59.999999Z"
        );
        // Year 10000 and beyond keep every digit.
        assert_eq!(
            SimTime(253_402_300_800_000_000).to_string(),
            "10000-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn clock_never_moves_backwards() {
        let mut c = Clock::new(SimTime(10));
        c.advance_to(SimTime(5));
        assert_eq!(c.now(), SimTime(10));
        c.advance(SimDuration(7));
        assert_eq!(c.now(), SimTime(17));
    }
}
