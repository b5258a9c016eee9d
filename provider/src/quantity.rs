//! Kubernetes resource quantities (`500m`, `2`, `1.5`, `128Mi`, `1G`, `1e3`) as exact integers:
//! CPU in millicores, memory in bytes. Rounding is always up, so a pod never gets less than it
//! asked for.

use std::fmt;

/// A quantity that is not in Kubernetes' grammar, or does not fit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity `{text}`: {reason}")]
pub struct QuantityError {
    /// The text given.
    pub text: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// A non-negative decimal number `mantissa x 10^exp10 x 2^exp2`, kept exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Parsed {
    digits: u128,
    exp10: i32,
    exp2: u32,
}

fn err(text: &str, reason: &'static str) -> QuantityError {
    QuantityError {
        text: text.to_string(),
        reason,
    }
}

fn parse(text: &str) -> Result<Parsed, QuantityError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(err(text, "empty"));
    }
    if s.starts_with('-') {
        return Err(err(text, "negative"));
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(num_end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return Err(err(text, "no number"));
    }
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let mut digits: u128 = 0;
    for c in int.chars().chain(frac.chars()) {
        digits = digits
            .checked_mul(10)
            .and_then(|d| d.checked_add(u128::from(c as u8 - b'0')))
            .ok_or_else(|| err(text, "too large"))?;
    }
    let mut exp10 = -(frac.len() as i32);
    let mut exp2 = 0;
    match suffix {
        "" => {}
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        "Ki" => exp2 = 10,
        "Mi" => exp2 = 20,
        "Gi" => exp2 = 30,
        "Ti" => exp2 = 40,
        "Pi" => exp2 = 50,
        "Ei" => exp2 = 60,
        e if e.starts_with(['e', 'E']) => {
            let n: i32 = e[1..].parse().map_err(|_| err(text, "bad exponent"))?;
            if !(-30..=30).contains(&n) {
                return Err(err(text, "exponent out of range"));
            }
            exp10 += n;
        }
        _ => return Err(err(text, "unknown suffix")),
    }
    Ok(Parsed {
        digits,
        exp10,
        exp2,
    })
}

/// `value x 10^scale`, rounded up, as u64.
fn scaled_ceil(text: &str, p: Parsed, scale: i32) -> Result<u64, QuantityError> {
    let too_large = || err(text, "too large");
    let mut n = p
        .digits
        .checked_shl(p.exp2)
        .filter(|v| v >> p.exp2 == p.digits)
        .ok_or_else(too_large)?;
    let e = p.exp10 + scale;
    if e >= 0 {
        for _ in 0..e {
            n = n.checked_mul(10).ok_or_else(too_large)?;
        }
    } else {
        let div = 10u128.checked_pow(e.unsigned_abs()).ok_or_else(too_large)?;
        n = n.div_ceil(div);
    }
    u64::try_from(n).map_err(|_| too_large())
}

/// CPU in millicores (`"500m"` -> 500, `"2"` -> 2000), rounded up.
pub fn cpu_millis(text: &str) -> Result<u64, QuantityError> {
    scaled_ceil(text, parse(text)?, 3)
}

/// Memory in bytes (`"128Mi"` -> 134217728, `"1G"` -> 10^9), rounded up.
pub fn memory_bytes(text: &str) -> Result<u64, QuantityError> {
    scaled_ceil(text, parse(text)?, 0)
}

/// A byte count as Kubernetes writes memory capacity (`Ki` units when exact).
pub struct MemoryQuantity(pub u64);

impl fmt::Display for MemoryQuantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1024) {
            write!(f, "{}Ki", self.0 / 1024)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities_become_millicores_rounded_up() {
        for (q, m) in [
            ("500m", 500),
            ("2", 2000),
            ("1.5", 1500),
            ("0.1", 100),
            ("100u", 1),
            ("1k", 1_000_000),
            ("2e-3", 2),
            ("+3", 3000),
            ("0", 0),
        ] {
            assert_eq!(cpu_millis(q), Ok(m), "{q}");
        }
    }

    #[test]
    fn memory_quantities_become_bytes() {
        for (q, b) in [
            ("128Mi", 134_217_728u64),
            ("1Gi", 1 << 30),
            ("1G", 1_000_000_000),
            ("512", 512),
            ("1.5Ki", 1536),
            ("1e3", 1000),
            ("0.5", 1),
        ] {
            assert_eq!(memory_bytes(q), Ok(b), "{q}");
        }
    }

    #[test]
    fn every_suffix_scales_by_its_power_of_ten_or_two() {
        for (q, b) in [
            ("5k", 5_000u64),
            ("5M", 5_000_000),
            ("5G", 5_000_000_000),
            ("3T", 3_000_000_000_000),
            ("2P", 2_000_000_000_000_000),
            ("1E", 1_000_000_000_000_000_000),
            ("5Ki", 5 << 10),
            ("5Mi", 5 << 20),
            ("5Gi", 5 << 30),
            ("3Ti", 3 << 40),
            ("2Pi", 2 << 50),
            ("1Ei", 1 << 60),
        ] {
            assert_eq!(memory_bytes(q), Ok(b), "{q}");
        }
        // The fractional suffixes, in millicores: 1.5 millicores round up to 2.
        for (q, m) in [("1500000n", 2), ("1500u", 2), ("1500m", 1500)] {
            assert_eq!(cpu_millis(q), Ok(m), "{q}");
        }
    }

    #[test]
    fn malformed_or_huge_quantities_are_errors() {
        for q in [
            "",
            "-1",
            "abc",
            "1.2.3",
            "12Xi",
            "1e",
            "1e99",
            "99999999999999999999999999999999999999999",
            "16Ei",
            ".",
        ] {
            assert!(memory_bytes(q).is_err(), "{q} should be refused");
        }
        assert_eq!(cpu_millis("1x").unwrap_err().reason, "unknown suffix");
    }

    #[test]
    fn memory_capacity_prints_in_ki_when_exact() {
        assert_eq!(MemoryQuantity(2048 * 1024).to_string(), "2048Ki");
        assert_eq!(MemoryQuantity(1000).to_string(), "1000");
    }
}
