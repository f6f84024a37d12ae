//! Attribution arithmetic: shares in basis points that sum to exactly 10,000 and money in minor
//! units that sums to exactly the deal amount, by largest-remainder rounding with a
//! deterministic tie-break (the earlier party in the given order wins a tied remainder).

use crate::error::{AppError, AppResult};

mod split;

pub use split::{engagement_weight, split, Deal, Line, ManualShare, PartyOnDeal, Terms};

pub const WHOLE: u32 = 10_000;

/// Largest-remainder apportionment of `total` units in proportion to `weights`. The result
/// sums to exactly `total`; each part is within one unit of its exact share. All-zero weights
/// split equally. Ties in the remainder go to the earlier index.
pub fn apportion(total: u128, weights: &[u128]) -> Vec<u128> {
    let n = weights.len();
    if n == 0 {
        return vec![];
    }
    let w_total: u128 = weights.iter().sum();
    let weights: Vec<u128> = if w_total == 0 {
        vec![1; n]
    } else {
        weights.to_vec()
    };
    let w_total: u128 = weights.iter().sum();
    let mut parts: Vec<u128> = weights.iter().map(|w| total * w / w_total).collect();
    let mut remainders: Vec<(u128, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| ((total * w) % w_total, i))
        .collect();
    let given: u128 = parts.iter().sum();
    let mut left = total - given;
    // Largest remainder first; on a tie, the earlier index.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

/// Shares in basis points from non-negative weights.
pub fn shares_bps(weights: &[u64]) -> Vec<u32> {
    let w: Vec<u128> = weights.iter().map(|w| *w as u128).collect();
    apportion(WHOLE as u128, &w)
        .into_iter()
        .map(|s| s as u32)
        .collect()
}

/// Money in minor units from shares in basis points (which must sum to 10,000).
pub fn allocate(amount_minor: i64, shares: &[u32]) -> AppResult<Vec<i64>> {
    if amount_minor < 0 {
        return Err(AppError::bad_field(
            "amount",
            "an amount cannot be negative",
        ));
    }
    check_shares(shares)?;
    let w: Vec<u128> = shares.iter().map(|s| *s as u128).collect();
    Ok(apportion(amount_minor as u128, &w)
        .into_iter()
        .map(|a| a as i64)
        .collect())
}

/// Manual shares must be non-negative (by type) and sum to exactly 10,000.
pub fn check_shares(shares: &[u32]) -> AppResult<()> {
    let sum: u64 = shares.iter().map(|s| *s as u64).sum();
    if shares.is_empty() || sum != WHOLE as u64 {
        return Err(AppError::bad_field(
            "shares",
            format!("shares must sum to exactly 10000 basis points (they sum to {sum})"),
        ));
    }
    Ok(())
}

/// Incentive in minor units: `amount * rate_bps / 10000`, rounded down.
pub fn incentive(amount_minor: i64, rate_bps: u32) -> i64 {
    ((amount_minor.max(0) as i128 * rate_bps as i128) / WHOLE as i128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_example() {
        // A 100,000.00 USD deal; reseller 4000, integrator 2500, services 1000 bps weights.
        let shares = shares_bps(&[4000, 2500, 1000]);
        assert_eq!(shares, vec![5334, 3333, 1333]);
        assert_eq!(
            allocate(10_000_000, &shares).unwrap(),
            vec![5_334_000, 3_333_000, 1_333_000]
        );
        // Three equal parties and one cent: the tie goes to the first.
        assert_eq!(allocate(1, &shares_bps(&[1, 1, 1])).unwrap(), vec![1, 0, 0]);
        assert_eq!(
            shares_bps(&[0, 0]),
            vec![5000, 5000],
            "all-zero weights split equally"
        );
        assert_eq!(shares_bps(&[7]), vec![10_000]);
    }

    #[test]
    fn bad_manual_shares() {
        assert!(check_shares(&[5000, 4999]).is_err());
        assert!(check_shares(&[]).is_err());
        assert!(allocate(-1, &[10_000]).is_err());
    }

    proptest! {
        #[test]
        fn shares_always_sum_to_10000(weights in prop::collection::vec(0u64..1_000_000, 1..12)) {
            let s = shares_bps(&weights);
            prop_assert_eq!(s.iter().map(|x| *x as u64).sum::<u64>(), 10_000);
            prop_assert_eq!(s.len(), weights.len());
        }

        #[test]
        fn money_always_sums_to_the_amount(
            weights in prop::collection::vec(0u64..10_000, 1..12),
            amount in prop_oneof![Just(0i64), Just(1i64), Just(i64::MAX), Just(9_007_199_254_740_991i64), 0i64..i64::MAX],
        ) {
            let s = shares_bps(&weights);
            let a = allocate(amount, &s).unwrap();
            prop_assert_eq!(a.iter().map(|x| *x as i128).sum::<i128>(), amount as i128);
            prop_assert!(a.iter().all(|x| *x >= 0));
            // Each part is within one minor unit of its exact share.
            for (part, share) in a.iter().zip(&s) {
                let exact = amount as f64 * *share as f64 / 10_000.0;
                prop_assert!((*part as f64 - exact).abs() <= 1.0 + exact * 1e-12);
            }
        }

        #[test]
        fn apportioning_is_deterministic(weights in prop::collection::vec(0u64..100, 1..8), amount in 0i64..1_000_000) {
            let s = shares_bps(&weights);
            prop_assert_eq!(allocate(amount, &s).unwrap(), allocate(amount, &s).unwrap());
        }
    }
}
