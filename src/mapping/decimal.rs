//! Decimal arithmetic for `round`, `multiply`, `divide`, `currency_convert` and
//! `to_number`: numbers are taken in their shortest decimal form (what a person reads),
//! so 2.675 rounds to 2.68 even though the nearest binary double is 2.67499999….

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Number, Value};

/// `mantissa / 10^scale`, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

/// 10^n for n in 0..=38.
fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

const MAX_SCALE: u32 = 36;
const LIMIT: i128 = 10i128.pow(37);

impl Decimal {
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };

    pub fn from_i64(v: i64) -> Self {
        Decimal {
            mantissa: i128::from(v),
            scale: 0,
        }
    }

    /// Parses `-12.5`, `1e3`, `+0.25E-2`. No whitespace, no `inf`/`nan`, no hex.
    pub fn parse(text: &str) -> Option<Self> {
        Self::parse_short(text.as_bytes()).or_else(|| Self::parse_long(text.as_bytes()))
    }

    /// The common case in 64 bits: a sign, at most 18 digits and a point, no exponent.
    /// `None` for anything else, which [`Decimal::parse_long`] then reads.
    #[inline]
    fn parse_short(b: &[u8]) -> Option<Self> {
        let (neg, digits) = match b.first()? {
            b'-' => (true, &b[1..]),
            b'+' => (false, &b[1..]),
            _ => (false, b),
        };
        if digits.is_empty() || digits.len() > 19 {
            return None;
        }
        let mut m: i64 = 0;
        let mut n = 0u32;
        let mut dot: Option<usize> = None;
        for (i, &c) in digits.iter().enumerate() {
            match c {
                b'0'..=b'9' => {
                    if n == 18 {
                        return None; // the 19th digit could overflow 64 bits
                    }
                    m = m * 10 + i64::from(c - b'0');
                    n += 1;
                }
                b'.' if dot.is_none() => dot = Some(i),
                _ => return None,
            }
        }
        if n == 0 {
            return None;
        }
        let scale = dot.map_or(0, |d| (digits.len() - d - 1) as u32);
        Some(
            Decimal {
                mantissa: i128::from(if neg { -m } else { m }),
                scale,
            }
            .normalized(),
        )
    }

    fn parse_long(b: &[u8]) -> Option<Self> {
        let mut i = 0;
        let neg = match b.first() {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut mantissa: i128 = 0;
        let mut scale: i64 = 0;
        let mut digits = 0usize;
        let mut seen_dot = false;
        // digits past what i128 holds are dropped from the mantissa but still move the
        // decimal point, so very long inputs lose only insignificant digits
        while i < b.len() {
            match b[i] {
                c @ b'0'..=b'9' => {
                    digits += 1;
                    let d = i128::from(c - b'0');
                    match mantissa.checked_mul(10).and_then(|m| m.checked_add(d)) {
                        Some(m) if m < LIMIT => {
                            mantissa = m;
                            if seen_dot {
                                scale += 1;
                            }
                        }
                        _ => {
                            if !seen_dot {
                                scale -= 1;
                            }
                        }
                    }
                }
                b'.' if !seen_dot => seen_dot = true,
                b'e' | b'E' => break,
                _ => return None,
            }
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        if i < b.len() {
            // exponent
            i += 1;
            let exp_neg = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            if i >= b.len() {
                return None;
            }
            let mut exp: i64 = 0;
            while i < b.len() {
                let c = b[i];
                if !c.is_ascii_digit() {
                    return None;
                }
                exp = (exp * 10 + i64::from(c - b'0')).min(100_000);
                i += 1;
            }
            scale -= if exp_neg { -exp } else { exp };
        }
        if neg {
            mantissa = -mantissa;
        }
        Self::from_parts(mantissa, scale)
    }

    /// Builds `mantissa * 10^-scale` where scale may be negative or large; `None` when
    /// the value does not fit.
    fn from_parts(mut mantissa: i128, mut scale: i64) -> Option<Self> {
        if mantissa == 0 {
            return Some(Self::ZERO);
        }
        while scale > i64::from(MAX_SCALE) {
            // too many decimals: drop the least significant ones (rounding half away)
            let (q, r) = (mantissa / 10, mantissa % 10);
            mantissa = q + if r.abs() >= 5 { r.signum() } else { 0 };
            scale -= 1;
            if mantissa == 0 {
                return Some(Self::ZERO);
            }
        }
        while scale < 0 {
            mantissa = mantissa.checked_mul(10)?;
            scale += 1;
        }
        let scale = u32::try_from(scale).ok()?;
        Some(Decimal { mantissa, scale }.normalized())
    }

    fn normalized(mut self) -> Self {
        // 64-bit division is far cheaper than 128-bit; most values fit
        if let Ok(mut m) = i64::try_from(self.mantissa) {
            while self.scale > 0 && m % 10 == 0 {
                m /= 10;
                self.scale -= 1;
            }
            self.mantissa = i128::from(m);
            return self;
        }
        while self.scale > 0 && self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale -= 1;
        }
        self
    }

    /// The shortest decimal form of an f64 (the digits `{:e}` prints).
    pub fn from_f64(f: f64) -> Option<Self> {
        if !f.is_finite() {
            return None;
        }
        let mut buf = StackStr::new();
        write!(buf, "{f:e}").ok()?;
        Self::parse(buf.as_str())
    }

    pub fn from_number(n: &Number) -> Option<Self> {
        if let Some(i) = n.as_i64() {
            return Some(Self::from_i64(i));
        }
        if let Some(u) = n.as_u64() {
            return Some(Decimal {
                mantissa: i128::from(u),
                scale: 0,
            });
        }
        n.as_f64().and_then(Self::from_f64)
    }

    /// Rounds half away from zero to `decimals` places.
    pub fn round(self, decimals: u32) -> Self {
        if self.scale <= decimals {
            return self;
        }
        let shift = self.scale - decimals;
        if let (Ok(m), true) = (i64::try_from(self.mantissa), shift <= 18) {
            let div = 10i64.pow(shift);
            let (q, r) = (m / div, m % div);
            let bump = if r.unsigned_abs() * 2 >= div.unsigned_abs() {
                r.signum()
            } else {
                0
            };
            return Decimal {
                mantissa: i128::from(q + bump),
                scale: decimals,
            }
            .normalized();
        }
        let Some(div) = pow10(shift) else {
            return Self::ZERO;
        };
        let q = self.mantissa / div;
        let r = self.mantissa % div;
        let bump = if r.unsigned_abs() * 2 >= div.unsigned_abs() {
            r.signum()
        } else {
            0
        };
        Decimal {
            mantissa: q + bump,
            scale: decimals,
        }
        .normalized()
    }

    pub fn mul(self, other: Self) -> Option<Self> {
        let m = self.mantissa.checked_mul(other.mantissa)?;
        Self::from_parts(m, i64::from(self.scale) + i64::from(other.scale))
    }

    /// Division to 30 significant places, rounded half away from zero. `None` for a zero
    /// divisor or overflow.
    pub fn div(self, other: Self) -> Option<Self> {
        if other.mantissa == 0 {
            return None;
        }
        // scale the dividend up as far as i128 allows, then divide
        let mut num = self.mantissa;
        let mut extra: i64 = 0;
        while num.unsigned_abs() < 10u128.pow(36) && extra < 40 {
            num *= 10;
            extra += 1;
        }
        let q = num / other.mantissa;
        let r = num % other.mantissa;
        let bump = if r.unsigned_abs() * 2 >= other.mantissa.unsigned_abs() {
            if (r < 0) != (other.mantissa < 0) {
                -1
            } else {
                1
            }
        } else {
            0
        };
        let q = if r == 0 { q } else { q + bump };
        Self::from_parts(q, i64::from(self.scale) - i64::from(other.scale) + extra)
    }

    pub fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// As a JSON number: an integer when there is no fraction and it fits i64/u64, else
    /// the nearest f64.
    /// Whether `to_json` then `from_number` gives this value back: an integer that
    /// stays an integer, or at most 15 significant digits (an f64 holds any such
    /// decimal exactly enough that its shortest form is the decimal again).
    pub fn survives_f64(self) -> bool {
        let d = self.normalized();
        (d.scale == 0 && i64::try_from(d.mantissa).is_ok())
            || (d.mantissa.unsigned_abs() < 1_000_000_000_000_000 && d.scale <= 22)
    }

    pub fn to_json(self) -> Value {
        let d = self.normalized();
        if d.scale == 0 {
            if let Ok(i) = i64::try_from(d.mantissa) {
                return Value::from(i);
            }
            if let Ok(u) = u64::try_from(d.mantissa) {
                return Value::from(u);
            }
        }
        Number::from_f64(d.to_f64()).map_or(Value::Null, Value::Number)
    }

    pub fn to_f64(self) -> f64 {
        // an exact integer divided by an exact power of ten is correctly rounded
        const EXACT: i128 = 1 << 53;
        if self.mantissa.abs() <= EXACT && self.scale <= 22 {
            #[allow(clippy::cast_precision_loss)]
            let m = self.mantissa as f64;
            return m / 10f64.powi(self.scale as i32);
        }
        let mut buf = StackStr::new();
        if write!(buf, "{}e-{}", self.mantissa, self.scale).is_err() {
            return f64::NAN;
        }
        buf.as_str().parse().unwrap_or(f64::NAN)
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let s = self.scale.max(other.scale);
        let a = self.mantissa.checked_mul(pow10(s - self.scale)?)?;
        let b = other.mantissa.checked_mul(pow10(s - other.scale)?)?;
        Some(a.cmp(&b))
    }
}

