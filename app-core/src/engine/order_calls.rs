//! Order calls: create, act, read one order (summary and detail), and the
//! translation of the API's input into the lifecycle's events.

use super::*;
use crate::domain::WarehouseId;
use crate::domain::order::OrderType;
use crate::domain::pricing::Pricing as _;

/// Builds the spec of a new order from the API's input (the reference and price
/// are filled in by the caller).
pub(crate) fn spec_from(new: &NewOrder, actor: &Actor) -> Result<OrderSpec, Refusal> {
    let point = |p: Option<app_api::Point>| -> Result<Option<GeoPoint>, Refusal> {
        p.map(|p| GeoPoint::new(p.lat, p.lon))
            .transpose()
            .map_err(Refusal::from)
    };
    let stop = |line: &str, p: Option<app_api::Point>| -> Result<Stop, Refusal> {
        Ok(Stop {
            address: Address {
                line1: line.trim().to_owned(),
                point: point(p)?,
                ..Default::default()
            },
            ..Default::default()
        })
    };
    let warehouse = |id: &Option<String>| {
        id.as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(WarehouseId::new)
    };
    let window =
        |w: Option<(i64, i64)>| w.map(|(start_ms, end_ms)| TimeWindow { start_ms, end_ms });
    let mut pickup = stop(&new.pickup_address, new.pickup_point)?;
    pickup.window = window(new.pickup_window);
    pickup.contact.name = new.pickup_contact_name.trim().to_owned();
    pickup.contact.phone = new.pickup_phone.trim().to_owned();
    pickup.warehouse = warehouse(&new.pickup_warehouse);
    let mut dropoff = stop(&new.dropoff_address, new.dropoff_point)?;
    dropoff.warehouse = warehouse(&new.dropoff_warehouse);
    dropoff.window = new
        .dropoff_window
        .map(|(start_ms, end_ms)| TimeWindow { start_ms, end_ms });
    dropoff.contact.name = new.dropoff_contact_name.trim().to_owned();
    dropoff.contact.phone = new.dropoff_phone.trim().to_owned();
    let client = match (actor.role, &new.client) {
        (Role::Client, _) => Some(actor.user.clone()),
        (_, Some(c)) => Some(UserId::new(c.clone())),
        _ => None,
    };
    Ok(OrderSpec {
        reference: String::new(),
        order_type: new.order_type,
        carrier: new.carrier,
        customer_name: new.customer_name.trim().to_owned(),
        customer: None,
        client,
        pickup,
        dropoff,
        packages: vec![Package {
            count: new.parcels.unwrap_or(1),
            weight_g: new.weight_g,
            dims_mm: new.dims_mm,
            reference: new.package_reference.trim().to_owned(),
        }],
        notes: new.notes.clone(),
        instructions: new.instructions.clone(),
        options: crate::domain::order::ServiceOptions {
            age_check: new.age_check,
            express: new.express,
            ..Default::default()
        },
        priority: new.priority,
        pod: PodRequirements {
            photo: new.pod.photo,
            signature: new.pod.signature,
            qr: new.pod.qr,
            pin: new.pod.pin,
        },
        cod_cents: new.cod_cents,
        price_cents: 0,
        service: new
            .service
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        distance_m: None,
    })
}

/// How long an on-demand order without a window (and without a service that
/// sets one) has: it is due now.
pub(crate) const ON_DEMAND_MINUTES: i64 = 60;

/// Gives `stop` the address and position of the warehouse it names (an
/// unknown warehouse is refused under `field`, listing the known ones).
pub(crate) fn fill_warehouse_stop(
    stop: &mut Stop,
    field: &str,
    config: &app_api::config::TenantConfig,
) -> Result<(), Refusal> {
    let id = stop
        .warehouse
        .clone()
        .unwrap_or_else(|| WarehouseId::new(""));
    let Some(w) = config.warehouse(id.as_str()) else {
        let known: Vec<&str> = config.warehouses.iter().map(|w| w.id.as_str()).collect();
        return Err(Refusal::from(crate::domain::order::SpecError::new(
            field,
            if known.is_empty() {
                format!("{:?}: this device knows no warehouses", id.as_str())
            } else {
                format!(
                    "{:?} is not a warehouse (known: {})",
                    id.as_str(),
                    known.join(", ")
                )
            },
        )));
    };
    if stop.address.line1.is_empty() {
        stop.address.line1 = format!("{}, {}", w.name, w.address);
    }
    stop.address.point =
        Some(GeoPoint::new(w.position.lat, w.position.lon).map_err(Refusal::from)?);
    Ok(())
}

