//! Money: integer minor units with an ISO 4217 currency.

use crate::error::{AppError, AppResult};

/// Largest amount accepted, in minor units: 2^53 - 1, so every JSON client reads it exactly.
pub const MAX_MINOR_UNITS: i64 = 9_007_199_254_740_991;

/// Active ISO 4217 alphabetic codes with their minor-unit exponent.
const CURRENCIES: &str = "AED2 AFN2 ALL2 AMD2 AOA2 ARS2 AUD2 AWG2 AZN2 BAM2 BBD2 BDT2 BGN2 BHD3 BIF0 BMD2 BND2 BOB2 \
BRL2 BSD2 BTN2 BWP2 BYN2 BZD2 CAD2 CDF2 CHF2 CLP0 CNY2 COP2 CRC2 CUP2 CVE2 CZK2 DJF0 DKK2 DOP2 DZD2 EGP2 ERN2 ETB2 \
EUR2 FJD2 FKP2 GBP2 GEL2 GHS2 GIP2 GMD2 GNF0 GTQ2 GYD2 HKD2 HNL2 HTG2 HUF2 IDR2 ILS2 INR2 IQD3 IRR2 ISK0 JMD2 JOD3 \
JPY0 KES2 KGS2 KHR2 KMF0 KPW2 KRW0 KWD3 KYD2 KZT2 LAK2 LBP2 LKR2 LRD2 LSL2 LYD3 MAD2 MDL2 MGA2 MKD2 MMK2 MNT2 MOP2 \
MRU2 MUR2 MVR2 MWK2 MXN2 MYR2 MZN2 NAD2 NGN2 NIO2 NOK2 NPR2 NZD2 OMR3 PAB2 PEN2 PGK2 PHP2 PKR2 PLN2 PYG0 QAR2 RON2 \
RSD2 RUB2 RWF0 SAR2 SBD2 SCR2 SDG2 SEK2 SGD2 SHP2 SLE2 SOS2 SRD2 SSP2 STN2 SVC2 SYP2 SZL2 THB2 TJS2 TMT2 TND3 TOP2 \
TRY2 TTD2 TWD2 TZS2 UAH2 UGX0 USD2 UYU2 UZS2 VES2 VND0 VUV0 WST2 XAF0 XCD2 XOF0 XPF0 YER2 ZAR2 ZMW2 ZWG2";

/// The number of decimal places of `code`'s minor unit, if `code` is an active currency.
pub fn exponent(code: &str) -> Option<u32> {
    // The table, sorted by code, read once.
    static TABLE: std::sync::LazyLock<Vec<(&'static str, u32)>> = std::sync::LazyLock::new(|| {
        let mut t: Vec<(&str, u32)> = CURRENCIES
            .split_whitespace()
            .filter_map(|c| Some((&c[..3], c[3..].parse().ok()?)))
            .collect();
        t.sort_unstable();
        t
    });
    TABLE
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .map(|i| TABLE[i].1)
}

/// Upper-cases and checks an ISO 4217 code.
pub fn currency(input: &str) -> AppResult<String> {
    let c = input.trim().to_ascii_uppercase();
    if c.len() == 3 && exponent(&c).is_some() {
        Ok(c)
    } else {
        Err(AppError::bad_field(
            "currency",
            format!("`{}` is not an active ISO 4217 currency code", input.trim()),
        ))
    }
}

/// Checks an amount in minor units.
pub fn amount(field: &'static str, minor: i64) -> AppResult<i64> {
    if (0..=MAX_MINOR_UNITS).contains(&minor) {
        Ok(minor)
    } else {
        Err(AppError::bad_field(
            field,
            format!("{field} must be between 0 and {MAX_MINOR_UNITS} minor units"),
        ))
    }
}

/// Formats minor units as a decimal string, e.g. 123456 USD -> "1234.56".
pub fn format_decimal(minor: i64, code: &str) -> String {
    let exp = exponent(code).unwrap_or(2);
    if exp == 0 {
        return minor.to_string();
    }
    let div = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        m / div as u64,
        m % div as u64,
        width = exp as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies() {
        assert_eq!(currency(" usd ").unwrap(), "USD");
        assert_eq!(exponent("JPY"), Some(0));
        assert_eq!(exponent("KWD"), Some(3));
        assert!(currency("XYZ").is_err());
        assert!(currency("US").is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(format_decimal(123456, "USD"), "1234.56");
        assert_eq!(format_decimal(5, "EUR"), "0.05");
        assert_eq!(format_decimal(1000, "JPY"), "1000");
        assert_eq!(format_decimal(1234, "BHD"), "1.234");
    }

    #[test]
    fn amounts() {
        assert!(amount("amount", -1).is_err());
        assert!(amount("amount", MAX_MINOR_UNITS + 1).is_err());
        assert_eq!(amount("amount", 0).unwrap(), 0);
    }
}
