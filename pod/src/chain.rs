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
mod tests;