/// What the order's service level and the tenant's POD policy add to a new
/// order's spec: the proofs they require (on top of the order's own), and the
/// service's delivery window from `now` when the order gives none. A service
/// the tenant does not offer is refused by name.
pub(crate) fn apply_service(
    spec: &mut OrderSpec,
    config: &app_api::config::TenantConfig,
    now_ms: i64,
) -> Result<(), Refusal> {
    // A warehouse stop takes the warehouse's address and position.
    for (field, stop) in [
        ("pickup_warehouse", &mut spec.pickup),
        ("dropoff_warehouse", &mut spec.dropoff),
    ] {
        if stop.warehouse.is_some() {
            fill_warehouse_stop(stop, field, config)?;
        }
    }
    let mut needs = config.pod_policy.default_proofs;
    if let Some(id) = &spec.service {
        let Some(service) = config.service(id) else {
            let offered: Vec<&str> = config.services.iter().map(|s| s.id.as_str()).collect();
            return Err(Refusal::from(crate::domain::order::SpecError::new(
                "service",
                if offered.is_empty() {
                    format!("{id:?}: the tenant offers no service levels")
                } else {
                    format!("{id:?} is not offered (offered: {})", offered.join(", "))
                },
            )));
        };
        needs.photo |= service.proofs.photo;
        needs.signature |= service.proofs.signature;
        needs.qr |= service.proofs.qr;
        needs.pin |= service.proofs.pin;
        if spec.dropoff.window.is_none() && service.window_minutes > 0 {
            spec.dropoff.window = Some(TimeWindow {
                start_ms: now_ms,
                end_ms: now_ms + i64::from(service.window_minutes) * 60_000,
            });
        }
    }
    if spec.order_type == OrderType::OnDemand && spec.dropoff.window.is_none() {
        // Due now: the window opens at once and closes after the tenant's
        // on-demand promise (an hour unless a service level says otherwise).
        spec.dropoff.window = Some(TimeWindow {
            start_ms: now_ms,
            end_ms: now_ms + ON_DEMAND_MINUTES * 60_000,
        });
    }
    spec.pod.photo |= needs.photo;
    spec.pod.signature |= needs.signature;
    spec.pod.qr |= needs.qr;
    spec.pod.pin |= needs.pin;
    Ok(())
}

/// Turns an API action into the lifecycle event it asks for.
pub(crate) fn action_body(
    state: &OrderState,
    action: Action,
    config: &app_api::config::TenantConfig,
) -> Result<EventBody, Refusal> {
    Ok(match action {
        Action::ReceiveAtHub { warehouse } => {
            let mut hub = Stop {
                warehouse: Some(WarehouseId::new(warehouse.trim())),
                ..Stop::default()
            };
            fill_warehouse_stop(&mut hub, "warehouse", config)?;
            EventBody::ReceivedAtHub { hub }
        }
        Action::Assign { courier } => EventBody::Assigned {
            courier: UserId::new(courier),
        },
        Action::Unassign => EventBody::Unassigned,
        Action::Claim => EventBody::Claimed,
        Action::Accept => EventBody::Accepted,
        Action::Decline { reason } => EventBody::Declined { reason },
        Action::PickUp => EventBody::PickedUp,
        Action::StartTransit => EventBody::InTransit,
        Action::Deliver { pods } => EventBody::Delivered {
            pods: pods.into_iter().map(PodId::new).collect(),
            for_carrier: false,
        },
        Action::RecordCarrierDelivery => EventBody::Delivered {
            pods: vec![],
            for_carrier: true,
        },
        Action::FailAttempt { reason } => EventBody::AttemptFailed { reason },
        Action::Return { reason } => EventBody::Returned { reason },
        Action::Cancel { reason } => EventBody::Cancelled { reason },
        Action::Reopen => EventBody::Reopened,
        Action::CollectCod { cents } => EventBody::CodCollected { cents },
        Action::SetPrice { cents } => EventBody::PriceSet { cents },
        Action::SetCod { cents } => EventBody::CodSet { cents },
        Action::EditDropoffAddress { address, point } => {
            let spec = state.spec.as_ref().ok_or(Refusal::NotFound)?;
            let mut stop = spec.dropoff.clone();
            stop.address = Address {
                line1: address.trim().to_owned(),
                point: point
                    .map(|p| GeoPoint::new(p.lat, p.lon))
                    .transpose()
                    .map_err(Refusal::from)?,
                ..Default::default()
            };
            // A new address is not the warehouse any more.
            stop.warehouse = None;
            EventBody::Edited {
                edit: Edit::Dropoff(stop),
                previous: None,
            }
        }
        Action::EditNotes { text } => EventBody::Edited {
            edit: Edit::Notes(text),
            previous: None,
        },
        Action::EditInstructions { text } => EventBody::Edited {
            edit: Edit::Instructions(text),
            previous: None,
        },
        Action::AddNote { text } => EventBody::NoteAdded { text },
        Action::ResolveConflict { conflict, note } => {
            EventBody::ConflictResolved { conflict, note }
        }
    })
}

