//! Tamper evidence for a courier's POD records: each record carries the hash of
//! the courier's previous one, and [`verify`] names the link that broke.
//!
//! # The chain
//! Every proof of delivery a courier captures becomes a [`ChainedRecord`]: what
//! was captured ([`PodCapture`]), its number in the courier's chain (`seq`, 1 for
//! the first), the `record_hash` of the courier's previous record (`prev_hash`,
//! [`GENESIS_HASH`] for the first) and its own `record_hash`. [`ChainBuilder`]
//! appends; it is the only way records should be made.
//!
//! # Canonical form (version 1)
//! `record_hash` is the lowercase hex SHA-256 of the compact JSON object below,
//! as `serde_json` writes it: keys in exactly this order, no whitespace, absent
//! values as `null`, only integers (no floats, so no formatting ambiguity: GPS is
//! in integer microdegrees and centimetres), strings escaped as RFC 8259 requires
//! and nothing more (`"` `\` and control characters; `\n` `\r` `\t` `\b` `\f`
//! short forms, other controls as `\u00xx`; non-ASCII as raw UTF-8):
//!
//! ```text
//! {"v":1,"seq":7,"prev_hash":"<64 hex>","record_id":"…","order_id":"…",
//!  "courier":"…","device":"…","captured_at":"0001700000000000.00003.3f2a9c0e11d4b7a8",
//!  "device_clock_ms":1700000000000,
//!  "gps":{"lat_e6":60171000,"lon_e6":24941400,"accuracy_cm":850} | null,
//!  "photo_sha256":"<64 hex>" | null,"signature_sha256":"<64 hex>" | null,
//!  "verification":"none" | "qr" | "pin" | "qr_and_pin","age_confirmed":18 | null}
//! ```
//!
//! `captured_at` is the [`Hlc`] text form. Hashes are stored as lowercase hex
//! (enforced when appending), so one digest cannot be written two ways. Changing
//! this form breaks every stored chain: a new form needs a new `v`.
//!
//! # What [`verify`] reports
//! Checks run on the records as stored (their order matters) and each problem is a
//! [`Finding`] at the index of the record that shows it:
//! - [`BreakKind::Edited`]: the record's contents no longer match its stored hash;
//!   or its stored hash was recomputed after the edit, and the next record, which
//!   is intact, committed to a different hash (`prev_hash`). Either way the finding
//!   is at the edited record and there is no follow-on finding at the next one:
//!   links are checked against stored hashes, and a record whose contents don't
//!   match its hash gets no other content-based finding. (An edit of `seq` also
//!   moves the record in the chain, so it shows as a gap or fork as well.)
//! - [`BreakKind::Missing`]: sequence numbers are absent before this record
//!   (deleted, or never synced).
//! - [`BreakKind::Reordered`]: stored out of sequence order. The flagged records
//!   are the fewest whose removal leaves the rest in order (a swap of two flags one
//!   or two records, not everything between them).
//! - [`BreakKind::Duplicate`] / [`BreakKind::Forked`]: a sequence number stored
//!   twice, with the same or with different contents (a device restored from a
//!   backup forks its chain).
//! - [`BreakKind::BackDated`]: captured at an HLC before the previous record's, or
//!   with a device clock more than [`MAX_CLOCK_STEP_BACK_MS`] behind it. An honest
//!   device's HLC never goes back, but its wall clock can be set back by hand.
//! - [`BreakKind::ForeignRecord`]: another courier's record in this chain.
//! - [`BreakKind::AnchorMismatch`]: the first record after a known head (see
//!   [`verify_after`]) does not link to it: history before it was rewritten.
//!
//! # Limits
//! A hash chain shows that stored records were changed, not who changed them:
//! whoever holds the records can rebuild the whole suffix after an edit with fresh
//! hashes, and can drop or re-hash the *last* record. Both are caught only against
//! a head known elsewhere: the sync server keeps each courier's last
//! [`ChainHead`], verifies new records with [`verify_after`], and compares
//! [`ChainReport::head`] with what it saw. Localisation is exact for one change;
//! with several changes close together every change still makes the report
//! unclean, but a re-hashed record next to another edited one may be named at its
//! neighbour.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use ruta_domain::hlc::Hlc;
use ruta_domain::{DeviceId, OrderId, PodId, UserId};

/// The `prev_hash` of a courier's first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How far a device's wall clock may be behind the previous record's before the
/// record counts as back-dated (NTP corrections and drift stay well inside this).
pub const MAX_CLOCK_STEP_BACK_MS: i64 = 5 * 60 * 1000;

/// The canonical form's version (the `v` key).
pub const CANONICAL_VERSION: u32 = 1;

pub use ruta_domain::proof::{BadGps, GpsFix, VerificationMethod};

/// What a courier's device captured for one proof of delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodCapture {
    pub record_id: PodId,
    pub order_id: OrderId,
    pub courier: UserId,
    pub device: DeviceId,
    /// The capture's HLC stamp (the `PodCaptured` event's `at`).
    pub captured_at: Hlc,
    /// The device's own wall clock at capture, milliseconds since the epoch.
    pub device_clock_ms: i64,
    #[serde(default)]
    pub gps: Option<GpsFix>,
    /// SHA-256 of the stored photo blob, lowercase hex.
    #[serde(default)]
    pub photo_sha256: Option<String>,
    /// SHA-256 of the stored signature blob, lowercase hex.
    #[serde(default)]
    pub signature_sha256: Option<String>,
    pub verification: VerificationMethod,
    /// The minimum age the courier confirmed checking, if the order asked for it.
    #[serde(default)]
    pub age_confirmed: Option<u8>,
}

