//! [`Request::Document`]: labels, receipts, invoices and statements made on
//! the device from its own store, so they work offline.
//!
//! Invoice numbers: an invoice exists for every delivered order. Offline, its
//! number is provisional (`P-<order reference>`: unique per tenant, so two
//! devices never print the same provisional number for different orders). The
//! final number is gapless per tenant and given by the tenant's server, the
//! only allocator (see ARCHITECTURE.md, "Invoice numbers"); a device records it
//! with [`Core::set_invoice_number`] once it has it, and prints it from then on.
//!
//! [`Request::Document`]: app_api::Request::Document

use crate::domain::pricing::Pricing as _;
use app_api::{ApiError, DocumentFile, DocumentRequest, OrderQuery};
use base64::Engine as _;

use super::{Core, not_found, storage};
use crate::documents::{
    self, Branding, DocError, InvoiceData, InvoiceLine, InvoiceOrder, LabelData, Party,
    ReceiptData, ReceiptItem, StatementData, StatementRow,
};
use crate::domain::OrderId;
use crate::lifecycle::{EventBody, OrderState};

/// What documents say about the tenant: from the tenant's configuration
/// (`config_calls`), defaults until it arrives.
#[derive(Clone, Debug)]
pub struct DocumentSettings {
    pub branding: Branding,
    /// The tenant's IANA time zone: every printed time is local time there.
    pub time_zone: String,
    /// Printed before final invoice numbers.
    pub invoice_prefix: String,
    /// Payment terms printed on invoices.
    pub invoice_notes: String,
}

impl Default for DocumentSettings {
    fn default() -> Self {
        Self::from_config(&app_api::config::TenantConfig::default())
    }
}

impl DocumentSettings {
    pub fn from_config(config: &app_api::config::TenantConfig) -> Self {
        use base64::Engine as _;
        let p = &config.profile;
        Self {
            branding: Branding {
                company_name: p.company_name.clone(),
                address_lines: p.address_lines.clone(),
                vat_id: p.vat_id.clone(),
                logo_png: p
                    .logo_base64
                    .as_deref()
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()),
                primary_colour: p.primary_colour,
                accent_colour: p.accent_colour,
                currency: config.tariff.currency.clone(),
            },
            time_zone: p.time_zone.clone(),
            invoice_prefix: p.invoice_prefix.clone(),
            invoice_notes: p.invoice_footer.clone(),
        }
    }

    /// A final invoice number as the tenant prints it (the server numbers, the
    /// prefix is the tenant's).
    fn invoice_number(&self, number: &str) -> String {
        let digits = number.trim_start_matches(|c: char| !c.is_ascii_digit());
        format!("{}{digits}", self.invoice_prefix)
    }
}

pub(super) fn doc_error(e: DocError) -> ApiError {
    match e {
        DocError::InvalidImage { field, reason } | DocError::InvalidField { field, reason } => {
            ApiError::Invalid {
                field,
                message: reason,
            }
        }
        other => ApiError::Storage {
            message: format!("could not make the document: {other}"),
        },
    }
}

/// The time of day ("14:05") at `ms` in `time_zone`.
pub(super) fn time_of_day(ms: i64, time_zone: &str) -> String {
    let t = documents::format_timestamp(ms, super::config_calls::utc_offset_min(time_zone, ms));
    t.split(' ').nth(1).unwrap_or(&t).to_owned()
}