impl Core {
    /// Applies one action of the signed-in user to an order.
    pub fn act(&self, id: &OrderId, action: Action) -> Result<OrderState, ApiError> {
        let actor = self.lock().session.clone();
        let config = self.tenant_config();
        self.write_event(id, |_, state, at| {
            let body = action_body(state, action, &config).map_err(|r| refused(id, r))?;
            lifecycle::decide(state, &actor, body, at, None).map_err(|r| refused(id, r))
        })
    }

    pub(crate) fn create_order(&self, new: NewOrder) -> Result<OrderSummary, ApiError> {
        let id = OrderId::new(uuid::Uuid::new_v4().to_string());
        self.create_with(&id, &new, None)?;
        // On a route's points: it joins the route's next session by itself.
        self.auto_attach_orders(&[id.to_string()]);
        self.summary(&id)
    }

    /// Creates an order document; `import` names a skeleton row to consume in the
    /// same transaction (its reference is kept).
    pub(crate) fn create_with(
        &self,
        id: &OrderId,
        new: &NewOrder,
        import: Option<(&str, &str)>,
    ) -> Result<(), ApiError> {
        let (actor, rates) = {
            let inner = self.lock();
            (inner.session.clone(), inner.rates.clone())
        };
        let config = self.tenant_config();
        let now = self.clock.now_ms();
        // Measured before the write: a road path is not worth holding the store for.
        let mut probe = spec_from(new, &actor).map_err(|r| refused(id, r))?;
        apply_service(&mut probe, &config, now).map_err(|r| refused(id, r))?;
        let (distance, _) = self.distances().priced_m(&probe);
        self.write_event(id, |tx, state, at| {
            let mut spec = spec_from(new, &actor).map_err(|r| refused(id, r))?;
            apply_service(&mut spec, &config, now).map_err(|r| refused(id, r))?;
            spec.reference = match import {
                Some((row, reference)) => {
                    tx.drop_skeleton_order(row).map_err(storage)?;
                    reference.to_owned()
                }
                None => tx.next_order_reference().map_err(storage)?,
            };
            spec.distance_m = (distance > 0.0).then_some(distance.round() as u32);
            spec.price_cents = rates.price(&spec, distance).total_cents;
            lifecycle::decide(state, &actor, EventBody::Created { spec }, at, None)
                .map_err(|r| refused(id, r))
        })?;
        Ok(())
    }

    pub(crate) fn summary(&self, id: &OrderId) -> Result<OrderSummary, ApiError> {
        Ok(self.detail(id.as_str())?.summary)
    }