/// A [`PodCapture`] linked into its courier's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainedRecord {
    /// 1 for the courier's first record, then +1 per record.
    pub seq: u64,
    /// `record_hash` of the courier's previous record; [`GENESIS_HASH`] for the first.
    pub prev_hash: String,
    pub capture: PodCapture,
    /// SHA-256 of the canonical form (module docs), lowercase hex.
    pub record_hash: String,
}

#[derive(Serialize)]
struct Canonical<'a> {
    v: u32,
    seq: u64,
    prev_hash: &'a str,
    record_id: &'a str,
    order_id: &'a str,
    courier: &'a str,
    device: &'a str,
    captured_at: String,
    device_clock_ms: i64,
    gps: Option<&'a GpsFix>,
    photo_sha256: Option<&'a str>,
    signature_sha256: Option<&'a str>,
    verification: VerificationMethod,
    age_confirmed: Option<u8>,
}

impl ChainedRecord {
    /// The canonical bytes `record_hash` is computed over (module docs).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let c = &self.capture;
        let canonical = Canonical {
            v: CANONICAL_VERSION,
            seq: self.seq,
            prev_hash: &self.prev_hash,
            record_id: c.record_id.as_str(),
            order_id: c.order_id.as_str(),
            courier: c.courier.as_str(),
            device: c.device.as_str(),
            captured_at: c.captured_at.to_string(),
            device_clock_ms: c.device_clock_ms,
            gps: c.gps.as_ref(),
            photo_sha256: c.photo_sha256.as_deref(),
            signature_sha256: c.signature_sha256.as_deref(),
            verification: c.verification,
            age_confirmed: c.age_confirmed,
        };
        // Serialising a struct of strings and integers into memory cannot fail.
        serde_json::to_vec(&canonical).unwrap_or_default()
    }

    /// The hash of the record's current contents.
    pub fn computed_hash(&self) -> String {
        hex(&Sha256::digest(self.canonical_bytes()))
    }

    /// Whether the stored hash matches the contents.
    pub fn is_intact(&self) -> bool {
        self.computed_hash() == self.record_hash
    }

    /// This record as the head of its chain.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            record_hash: self.record_hash.clone(),
        }
    }
}

use ruta_domain::hex;

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The end of a chain: the last record's number and hash, or the genesis.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    pub record_hash: String,
}

impl ChainHead {
    /// Before a courier's first record.
    pub fn genesis() -> Self {
        ChainHead {
            seq: 0,
            record_hash: GENESIS_HASH.to_owned(),
        }
    }
}

/// A record could not be appended.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChainError {
    #[error("this chain belongs to courier {chain}, not {record}")]
    ForeignCourier { chain: UserId, record: UserId },
    #[error("{field} must be a lowercase hex SHA-256 (64 characters), got {value:?}")]
    BadHash { field: &'static str, value: String },
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("not a GPS fix: lat {lat}, lon {lon}, accuracy {accuracy_m} m")]
    BadGps { lat: f64, lon: f64, accuracy_m: f64 },
    #[error("the chain is full")]
    SeqOverflow,
}

impl From<BadGps> for ChainError {
    fn from(e: BadGps) -> Self {
        ChainError::BadGps {
            lat: e.lat,
            lon: e.lon,
            accuracy_m: e.accuracy_m,
        }
    }
}

/// Appends a courier's records to their chain. Keep one per courier on the
/// device (restored with [`ChainBuilder::resume`] after a restart, or from the
/// server's [`ChainHead`] on a new device).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBuilder {
    courier: UserId,
    head: ChainHead,
}

impl ChainBuilder {
    /// A chain with no records yet.
    pub fn new(courier: UserId) -> Self {
        Self::resume_from(courier, ChainHead::genesis())
    }

    /// Continues after `last`, the courier's latest record as stored. The link
    /// uses its stored hash, so a damaged `last` is still reported by [`verify`]
    /// and does not block new deliveries.
    pub fn resume(last: &ChainedRecord) -> Self {
        Self::resume_from(last.capture.courier.clone(), last.head())
    }

    /// Continues after a known head.
    pub fn resume_from(courier: UserId, head: ChainHead) -> Self {
        ChainBuilder { courier, head }
    }

    pub fn courier(&self) -> &UserId {
        &self.courier
    }

    pub fn head(&self) -> &ChainHead {
        &self.head
    }

    /// Links `capture` after the current head and makes it the new head.
    pub fn append(&mut self, capture: PodCapture) -> Result<ChainedRecord, ChainError> {
        if capture.courier != self.courier {
            return Err(ChainError::ForeignCourier {
                chain: self.courier.clone(),
                record: capture.courier,
            });
        }
        for (field, value) in [
            ("record_id", capture.record_id.as_str()),
            ("order_id", capture.order_id.as_str()),
            ("courier", capture.courier.as_str()),
            ("device", capture.device.as_str()),
        ] {
            if value.is_empty() {
                return Err(ChainError::Empty(field));
            }
        }
        for (field, value) in [
            ("photo_sha256", &capture.photo_sha256),
            ("signature_sha256", &capture.signature_sha256),
        ] {
            if let Some(v) = value
                && !is_sha256_hex(v)
            {
                return Err(ChainError::BadHash {
                    field,
                    value: v.clone(),
                });
            }
        }
        if let Some(g) = capture.gps
            && !g.is_valid()
        {
            return Err(ChainError::BadGps {
                lat: g.lat(),
                lon: g.lon(),
                accuracy_m: f64::from(g.accuracy_cm) / 100.0,
            });
        }
        let seq = self
            .head
            .seq
            .checked_add(1)
            .ok_or(ChainError::SeqOverflow)?;
        let mut record = ChainedRecord {
            seq,
            prev_hash: self.head.record_hash.clone(),
            capture,
            record_hash: String::new(),
        };
        record.record_hash = record.computed_hash();
        self.head = record.head();
        Ok(record)
    }
}