pub(super) fn file(filename: String, mime: &str, bytes: Vec<u8>) -> DocumentFile {
    DocumentFile {
        filename,
        mime: mime.into(),
        bytes: bytes.len() as u64,
        data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

/// When the counting delivery event happened.
fn delivered_ms(state: &OrderState) -> Option<i64> {
    let (event_id, _) = state.delivery.as_ref()?;
    state
        .timeline
        .iter()
        .find(|t| &t.event.id() == event_id)
        .map(|t| t.event.at.wall_ms)
        .or_else(|| {
            state
                .timeline
                .iter()
                .rev()
                .find(|t| matches!(t.event.body, EventBody::Delivered { .. }))
                .map(|t| t.event.at.wall_ms)
        })
}

impl Core {
    /// What documents print about the tenant (the configuration sets it).
    pub fn set_document_settings(&self, settings: DocumentSettings) {
        *self.documents.lock().unwrap_or_else(|p| p.into_inner()) = settings;
    }

    /// Records the final invoice number the tenant's server gave an order.
    pub fn set_invoice_number(&self, order: &OrderId, number: &str) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        tx.set_meta(&format!("invoice_number:{order}"), number)
            .map_err(storage)?;
        tx.commit().map_err(storage)
    }

    /// Delivered orders whose final invoice number this device does not know yet.
    pub fn unnumbered_invoices(&self) -> Result<Vec<OrderId>, ApiError> {
        let ids = self.lock().store.unnumbered_delivered().map_err(storage)?;
        Ok(ids.into_iter().map(OrderId::new).collect())
    }

    /// The final invoice number this device knows for an order.
    pub fn invoice_number(&self, order: &OrderId) -> Result<Option<String>, ApiError> {
        self.lock()
            .store
            .meta(&format!("invoice_number:{order}"))
            .map_err(storage)
    }

    pub(super) fn settings(&self) -> DocumentSettings {
        self.documents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn delivered_state(&self, order_id: &str) -> Result<OrderState, ApiError> {
        let id = OrderId::new(order_id);
        let state = self.order_state(&id)?;
        if state.spec.is_none() {
            return Err(not_found(&id));
        }
        if !crate::lifecycle::documents_available(&state) {
            return Err(ApiError::Refused {
                code: "not_delivered".into(),
                message: format!(
                    "order {} is {}, not delivered: receipts and invoices exist for delivered orders",
                    state
                        .spec
                        .as_ref()
                        .map_or(order_id, |s| s.reference.as_str()),
                    state.status.label().to_lowercase()
                ),
            });
        }
        Ok(state)
    }

    pub(super) fn document(&self, req: DocumentRequest) -> Result<DocumentFile, ApiError> {
        let settings = self.settings();
        let offset = |ms: i64| super::config_calls::utc_offset_min(&settings.time_zone, ms);
        let stamp = |ms: i64| documents::format_timestamp(ms, offset(ms));
        let date = |ms: i64| documents::format_date(ms, offset(ms));
        match req {
            DocumentRequest::RunSheet { trip_id } => self.run_sheet(&trip_id),
            DocumentRequest::Waybill { waybill_id } => self.waybill_pdf(&waybill_id),
            DocumentRequest::Remittance { courier, day, csv } => {
                self.remittance(&courier, &day, csv)
            }
            DocumentRequest::Labels {
                order_ids,
                per_parcel,
            } => {
                if order_ids.is_empty() {
                    return Err(ApiError::Invalid {
                        field: "order_ids".into(),
                        message: "choose at least one order to print labels for".into(),
                    });
                }
                let mut labels = Vec::new();
                for id in &order_ids {
                    let state = self.order_state(&OrderId::new(id))?;
                    let spec = state
                        .spec
                        .as_ref()
                        .ok_or_else(|| not_found(&OrderId::new(id)))?;
                    let label = LabelData {
                        carrier_name: settings.branding.company_name.clone(),
                        reference: spec.reference.clone(),
                        sender: Party::from_stop(&spec.pickup),
                        recipient: Party {
                            name: if spec.dropoff.contact.name.is_empty() {
                                spec.customer_name.clone()
                            } else {
                                spec.dropoff.contact.name.clone()
                            },
                            ..Party::from_stop(&spec.dropoff)
                        },
                        parcel_count: spec.packages.iter().map(|p| p.count).sum::<u32>().max(1),
                        weight_g: spec
                            .packages
                            .iter()
                            .map(|p| p.weight_g.saturating_mul(p.count))
                            .sum(),
                        parcel_index: None,
                        options: spec.options.clone(),
                        cod_cents: spec.cod_cents,
                        currency: settings.branding.currency.clone(),
                        // The tracking code: the order id the courier's scanner looks up.
                        qr_payload: format!("RUTA1:{}", state.id),
                        instructions: spec.instructions.clone(),
                        date: state
                            .created_at
                            .map(|h| date(h.wall_ms))
                            .unwrap_or_default(),
                    };
                    if per_parcel {
                        labels.extend(documents::per_parcel(&label));
                    } else {
                        labels.push(label);
                    }
                }
                let pdf = documents::labels_pdf(&labels).map_err(doc_error)?;
                let name = if order_ids.len() == 1 {
                    format!("label-{}.pdf", labels[0].reference)
                } else {
                    format!("labels-{}.pdf", order_ids.len())
                };
                Ok(file(name, "application/pdf", pdf))
            }
            DocumentRequest::Receipt { order_id } => {
                let state = self.delivered_state(&order_id)?;
                let spec = state.spec.as_ref().expect("checked");
                let (signature_png, photo) = self.delivery_images(&state);
                let data = ReceiptData {
                    branding: settings.branding.clone(),
                    reference: spec.reference.clone(),
                    delivered_at: delivered_ms(&state).map(stamp).unwrap_or_default(),
                    recipient_name: spec.customer_name.clone(),
                    delivered_to: Party::from_stop(&spec.dropoff).address_lines,
                    courier_name: state
                        .assignee
                        .as_ref()
                        .map(|u| u.to_string())
                        .unwrap_or_default(),
                    items: spec
                        .packages
                        .iter()
                        .map(|p| ReceiptItem {
                            description: if p.reference.is_empty() {
                                "Parcel".into()
                            } else {
                                format!("Parcel {}", p.reference)
                            },
                            quantity: p.count,
                        })
                        .collect(),
                    cod_collected_cents: state.cod_collected,
                    signature_png,
                    photo,
                    proof_id: state
                        .delivery
                        .as_ref()
                        .and_then(|(_, pods)| pods.first().map(|p| p.to_string())),
                };
                let pdf = documents::receipt_pdf(&data).map_err(doc_error)?;
                Ok(file(
                    format!("receipt-{}.pdf", spec.reference),
                    "application/pdf",
                    pdf,
                ))
            }
            DocumentRequest::Invoice { order_id } => {
                let state = self.delivered_state(&order_id)?;
                let spec = state.spec.as_ref().expect("checked");
                let (final_number, rates) =
                    (self.invoice_number(&state.id)?, self.lock().rates.clone());
                // The distance fixed at creation; measured now for older orders.
                let distance = match spec.distance_m {
                    Some(m) => f64::from(m),
                    None => self.distances().priced_m(spec).0,
                };
                let tariff = &rates.tariff;
                // The lines as the tariff in force breaks the price down; the
                // order's own price (fixed at creation, or set by a
                // dispatcher) is what is billed, the difference a line of its own.
                let mut price = rates.price(spec, distance);
                let agreed = spec.price_cents;
                if agreed > 0 && agreed != price.total_cents {
                    price.lines.push(crate::domain::pricing::PriceLine {
                        label: "Adjustment to the agreed price".into(),
                        cents: agreed - price.total_cents,
                    });
                }
                let delivered = delivered_ms(&state);
                let (signature_png, _) = self.delivery_images(&state);
                let data = InvoiceData {
                    branding: settings.branding.clone(),
                    provisional: final_number.is_none(),
                    number: final_number
                        .map(|n| settings.invoice_number(&n))
                        .unwrap_or_else(|| format!("P-{}", spec.reference)),
                    issue_date: delivered.map(date).unwrap_or_default(),
                    due_date: delivered.map(|d| date(d + 14 * 86_400_000)),
                    customer: Party {
                        name: spec.customer_name.clone(),
                        ..Party::from_stop(&spec.dropoff)
                    },
                    customer_vat_id: None,
                    order: Some(InvoiceOrder {
                        reference: spec.reference.clone(),
                        pickup: spec.pickup.address.one_line(),
                        dropoff: spec.dropoff.address.one_line(),
                        distance_m: (distance > 0.0).then_some(distance.round() as u32),
                        delivered_at: delivered.map(stamp),
                    }),
                    lines: price
                        .lines
                        .iter()
                        .map(|l| InvoiceLine {
                            description: l.label.clone(),
                            quantity: 1,
                            unit_price_cents: l.cents,
                            vat_rate_bp: tariff.vat_bp,
                        })
                        .collect(),
                    prices_include_vat: true,
                    cod_collected_cents: state.cod_collected,
                    signature_png,
                    notes: settings.invoice_notes.clone(),
                };
                let pdf = documents::invoice_pdf(&data).map_err(doc_error)?;
                Ok(file(
                    format!("invoice-{}.pdf", data.number),
                    "application/pdf",
                    pdf,
                ))
            }
            DocumentRequest::InvoicePreview => {
                let now = self.clock.now_ms();
                let t = self.lock().rates.tariff.clone();
                let km = t.included_km + 3;
                let line = |description: String, cents: i64| InvoiceLine {
                    description,
                    quantity: 1,
                    unit_price_cents: cents,
                    vat_rate_bp: t.vat_bp,
                };
                let data = InvoiceData {
                    branding: settings.branding.clone(),
                    provisional: true,
                    number: "PREVIEW".into(),
                    issue_date: date(now),
                    due_date: Some(date(now + 14 * 86_400_000)),
                    customer: Party {
                        name: "Sample Customer Oy".into(),
                        address_lines: vec!["Bulevardi 14".into(), "00120 Helsinki".into()],
                        phone: None,
                    },
                    customer_vat_id: None,
                    order: Some(InvoiceOrder {
                        reference: "R-SAMPLE-0001".into(),
                        pickup: "Kaivokatu 1, Helsinki".into(),
                        dropoff: "Bulevardi 14, Helsinki".into(),
                        distance_m: Some(km * 1000),
                        delivered_at: Some(stamp(now)),
                    }),
                    lines: vec![
                        line("Base".into(), t.base_cents),
                        line(
                            format!("Distance {km} km (3 km over {} included)", t.included_km),
                            3 * t.per_km_cents,
                        ),
                        line("Express".into(), t.express_cents),
                    ],
                    prices_include_vat: true,
                    cod_collected_cents: None,
                    signature_png: None,
                    notes: settings.invoice_notes.clone(),
                };
                let pdf = documents::invoice_pdf(&data).map_err(doc_error)?;
                Ok(file("invoice-preview.pdf".into(), "application/pdf", pdf))
            }
            DocumentRequest::Statement {
                customer_name,
                client,
                from_ms,
                to_ms,
                csv,
            } => {
                // A client's statement is of their own orders, whoever they were sent to.
                let session = self.lock().session.clone();
                let client = match session.role {
                    app_api::Role::Client => Some(session.user.as_str().to_owned()),
                    _ => client.filter(|c| !c.trim().is_empty()),
                };
                let customer_name = match (&client, customer_name.trim()) {
                    (Some(c), "") => c.clone(),
                    _ => customer_name,
                };
                if to_ms <= from_ms {
                    return Err(ApiError::Invalid {
                        field: "to_ms".into(),
                        message: "the period ends before it starts".into(),
                    });
                }
                let by_client = client.is_some();
                let mut rows: Vec<(i64, StatementRow)> = self
                    .all_orders(OrderQuery {
                        client,
                        ..OrderQuery::default()
                    })?
                    .into_iter()
                    .filter(|o| {
                        (by_client || o.customer_name == customer_name)
                            && (from_ms..to_ms).contains(&o.created_at_ms)
                    })
                    .map(|o| {
                        (
                            o.created_at_ms,
                            StatementRow {
                                date: date(o.created_at_ms),
                                reference: o.reference,
                                dropoff: o.dropoff_address,
                                status: o.status.label().into(),
                                amount_cents: if crate::lifecycle::billed(o.status) {
                                    o.price_cents
                                } else {
                                    0
                                },
                            },
                        )
                    })
                    .collect();
                rows.sort_by(|a, b| (a.0, &a.1.reference).cmp(&(b.0, &b.1.reference)));
                let data = StatementData {
                    branding: settings.branding.clone(),
                    client: Party {
                        name: customer_name.clone(),
                        ..Party::default()
                    },
                    period_from: date(from_ms),
                    period_to: date(to_ms - 1),
                    issue_date: date(self.clock.now_ms()),
                    rows: rows.into_iter().map(|(_, r)| r).collect(),
                };
                let slug: String = customer_name
                    .chars()
                    .map(|c| if c.is_alphanumeric() { c } else { '-' })
                    .take(40)
                    .collect();
                if csv {
                    let text = documents::statement_csv(&data);
                    Ok(file(
                        format!("statement-{slug}.csv"),
                        "text/csv",
                        text.into_bytes(),
                    ))
                } else {
                    let pdf = documents::statement_pdf(&data).map_err(doc_error)?;
                    Ok(file(
                        format!("statement-{slug}.pdf"),
                        "application/pdf",
                        pdf,
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
