//! Cash on delivery: what a courier collected at the door, handed over at the
//! office, and what the office reconciled. A courier's cash position is derived
//! from an append-only ledger, like everything else that must survive offline work.
//!
//! Not used by the core yet: COD remittance (issue 21, operations) builds its
//! synced cash ledger on these types.

use serde::{Deserialize, Serialize};

use super::{OrderId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CashEntry {
    /// The courier took cash for an order.
    Collected { order: OrderId, cents: i64 },
    /// The courier handed cash to an operator.
    HandedOver { cents: i64, to: UserId },
    /// An operator counted a handover and confirmed `cents` of it.
    Reconciled { cents: i64, by: UserId },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CashPosition {
    pub collected: i64,
    pub handed_over: i64,
    pub reconciled: i64,
}

impl CashPosition {
    pub fn from_ledger(entries: &[CashEntry]) -> Self {
        entries.iter().fold(Self::default(), |mut p, e| {
            match e {
                CashEntry::Collected { cents, .. } => p.collected += cents,
                CashEntry::HandedOver { cents, .. } => p.handed_over += cents,
                CashEntry::Reconciled { cents, .. } => p.reconciled += cents,
            }
            p
        })
    }

    /// Cash the courier still holds.
    pub fn in_hand(&self) -> i64 {
        self.collected - self.handed_over
    }

    /// Handed over but not (yet) confirmed by the office; negative means the
    /// office confirmed more than was handed over, which needs a look.
    pub fn unreconciled(&self) -> i64 {
        self.handed_over - self.reconciled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_follows_the_ledger() {
        let ledger = vec![
            CashEntry::Collected {
                order: OrderId::new("a"),
                cents: 2_500,
            },
            CashEntry::Collected {
                order: OrderId::new("b"),
                cents: 1_000,
            },
            CashEntry::HandedOver {
                cents: 3_000,
                to: UserId::new("office"),
            },
            CashEntry::Reconciled {
                cents: 2_900,
                by: UserId::new("office"),
            },
        ];
        let p = CashPosition::from_ledger(&ledger);
        assert_eq!(p.in_hand(), 500);
        assert_eq!(p.unreconciled(), 100);
    }
}