/// One broken link, at `index` in the records as given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub index: usize,
    pub seq: u64,
    pub record_id: PodId,
    pub kind: BreakKind,
}

/// What is wrong at a [`Finding`] (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BreakKind {
    /// Changed after it was recorded.
    Edited {
        evidence: EditEvidence,
    },
    /// Records `first_seq..=last_seq` are absent before this one.
    Missing {
        first_seq: u64,
        last_seq: u64,
    },
    /// Stored after a record with a higher sequence number (`after_seq`).
    Reordered {
        after_seq: u64,
    },
    /// The same record is stored again (first at `first_index`).
    Duplicate {
        first_index: usize,
    },
    /// Another record with this sequence number but other contents is at `other_index`.
    Forked {
        other_index: usize,
    },
    BackDated {
        evidence: BackDating,
    },
    /// The record belongs to `courier`, not to this chain's courier.
    ForeignRecord {
        courier: UserId,
    },
    /// The first record after the known head does not link to it.
    AnchorMismatch {
        expected_prev_hash: String,
    },
}

/// How an edit shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditEvidence {
    /// The contents no longer match the stored hash.
    HashMismatch,
    /// The stored hash matches the contents, but the intact record at
    /// `next_index` was chained to another hash: the record was changed and
    /// re-hashed afterwards.
    NextRecordDisagrees { next_index: usize },
}

/// How a back-dating shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackDating {
    /// The HLC stamp is earlier than the previous record's.
    HlcBeforePrevious { previous: Hlc },
    /// The device clock is `behind_ms` behind the previous record's device clock.
    DeviceClockBehind { behind_ms: i64 },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record #{} (seq {}, {}): ",
            self.index, self.seq, self.record_id
        )?;
        match &self.kind {
            BreakKind::Edited {
                evidence: EditEvidence::HashMismatch,
            } => f.write_str("changed after it was recorded (contents do not match its hash)"),
            BreakKind::Edited {
                evidence: EditEvidence::NextRecordDisagrees { next_index },
            } => write!(
                f,
                "changed and re-hashed after record #{next_index} was chained to it"
            ),
            BreakKind::Missing {
                first_seq,
                last_seq,
            } if first_seq == last_seq => write!(f, "record seq {first_seq} before it is missing"),
            BreakKind::Missing {
                first_seq,
                last_seq,
            } => write!(
                f,
                "records seq {first_seq} to {last_seq} before it are missing"
            ),
            BreakKind::Reordered { after_seq } => {
                write!(f, "stored out of order (after seq {after_seq})")
            }
            BreakKind::Duplicate { first_index } => {
                write!(f, "a second copy of record #{first_index}")
            }
            BreakKind::Forked { other_index } => write!(
                f,
                "record #{other_index} has the same sequence number with other contents"
            ),
            BreakKind::BackDated {
                evidence: BackDating::HlcBeforePrevious { previous },
            } => write!(f, "captured before the previous record ({previous})"),
            BreakKind::BackDated {
                evidence: BackDating::DeviceClockBehind { behind_ms },
            } => write!(
                f,
                "device clock {} s behind the previous record's",
                behind_ms / 1000
            ),
            BreakKind::ForeignRecord { courier } => {
                write!(f, "belongs to courier {courier}, not to this chain")
            }
            BreakKind::AnchorMismatch { .. } => {
                f.write_str("does not link to the last record known before it")
            }
        }
    }
}

/// The outcome of verifying one courier's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// The chain's courier (the most common one among its records).
    pub courier: Option<UserId>,
    pub records: usize,
    /// The highest-numbered record's number and stored hash; compare with a head
    /// known elsewhere to see a dropped or re-hashed last record.
    pub head: Option<ChainHead>,
    /// In order of index, then kind.
    pub findings: Vec<Finding>,
}

impl ChainReport {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Verifies a courier's whole chain, from the genesis, in stored order.
pub fn verify(records: &[ChainedRecord]) -> ChainReport {
    verify_after(&ChainHead::genesis(), records)
}

/// Verifies the records that follow a head known to be good (e.g. the last one
/// the server had verified), in stored order.
pub fn verify_after(head: &ChainHead, records: &[ChainedRecord]) -> ChainReport {
    let refs: Vec<&ChainedRecord> = records.iter().collect();
    verify_refs(head, &refs)
}

/// Verifies records of several couriers: each courier's records (in the order
/// given) as one chain from the genesis. Finding indices refer to `records`.
pub fn verify_all(records: &[ChainedRecord]) -> BTreeMap<UserId, ChainReport> {
    let mut groups: BTreeMap<&UserId, Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        groups.entry(&r.capture.courier).or_default().push(i);
    }
    groups
        .into_iter()
        .map(|(courier, indices)| {
            let refs: Vec<&ChainedRecord> = indices.iter().map(|&i| &records[i]).collect();
            let mut report = verify_refs(&ChainHead::genesis(), &refs);
            for f in &mut report.findings {
                f.index = indices[f.index];
                match &mut f.kind {
                    BreakKind::Edited {
                        evidence: EditEvidence::NextRecordDisagrees { next_index: i },
                    }
                    | BreakKind::Duplicate { first_index: i }
                    | BreakKind::Forked { other_index: i } => *i = indices[*i],
                    _ => {}
                }
            }
            (courier.clone(), report)
        })
        .collect()
}