/// A small fixed buffer for formatting numbers without allocating.
pub struct StackStr {
    buf: [u8; 96],
    len: usize,
}

impl StackStr {
    pub fn new() -> Self {
        StackStr {
            buf: [0; 96],
            len: 0,
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Default for StackStr {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nineteen_digits_take_the_long_path() {
        assert_eq!(Decimal::parse_short(b"9999999999999999999"), None);
        assert_eq!(Decimal::parse_short(b"-999999999999999999.9"), None);
        assert_eq!(
            Decimal::parse("9999999999999999999"),
            Decimal::parse_long(b"9999999999999999999")
        );
        assert_eq!(
            Decimal::parse_short(b"999999999999999999"),
            Decimal::parse_long(b"999999999999999999")
        );
    }

    proptest::proptest! {
        /// The 64-bit fast path reads every text it accepts as the general parser does.
        #[test]
        fn the_short_path_agrees_with_the_long_one(text in "[-+]?[0-9]{0,20}(\\.[0-9]{0,20})?") {
            if let Some(short) = Decimal::parse_short(text.as_bytes()) {
                proptest::prop_assert_eq!(Some(short), Decimal::parse_long(text.as_bytes()), "{}", text);
            }
            proptest::prop_assert_eq!(
                Decimal::parse(&text),
                Decimal::parse_long(text.as_bytes())
            );
        }
    }

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn rounds_half_away_from_zero_on_the_shortest_form() {
        assert_eq!(
            Decimal::from_f64(2.675).unwrap().round(2).to_json(),
            json!(2.68)
        );
        assert_eq!(
            Decimal::from_f64(-1.005).unwrap().round(2).to_json(),
            json!(-1.01)
        );
        assert_eq!(Decimal::from_f64(2.5).unwrap().round(0).to_json(), json!(3));
        assert_eq!(
            Decimal::from_f64(-2.5).unwrap().round(0).to_json(),
            json!(-3)
        );
        assert_eq!(
            Decimal::from_f64(1.234).unwrap().round(2).to_json(),
            json!(1.23)
        );
        assert_eq!(d("7").round(2).to_json(), json!(7));
    }

    #[test]
    fn parses_decimal_text() {
        assert_eq!(d("1234.5").to_json(), json!(1234.5));
        assert_eq!(d("-3").to_json(), json!(-3));
        assert_eq!(d("1e3").to_json(), json!(1000));
        assert_eq!(d("2.5E-1").to_json(), json!(0.25));
        assert_eq!(d("+.5").to_json(), json!(0.5));
        for bad in [
            "", "-", "1.2.3", "1e", "abc", "1,000", "0x10", " 1", "inf", "NaN",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn decimal_arithmetic_is_exact() {
        assert_eq!(d("0.1").mul(d("3")).unwrap().to_json(), json!(0.3));
        assert_eq!(d("0.3").div(d("0.1")).unwrap().to_json(), json!(3));
        assert_eq!(
            d("1").div(d("3")).unwrap().round(4).to_json(),
            json!(0.3333)
        );
        assert_eq!(
            d("-2").div(d("3")).unwrap().round(2).to_json(),
            json!(-0.67)
        );
        assert!(d("1").div(Decimal::ZERO).is_none());
    }

    #[test]
    fn huge_and_tiny_numbers_do_not_panic() {
        assert!(Decimal::from_f64(1e300).is_none());
        let tiny = Decimal::from_f64(1e-300).unwrap();
        assert!(tiny.is_zero());
        assert_eq!(Decimal::from_f64(f64::MAX), None);
        let long = "1".repeat(60);
        assert!(Decimal::parse(&long).is_some() || Decimal::parse(&long).is_none());
        assert!(d("123456789012345678901234567890").mul(d("1e20")).is_none());
    }

    #[test]
    fn compares_across_scales() {
        assert!(d("10") > d("9.99"));
        assert_eq!(d("1.50").partial_cmp(&d("1.5")), Some(Ordering::Equal));
    }
}