    pub(crate) fn detail(&self, id: &str) -> Result<OrderDetail, ApiError> {
        let inner = self.lock();
        let (summary, timeline, conflicts, notes, instructions, pods) = inner
            .store
            .order_detail(id)
            .map_err(storage)?
            .ok_or_else(|| not_found(&OrderId::new(id)))?;
        let pods: Vec<lifecycle::CapturedPod> = serde_json::from_str(&pods).unwrap_or_default();
        let pods = pods
            .into_iter()
            .map(|c| {
                let link = c.record.chain.as_ref();
                let captured =
                    c.at.zip(c.by.as_ref())
                        .map(|(at, by)| app_api::PodProvenance {
                            at_ms: at.wall_ms,
                            by: by.user.to_string(),
                            device: by.device.to_string(),
                            gps: link.and_then(|l| l.gps).map(|g| app_api::GpsInput {
                                lat: g.lat(),
                                lon: g.lon(),
                                accuracy_m: f64::from(g.accuracy_cm) / 100.0,
                            }),
                            device_clock_ms: link.map(|l| l.device_clock_ms),
                            chain_seq: link.map(|l| l.seq),
                        });
                let p = c.record;
                PodInput {
                    id: p.id.to_string(),
                    photo_sha256: p.photo_sha256,
                    signature_sha256: p.signature_sha256,
                    qr_verified: p.qr_verified,
                    pin_verified: p.pin_verified,
                    age_confirmed: p.age_confirmed,
                    captured,
                }
            })
            .collect();
        drop(inner);
        let mut detail = OrderDetail {
            summary,
            timeline,
            conflicts,
            pods,
            notes,
            instructions,
            pickup: None,
            dropoff: None,
            pod_needs: Default::default(),
            age_check: None,
            parcels: 0,
            weight_g: 0,
            missing_proofs: vec![],
            actions: vec![],
            documents: false,
            verification_ready: self.can_verify(id),
        };
        // What the projection does not hold comes from the document itself.
        let state = self.order_state(&OrderId::new(id))?;
        if let Some(spec) = &state.spec {
            let view = |s: &Stop| app_api::StopView {
                address: s.address.one_line(),
                point: s.address.point.map(|p| app_api::Point {
                    lat: p.lat,
                    lon: p.lon,
                }),
                contact_name: s.contact.name.clone(),
                contact_phone: s.contact.phone.clone(),
                window: s.window.map(|w| (w.start_ms, w.end_ms)),
                warehouse: s.warehouse.as_ref().map(|w| w.as_str().to_owned()),
            };
            // Staged at a hub, the pickup is the hub (the last leg's start).
            let leg = state.leg_spec().unwrap_or(std::borrow::Cow::Borrowed(spec));
            detail.pickup = Some(view(&leg.pickup));
            detail.dropoff = Some(view(&spec.dropoff));
            detail.pod_needs = app_api::PodNeeds {
                photo: spec.pod.photo,
                signature: spec.pod.signature || spec.options.signature_required,
                qr: spec.pod.qr,
                pin: spec.pod.pin,
            };
            detail.age_check = spec.options.age_check;
            detail.parcels = spec.packages.iter().map(|p| p.count).sum();
            detail.weight_g = spec
                .packages
                .iter()
                .map(|p| p.weight_g.saturating_mul(p.count))
                .sum();
            detail.missing_proofs = lifecycle::proofs_for_delivery(&state).0;
            let actor = self.lock().session.clone();
            detail.actions = lifecycle::allowed_actions(&state, &actor);
            detail.documents = lifecycle::documents_available(&state);
        }
        Ok(detail)
    }

    /// The derived state of an order, straight from its document.
    pub fn order_state(&self, id: &OrderId) -> Result<OrderState, ApiError> {
        Ok(lifecycle::derive(id.clone(), self.load_doc(id)?.events().0))
    }

    /// Orders created by the walking skeleton (schema 1) become documents.
    pub(crate) fn import_skeleton_orders(&self) -> Result<(), ApiError> {
        let rows = self.lock().store.skeleton_orders().map_err(storage)?;
        for (id, reference, customer, pickup, dropoff) in rows {
            let new = NewOrder::simple(&customer, &pickup, &dropoff);
            self.create_with(&OrderId::new(id.clone()), &new, Some((&id, &reference)))?;
        }
        Ok(())
    }
}
