//! A courier's remittance statement for one day (the tenant's time zone):
//! opening cash in hand, what they collected at doors, their hand-overs with
//! differences and settlements, closing cash in hand — PDF or CSV, made on
//! this device from its ledger and orders.

use app_api::{ApiError, DocumentFile};
use ruta_documents::remittance::{RemittanceCollection, RemittanceData, RemittanceHandover};
use ruta_model::cash_doc;

use super::super::document_calls::{doc_error, file};
use super::*;

/// The first and last millisecond + 1 of `day` (YYYY-MM-DD) in `time_zone`.
fn day_range(day: &str, time_zone: &str) -> Result<(i64, i64), ApiError> {
    let bad = || ApiError::Invalid {
        field: "day".into(),
        message: format!("{day:?} is not a date (YYYY-MM-DD)"),
    };
    let date: jiff::civil::Date = day.trim().parse().map_err(|_| bad())?;
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let start = date.to_zoned(tz.clone()).map_err(|_| bad())?;
    let next = date
        .tomorrow()
        .map_err(|_| bad())?
        .to_zoned(tz)
        .map_err(|_| bad())?;
    Ok((
        start.timestamp().as_millisecond(),
        next.timestamp().as_millisecond(),
    ))
}

impl Core {
    pub(in crate::engine) fn remittance(
        &self,
        courier: &str,
        day: &str,
        csv: bool,
    ) -> Result<DocumentFile, ApiError> {
        let courier = self.cash_subject(Some(courier.to_owned()))?;
        let settings = self.settings();
        let (from, to) = day_range(day, &settings.time_zone)?;
        let offset = |ms: i64| super::super::config_calls::utc_offset_min(&settings.time_zone, ms);
        let clock = |ms: i64| super::super::document_calls::time_of_day(ms, &settings.time_zone);
        let state = self.cash_state(&courier)?;
        let mut collections = self.collections_of(&courier)?;
        collections.sort_by_key(|c| c.at_ms);
        // A hand-over belongs to the day it was received (else declared).
        let when = |h: &cash_doc::Handover| {
            h.received_at
                .or(h.declared_at)
                .map_or(h.at.wall_ms, |a| a.wall_ms)
        };
        let before = |ms: i64| ms < from;
        let collected_before: i64 = collections
            .iter()
            .filter(|c| before(c.at_ms))
            .map(|c| c.cents)
            .sum();
        let (mut received_before, mut off_before) = (0i64, 0i64);
        let (mut received_day, mut off_day) = (0i64, 0i64);
        let mut handovers = Vec::new();
        let mut seen: Vec<&cash_doc::Handover> = state.handovers.iter().collect();
        seen.sort_by_key(|h| when(h));
        for h in seen {
            let at = when(h);
            let (r, w) = h.settled_cents();
            if before(at) {
                received_before += r;
                off_before += w;
            } else if at < to {
                received_day += r;
                off_day += w;
                handovers.push(RemittanceHandover {
                    time: clock(at),
                    id: h.id.clone(),
                    declared_cents: h.declared_cents,
                    received_cents: h.received_cents,
                    difference_cents: h.difference(),
                    received_by: h
                        .received_by
                        .as_ref()
                        .map(|u| self.courier_name(u.as_str()))
                        .unwrap_or_default(),
                    status: app_api::cash::HandoverStatus::label(status_view(h.status())).into(),
                    resolution: h
                        .resolution
                        .as_ref()
                        .map(|r| resolution_view(r).label().to_owned())
                        .unwrap_or_default(),
                });
            }
        }
        let day_collections: Vec<RemittanceCollection> = collections
            .iter()
            .filter(|c| (from..to).contains(&c.at_ms))
            .map(|c| RemittanceCollection {
                time: clock(c.at_ms),
                order_ref: c.reference.clone(),
                cents: c.cents,
            })
            .collect();
        let collected_day: i64 = day_collections.iter().map(|c| c.cents).sum();
        let opening = collected_before - received_before - off_before;
        let data = RemittanceData {
            branding: settings.branding.clone(),
            courier: crate::documents::Party {
                name: self.courier_name(courier.as_str()),
                ..Default::default()
            },
            day: day.trim().to_owned(),
            issue_date: crate::documents::format_date(
                self.clock.now_ms(),
                offset(self.clock.now_ms()),
            ),
            opening_cents: opening,
            collections: day_collections,
            handovers,
            written_off_cents: off_day,
            closing_cents: opening + collected_day - received_day - off_day,
        };
        let slug: String = courier
            .as_str()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .take(40)
            .collect();
        let name = format!("remittance-{slug}-{}", day.trim());
        if csv {
            let text = ruta_documents::remittance::remittance_csv(&data);
            Ok(file(format!("{name}.csv"), "text/csv", text.into_bytes()))
        } else {
            let pdf = ruta_documents::remittance::remittance_pdf(&data).map_err(doc_error)?;
            Ok(file(format!("{name}.pdf"), "application/pdf", pdf))
        }
    }
}