fn verify_refs(anchor: &ChainHead, records: &[&ChainedRecord]) -> ChainReport {
    let n = records.len();
    let mut findings: Vec<Finding> = Vec::new();
    let mut add = |i: usize, kind: BreakKind| {
        findings.push(Finding {
            index: i,
            seq: records[i].seq,
            record_id: records[i].capture.record_id.clone(),
            kind,
        });
    };
    let intact: Vec<bool> = records.iter().map(|r| r.is_intact()).collect();

    // The chain's courier: the most common among intact records (first on ties).
    let courier = {
        let mut counts: Vec<(&UserId, usize)> = Vec::new();
        for (r, _) in records.iter().zip(&intact).filter(|(_, ok)| **ok) {
            match counts.iter_mut().find(|(c, _)| *c == &r.capture.courier) {
                Some((_, k)) => *k += 1,
                None => counts.push((&r.capture.courier, 1)),
            }
        }
        let best = counts.iter().map(|(_, k)| *k).max().unwrap_or(0);
        counts
            .iter()
            .find(|(_, k)| *k == best)
            .map(|(c, _)| (*c).clone())
            .or_else(|| records.first().map(|r| r.capture.courier.clone()))
    };

    // Intact records of another courier are not part of this chain at all.
    let mut foreign = vec![false; n];
    for i in 0..n {
        if !intact[i] {
            add(
                i,
                BreakKind::Edited {
                    evidence: EditEvidence::HashMismatch,
                },
            );
        } else if Some(&records[i].capture.courier) != courier.as_ref() {
            foreign[i] = true;
            add(
                i,
                BreakKind::ForeignRecord {
                    courier: records[i].capture.courier.clone(),
                },
            );
        }
    }

    // One record per sequence number; later copies are duplicates or forks.
    let mut by_seq: BTreeMap<u64, usize> = BTreeMap::new();
    for i in (0..n).filter(|&i| !foreign[i]) {
        match by_seq.entry(records[i].seq) {
            Entry::Vacant(e) => {
                e.insert(i);
            }
            Entry::Occupied(e) => {
                let j = *e.get();
                let kind = if intact[i] && intact[j] && records[i] == records[j] {
                    BreakKind::Duplicate { first_index: j }
                } else {
                    BreakKind::Forked { other_index: j }
                };
                add(i, kind);
            }
        }
    }

    // Storage order: records outside a longest increasing run of sequence
    // numbers are the ones out of place. Records numbered at or before the
    // anchor are out of place too.
    let firsts: Vec<usize> = {
        let mut v: Vec<usize> = by_seq.values().copied().collect();
        v.sort_unstable();
        v
    };
    let in_order = longest_increasing(&firsts.iter().map(|&i| records[i].seq).collect::<Vec<_>>());
    let mut max_before = anchor.seq;
    let mut kept = in_order.iter().peekable();
    for (k, &i) in firsts.iter().enumerate() {
        let seq = records[i].seq;
        let in_run = kept.peek() == Some(&&k);
        if in_run {
            kept.next();
        }
        if seq <= anchor.seq || !in_run {
            add(
                i,
                BreakKind::Reordered {
                    after_seq: max_before,
                },
            );
        }
        max_before = max_before.max(seq);
    }

    // Links, in sequence order, from the newest down: an intact record that is
    // not itself suspect vouches for the hash of the record before it.
    let chain: Vec<usize> = by_seq
        .range(anchor.seq.saturating_add(1)..)
        .map(|(_, &i)| i)
        .collect();
    let mut suspect: Vec<bool> = intact.iter().map(|ok| !ok).collect();
    for (pos, &i) in chain.iter().enumerate().rev() {
        let r = records[i];
        let trusted = !suspect[i];
        let before = if pos == 0 {
            anchor.seq
        } else {
            records[chain[pos - 1]].seq
        };
        if before + 1 != r.seq {
            add(
                i,
                BreakKind::Missing {
                    first_seq: before + 1,
                    last_seq: r.seq - 1,
                },
            );
            continue;
        }
        if !trusted {
            continue;
        }
        if pos == 0 {
            if r.prev_hash != anchor.record_hash {
                add(
                    i,
                    BreakKind::AnchorMismatch {
                        expected_prev_hash: anchor.record_hash.clone(),
                    },
                );
            }
        } else {
            let p = chain[pos - 1];
            if r.prev_hash != records[p].record_hash && intact[p] {
                suspect[p] = true;
                add(
                    p,
                    BreakKind::Edited {
                        evidence: EditEvidence::NextRecordDisagrees { next_index: i },
                    },
                );
            }
        }
    }

    // Time: each record against the one before it in the chain, both trusted.
    for w in chain.windows(2) {
        let (p, r) = (records[w[0]], records[w[1]]);
        if suspect[w[0]] || suspect[w[1]] {
            continue;
        }
        if r.capture.captured_at < p.capture.captured_at {
            add(
                w[1],
                BreakKind::BackDated {
                    evidence: BackDating::HlcBeforePrevious {
                        previous: p.capture.captured_at,
                    },
                },
            );
        } else {
            let behind_ms = p
                .capture
                .device_clock_ms
                .saturating_sub(r.capture.device_clock_ms);
            if behind_ms > MAX_CLOCK_STEP_BACK_MS {
                add(
                    w[1],
                    BreakKind::BackDated {
                        evidence: BackDating::DeviceClockBehind { behind_ms },
                    },
                );
            }
        }
    }

    findings.sort_by_key(|f| (f.index, kind_rank(&f.kind)));
    ChainReport {
        courier,
        records: n,
        head: by_seq.values().next_back().map(|&i| records[i].head()),
        findings,
    }
}

