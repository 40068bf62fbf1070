//! Amounts of US dollars, counted in micro-USD (millionths of a dollar) so that the cost of a
//! single cheap token is still a whole number. Prices, estimates, reservations and the store's
//! counters are micro-USD `i64`s; [`Money`] is what they become when an amount is compared
//! with what a person set, parsed from a form or written for a person, and it writes every
//! amount the same way.

use std::fmt;

/// Micro-USD in one dollar.
const MICROS_PER_DOLLAR: i64 = 1_000_000;
/// Micro-USD in one cent.
const MICROS_PER_CENT: i64 = 10_000;

/// An amount of US dollars, exact to the micro-dollar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    /// No money.
    pub const ZERO: Money = Money(0);

    /// The amount of `micros` micro-USD.
    pub const fn from_micros(micros: i64) -> Money {
        Money(micros)
    }

    /// Whole dollars.
    pub const fn from_dollars(dollars: i64) -> Money {
        Money(dollars * MICROS_PER_DOLLAR)
    }

    /// The amount in micro-USD (what the store and the price table count in).
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// A non-negative decimal number of dollars as a person types it ("12.5", "10", ".25"),
    /// with at most six decimals; `None` for anything else (signs, exponents, separators).
    pub fn parse_dollars(text: &str) -> Option<Money> {
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() && fraction.is_empty()
            || fraction.len() > 6
            || !whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let fraction: i64 = format!("{fraction:0<6}").parse().ok()?;
        whole
            .checked_mul(MICROS_PER_DOLLAR)?
            .checked_add(fraction)
            .map(Money)
    }

    /// The amount rounded to the nearest cent (half a cent rounds up).
    pub fn rounded_to_cent(self) -> Money {
        Money((self.0 + MICROS_PER_CENT / 2).div_euclid(MICROS_PER_CENT) * MICROS_PER_CENT)
    }

    /// The number of dollars without the sign, as a form field holds it: "12.50", "0.000001".
    /// Whole cents show two decimals; smaller amounts keep their digits, so an amount under a
    /// cent never reads as "0.00".
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let micros = self.0.unsigned_abs();
        let per_dollar = MICROS_PER_DOLLAR.unsigned_abs();
        let per_cent = MICROS_PER_CENT.unsigned_abs();
        let (whole, fraction) = (micros / per_dollar, micros % per_dollar);
        if fraction % per_cent == 0 {
            format!("{sign}{whole}.{:02}", fraction / per_cent)
        } else {
            let digits = format!("{fraction:06}");
            format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

/// "$12.50", "$0.001158": [`Money::decimal`] with the dollar sign.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decimal = self.decimal();
        match decimal.strip_prefix('-') {
            Some(positive) => write!(f, "-${positive}"),
            None => write!(f, "${decimal}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_round_trip() {
        let parse = |t| Money::parse_dollars(t).map(Money::micros);
        assert_eq!(parse("10"), Some(10_000_000));
        assert_eq!(parse("2.5"), Some(2_500_000));
        assert_eq!(parse(".25"), Some(250_000));
        assert_eq!(parse("0.000001"), Some(1));
        assert_eq!(parse("100000"), Some(100_000_000_000));
        for bad in ["", ".", "-1", "1e3", "1.0000001", "ten", "1,5"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(Money::from_micros(10_000_000).decimal(), "10.00");
        assert_eq!(Money::from_micros(2_500_000).decimal(), "2.50");
        assert_eq!(Money::from_micros(1).decimal(), "0.000001");
    }

    #[test]
    fn written_with_the_sign_and_exact_below_a_cent() {
        assert_eq!(Money::from_micros(5_000_000).to_string(), "$5.00");
        assert_eq!(Money::from_micros(1_158).to_string(), "$0.001158");
        assert_eq!(Money::from_micros(4_200_000).to_string(), "$4.20");
        assert_eq!(Money::from_micros(-1_500_000).to_string(), "-$1.50");
    }

    #[test]
    fn rounding_to_the_cent() {
        let cents = |m| Money::from_micros(m).rounded_to_cent().to_string();
        assert_eq!(cents(0), "$0.00");
        assert_eq!(cents(4_240_470), "$4.24");
        assert_eq!(cents(4_995_000), "$5.00");
        assert_eq!(cents(10_000), "$0.01");
    }
}