fn kind_rank(kind: &BreakKind) -> u8 {
    match kind {
        BreakKind::Edited { .. } => 0,
        BreakKind::ForeignRecord { .. } => 1,
        BreakKind::Duplicate { .. } => 2,
        BreakKind::Forked { .. } => 3,
        BreakKind::Reordered { .. } => 4,
        BreakKind::Missing { .. } => 5,
        BreakKind::AnchorMismatch { .. } => 6,
        BreakKind::BackDated { .. } => 7,
    }
}

/// Positions (ascending) of one longest strictly increasing subsequence of `v`,
/// preferring elements that come early: of two swapped neighbours, the later
/// one is left out.
fn longest_increasing(v: &[u64]) -> Vec<usize> {
    // Patience sorting over the reversed sequence, looking for a decreasing run:
    // tails[k] = position of the largest last element of a run of length k+1.
    let n = v.len();
    let at = |i: usize| v[n - 1 - i];
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = Vec::with_capacity(n);
    for i in 0..n {
        let k = tails.partition_point(|&t| at(t) > at(i));
        prev.push(k.checked_sub(1).map(|k| tails[k]));
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    // Following `prev` from the last tail walks the reversed run backwards, i.e.
    // the original positions in ascending order.
    let mut out = Vec::with_capacity(tails.len());
    let mut cur = tails.last().copied();
    while let Some(i) = cur {
        out.push(n - 1 - i);
        cur = prev[i];
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn sha(text: &str) -> String {
        hex(&Sha256::digest(text.as_bytes()))
    }

    fn capture(k: u64, courier: &str) -> PodCapture {
        let ki = i64::try_from(k).unwrap();
        PodCapture {
            record_id: PodId::new(format!("{courier}-pod-{k}")),
            order_id: OrderId::new(format!("order-{}", k % 7)),
            courier: UserId::new(courier),
            device: DeviceId::new("3f2a9c0e11d4b7a8"),
            captured_at: Hlc {
                wall_ms: T0 + ki * 60_000,
                counter: 0,
                node: 0x3f2a_9c0e_11d4_b7a8,
            },
            device_clock_ms: T0 + ki * 60_000,
            gps: (!k.is_multiple_of(3))
                .then(|| GpsFix::from_degrees(60.17 + k as f64 * 1e-3, 24.94, 8.5).unwrap()),
            photo_sha256: Some(sha(&format!("photo {k}"))),
            signature_sha256: k.is_multiple_of(2).then(|| sha(&format!("signature {k}"))),
            verification: match k % 4 {
                0 => VerificationMethod::None,
                1 => VerificationMethod::Qr,
                2 => VerificationMethod::Pin,
                _ => VerificationMethod::QrAndPin,
            },
            age_confirmed: k.is_multiple_of(5).then_some(18),
        }
    }

    fn chain_of(n: u64, courier: &str) -> Vec<ChainedRecord> {
        let mut b = ChainBuilder::new(UserId::new(courier));
        (0..n)
            .map(|k| b.append(capture(k, courier)).unwrap())
            .collect()
    }

    fn kinds(report: &ChainReport) -> Vec<(usize, BreakKind)> {
        report
            .findings
            .iter()
            .map(|f| (f.index, f.kind.clone()))
            .collect()
    }

    fn edited(index: usize) -> (usize, BreakKind) {
        (
            index,
            BreakKind::Edited {
                evidence: EditEvidence::HashMismatch,
            },
        )
    }

    /// The ways one field of a record can be changed.
    fn edit_field(r: &mut ChainedRecord, which: u8) {
        let c = &mut r.capture;
        match which % 12 {
            0 => c.order_id.0.push('x'),
            1 => c.record_id.0.push('x'),
            2 => c.device.0.push('x'),
            3 => c.captured_at.counter += 1,
            4 => c.device_clock_ms -= 1,
            5 => {
                c.gps = match c.gps {
                    Some(g) => Some(GpsFix {
                        lat_e6: g.lat_e6 + 1,
                        ..g
                    }),
                    None => Some(GpsFix::from_degrees(60.0, 25.0, 5.0).unwrap()),
                }
            }
            6 => c.photo_sha256 = Some(sha("another photo")),
            7 => c.signature_sha256 = c.signature_sha256.is_none().then(|| sha("a signature")),
            8 => {
                c.verification = match c.verification {
                    VerificationMethod::None => VerificationMethod::Qr,
                    _ => VerificationMethod::None,
                }
            }
            9 => c.age_confirmed = c.age_confirmed.map_or(Some(21), |_| None),
            10 => r.prev_hash = sha("somewhere else"),
            _ => c.courier.0.push('x'),
        }
    }

    #[test]
    fn an_untouched_chain_verifies_clean() {
        let chain = chain_of(20, "courier-a");
        let report = verify(&chain);
        assert!(report.is_clean(), "{:?}", report.findings);
        assert_eq!(report.records, 20);
        assert_eq!(report.courier, Some(UserId::new("courier-a")));
        assert_eq!(report.head, Some(chain[19].head()));
        assert_eq!(chain[0].seq, 1);
        assert_eq!(chain[0].prev_hash, GENESIS_HASH);
        for w in chain.windows(2) {
            assert_eq!(w[1].prev_hash, w[0].record_hash);
            assert_eq!(w[1].seq, w[0].seq + 1);
        }
        assert!(verify(&[]).is_clean());
    }

    #[test]
    fn the_canonical_form_is_fixed() {
        let mut b = ChainBuilder::new(UserId::new("u1"));
        let mut c = capture(5, "u1");
        c.photo_sha256 = Some(sha("p"));
        c.gps = Some(GpsFix::from_degrees(60.171, -24.9414, 8.5).unwrap());
        c.order_id = OrderId::new("ord \"7\"\nä");
        let r = b.append(c).unwrap();
        let text = String::from_utf8(r.canonical_bytes()).unwrap();
        assert_eq!(
            text,
            format!(
                concat!(
                    r#"{{"v":1,"seq":1,"prev_hash":"{genesis}","record_id":"u1-pod-5","#,
                    r#""order_id":"ord \"7\"\nä","courier":"u1","device":"3f2a9c0e11d4b7a8","#,
                    r#""captured_at":"0001700000300000.00000.3f2a9c0e11d4b7a8","#,
                    r#""device_clock_ms":1700000300000,"#,
                    r#""gps":{{"lat_e6":60171000,"lon_e6":-24941400,"accuracy_cm":850}},"#,
                    r#""photo_sha256":"{photo}","signature_sha256":null,"#,
                    r#""verification":"qr","age_confirmed":18}}"#
                ),
                genesis = GENESIS_HASH,
                photo = sha("p"),
            )
        );
        assert_eq!(r.record_hash, hex(&Sha256::digest(text.as_bytes())));
        // Frozen: a change here breaks every chain already stored.
        assert_eq!(
            r.record_hash,
            "8bf36cd058c25a9d6b37e451465a7e1aff2b7b43a9a6b40c2ab4353ca2ff4601"
        );
    }

    #[test]
    fn an_edit_is_reported_at_the_edited_record_only() {
        let chain = chain_of(20, "courier-a");
        for which in 0..12 {
            let mut c = chain.clone();
            edit_field(&mut c[7], which);
            assert_eq!(kinds(&verify(&c)), vec![edited(7)], "field {which}");
        }
        // The stored hash itself overwritten: still one finding, at the record.
        let mut c = chain.clone();
        c[7].record_hash = sha("forged");
        assert_eq!(kinds(&verify(&c)), vec![edited(7)]);
    }

    #[test]
    fn an_edit_with_a_recomputed_hash_is_named_by_the_next_record() {
        let chain = chain_of(20, "courier-a");
        for which in 0..11 {
            let mut c = chain.clone();
            edit_field(&mut c[7], which);
            c[7].record_hash = c[7].computed_hash();
            assert_eq!(
                kinds(&verify(&c)),
                vec![(
                    7,
                    BreakKind::Edited {
                        evidence: EditEvidence::NextRecordDisagrees { next_index: 8 }
                    }
                )],
                "field {which}"
            );
        }
    }

    #[test]
    fn deleted_records_are_reported_where_the_gap_is() {
        let chain = chain_of(20, "courier-a");
        let mut c = chain.clone();
        c.remove(7);
        // Index 7 now holds seq 9; seq 8 is gone.
        assert_eq!(
            kinds(&verify(&c)),
            vec![(
                7,
                BreakKind::Missing {
                    first_seq: 8,
                    last_seq: 8
                }
            )]
        );
        let mut c = chain.clone();
        c.drain(3..6);
        assert_eq!(
            kinds(&verify(&c)),
            vec![(
                3,
                BreakKind::Missing {
                    first_seq: 4,
                    last_seq: 6
                }
            )]
        );
        let mut c = chain.clone();
        c.remove(0);
        assert_eq!(
            kinds(&verify(&c)),
            vec![(
                0,
                BreakKind::Missing {
                    first_seq: 1,
                    last_seq: 1
                }
            )]
        );
        // Dropping the last record leaves a clean but shorter chain: only a head
        // known elsewhere shows it.
        let mut c = chain.clone();
        c.pop();
        let report = verify(&c);
        assert!(report.is_clean());
        assert_ne!(report.head, Some(chain[19].head()));
    }

    #[test]
    fn swapped_records_are_reported_as_reordered() {
        let chain = chain_of(20, "courier-a");
        let mut c = chain.clone();
        c.swap(7, 8);
        assert_eq!(
            kinds(&verify(&c)),
            vec![(8, BreakKind::Reordered { after_seq: 9 })]
        );
        let mut c = chain.clone();
        c.swap(3, 12);
        let report = verify(&c);
        let at: Vec<usize> = report.findings.iter().map(|f| f.index).collect();
        assert_eq!(at, vec![3, 12], "{:?}", report.findings);
        assert!(
            report
                .findings
                .iter()
                .all(|f| matches!(f.kind, BreakKind::Reordered { .. }))
        );
    }

    #[test]
    fn back_dated_captures_are_reported() {
        let courier = UserId::new("courier-a");
        // The HLC of record 5 is before record 4's (a modified app).
        let mut b = ChainBuilder::new(courier.clone());
        let mut chain = Vec::new();
        for k in 0..10 {
            let mut c = capture(k, "courier-a");
            if k == 5 {
                c.captured_at.wall_ms = T0 + 3 * 60_000 + 1;
            }
            chain.push(b.append(c).unwrap());
        }
        assert_eq!(
            kinds(&verify(&chain)),
            vec![(
                5,
                BreakKind::BackDated {
                    evidence: BackDating::HlcBeforePrevious {
                        previous: chain[4].capture.captured_at
                    }
                }
            )]
        );

        // The phone's clock set back by hand: the HLC keeps going forward (it
        // resumes from its last stamp), the device clock does not.
        for (back_ms, flagged) in [(10 * 60_000, true), (2 * 60_000, false)] {
            let mut b = ChainBuilder::new(courier.clone());
            let mut chain = Vec::new();
            for k in 0..10 {
                let mut c = capture(k, "courier-a");
                if k >= 5 {
                    c.device_clock_ms -= back_ms + 60_000;
                }
                chain.push(b.append(c).unwrap());
            }
            let expected = if flagged {
                vec![(
                    5,
                    BreakKind::BackDated {
                        evidence: BackDating::DeviceClockBehind { behind_ms: back_ms },
                    },
                )]
            } else {
                vec![]
            };
            assert_eq!(kinds(&verify(&chain)), expected, "{back_ms}");
        }
    }

    #[test]
    fn duplicates_forks_and_foreign_records_are_named() {
        let chain = chain_of(10, "courier-a");
        let mut c = chain.clone();
        c.insert(5, chain[4].clone());
        assert_eq!(
            kinds(&verify(&c)),
            vec![(5, BreakKind::Duplicate { first_index: 4 })]
        );

        // A phone restored from a backup continues from an older head.
        let mut c = chain[..6].to_vec();
        let mut restored = ChainBuilder::resume(&chain[3]);
        let fork = restored.append(capture(40, "courier-a")).unwrap();
        assert_eq!(fork.seq, 5);
        c.push(fork);
        assert_eq!(
            kinds(&verify(&c)),
            vec![(6, BreakKind::Forked { other_index: 4 })]
        );

        let other = chain_of(3, "courier-b");
        let mut c = chain.clone();
        c.insert(6, other[1].clone());
        assert_eq!(
            kinds(&verify(&c)),
            vec![(
                6,
                BreakKind::ForeignRecord {
                    courier: UserId::new("courier-b")
                }
            )]
        );
    }

    #[test]
    fn mixed_couriers_are_verified_per_courier_with_indices_into_the_input() {
        let (a, b, c) = (
            chain_of(6, "courier-a"),
            chain_of(6, "courier-b"),
            chain_of(6, "courier-c"),
        );
        let mut all: Vec<ChainedRecord> = (0..6)
            .flat_map(|k| [a[k].clone(), b[k].clone(), c[k].clone()])
            .collect();
        let reports = verify_all(&all);
        assert_eq!(reports.len(), 3);
        assert!(reports.values().all(ChainReport::is_clean));

        // Remove courier b's third record (seq 3, at global index 7).
        all.remove(7);
        let at = all
            .iter()
            .position(|r| r.capture.record_id == b[3].capture.record_id)
            .unwrap();
        let reports = verify_all(&all);
        assert!(reports[&UserId::new("courier-a")].is_clean());
        assert!(reports[&UserId::new("courier-c")].is_clean());
        assert_eq!(
            kinds(&reports[&UserId::new("courier-b")]),
            vec![(
                at,
                BreakKind::Missing {
                    first_seq: 3,
                    last_seq: 3
                }
            )]
        );
    }

    #[test]
    fn a_rewritten_history_is_caught_against_a_known_head() {
        let chain = chain_of(15, "courier-a");
        // The server verified records 1..=10 and kept the head.
        let known = chain[9].head();
        assert!(verify_after(&known, &chain[10..]).is_clean());

        // The device edits record 8 and rebuilds everything after it.
        let mut b = ChainBuilder::resume(&chain[6]);
        let mut c8 = chain[7].capture.clone();
        c8.photo_sha256 = Some(sha("swapped photo"));
        let mut rewritten = chain[..7].to_vec();
        rewritten.push(b.append(c8).unwrap());
        for r in &chain[8..] {
            rewritten.push(b.append(r.capture.clone()).unwrap());
        }
        assert!(verify(&rewritten).is_clean(), "self-consistent on its own");
        let report = verify_after(&known, &rewritten[10..]);
        assert_eq!(
            kinds(&report),
            vec![(
                0,
                BreakKind::AnchorMismatch {
                    expected_prev_hash: known.record_hash.clone()
                }
            )]
        );
    }

    #[test]
    fn the_builder_refuses_bad_input() {
        let mut b = ChainBuilder::new(UserId::new("courier-a"));
        assert!(matches!(
            b.append(capture(0, "courier-b")),
            Err(ChainError::ForeignCourier { .. })
        ));
        let mut c = capture(0, "courier-a");
        c.photo_sha256 = Some(sha("x").to_uppercase());
        assert!(matches!(
            b.append(c),
            Err(ChainError::BadHash {
                field: "photo_sha256",
                ..
            })
        ));
        let mut c = capture(0, "courier-a");
        c.order_id = OrderId::new("");
        assert_eq!(b.append(c), Err(ChainError::Empty("order_id")));
        let mut c = capture(0, "courier-a");
        c.gps = Some(GpsFix {
            lat_e6: 91_000_000,
            lon_e6: 0,
            accuracy_cm: 1,
        });
        assert!(matches!(b.append(c), Err(ChainError::BadGps { .. })));
        assert!(GpsFix::from_degrees(f64::NAN, 0.0, 1.0).is_err());
        // Nothing was appended by the refusals.
        assert_eq!(b.head(), &ChainHead::genesis());
        let g = GpsFix::from_degrees(60.171_049_6, 24.941_4, 8.504).unwrap();
        assert_eq!(
            (g.lat_e6, g.lon_e6, g.accuracy_cm),
            (60_171_050, 24_941_400, 850)
        );
    }

    #[test]
    fn reports_serialise_and_read_well() {
        let mut c = chain_of(5, "courier-a");
        c.remove(2);
        let report = verify(&c);
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains(r#""kind":"missing""#), "{json}");
        assert_eq!(serde_json::from_str::<ChainReport>(&json).unwrap(), report);
        assert_eq!(
            report.findings[0].to_string(),
            "record #2 (seq 4, courier-a-pod-3): record seq 3 before it is missing"
        );
        let stored = serde_json::to_string(&c[0]).unwrap();
        assert_eq!(
            serde_json::from_str::<ChainedRecord>(&stored).unwrap(),
            c[0]
        );
    }

    /// One change to a stored chain.
    #[derive(Clone, Debug)]
    enum Mutation {
        Edit { k: usize, field: u8 },
        EditAndRehash { k: usize, field: u8 },
        OverwriteHash { k: usize },
        Delete { k: usize },
        Swap { i: usize, j: usize },
        Duplicate { k: usize, at: usize },
        InsertForeign { at: usize },
    }

    fn mutation(n: usize) -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (0..n, any::<u8>()).prop_map(|(k, field)| Mutation::Edit { k, field }),
            (0..n, 0u8..11).prop_map(|(k, field)| Mutation::EditAndRehash { k, field }),
            (0..n).prop_map(|k| Mutation::OverwriteHash { k }),
            (0..n).prop_map(|k| Mutation::Delete { k }),
            (0..n, 0..n)
                .prop_filter("two records", |(i, j)| i != j)
                .prop_map(|(i, j)| Mutation::Swap { i, j }),
            (0..n, 0..=n).prop_map(|(k, at)| Mutation::Duplicate { k, at }),
            (0..=n).prop_map(|at| Mutation::InsertForeign { at }),
        ]
    }

    fn random_chain(seeds: &[u64]) -> Vec<ChainedRecord> {
        let mut b = ChainBuilder::new(UserId::new("courier-a"));
        let mut clock = T0;
        seeds
            .iter()
            .enumerate()
            .map(|(k, &s)| {
                clock += i64::try_from(s % 3_600_000).unwrap();
                let mut c = capture(s % 1000, "courier-a");
                c.record_id = PodId::new(format!("pod-{k}"));
                c.captured_at.wall_ms = clock;
                c.captured_at.counter = u32::try_from(k).unwrap();
                c.device_clock_ms = clock;
                b.append(c).unwrap()
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_single_change_to_a_chain_is_detected(
            (seeds, m) in prop::collection::vec(any::<u64>(), 2..30)
                .prop_flat_map(|seeds| {
                    let n = seeds.len();
                    (Just(seeds), mutation(n))
                }),
        ) {
            let chain = random_chain(&seeds);
            let original = verify(&chain);
            prop_assert!(original.is_clean(), "{:?}", original.findings);
            let mut c = chain.clone();
            let n = c.len();
            match m.clone() {
                Mutation::Edit { k, field } => edit_field(&mut c[k], field),
                Mutation::EditAndRehash { k, field } => {
                    edit_field(&mut c[k], field);
                    c[k].record_hash = c[k].computed_hash();
                }
                Mutation::OverwriteHash { k } => c[k].record_hash = sha("forged"),
                Mutation::Delete { k } => { c.remove(k); }
                Mutation::Swap { i, j } => c.swap(i, j),
                Mutation::Duplicate { k, at } => c.insert(at, chain[k].clone()),
                Mutation::InsertForeign { at } => {
                    let other = chain_of(3, "courier-b");
                    c.insert(at, other[1].clone());
                }
            }
            let report = verify(&c);
            // Changes to the last record (dropped, or re-hashed) show only
            // against the head the server knew.
            prop_assert!(
                !report.is_clean() || report.head != original.head,
                "{m:?} went unnoticed"
            );
            // A change inside the chain is named at the changed record.
            match m {
                Mutation::Edit { k, .. } | Mutation::OverwriteHash { k } => {
                    prop_assert_eq!(kinds(&report), vec![edited(k)]);
                }
                Mutation::EditAndRehash { k, .. } if k + 1 < n => {
                    prop_assert_eq!(report.findings.len(), 1);
                    prop_assert_eq!(report.findings[0].index, k);
                }
                Mutation::Delete { k } if k + 1 < n => {
                    prop_assert_eq!(report.findings.len(), 1);
                    prop_assert_eq!(report.findings[0].index, k);
                    let missing = matches!(report.findings[0].kind, BreakKind::Missing { .. });
                    prop_assert!(missing);
                }
                _ => {}
            }
        }
    }
}
