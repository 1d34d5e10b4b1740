//! Waybills: a batch of orders moved under one number (a hub transfer, a
//! hand-over to an external carrier), its PDF with a barcode, and the scan
//! that records the step on every order on it. The rules are
//! `ruta_model::waybill_doc`'s; each order's step is judged by its lifecycle.

use serde::{Deserialize, Serialize};

use crate::DeliveryStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaybillStatus {
    /// Orders are being added.
    Open,
    /// Handed over at the origin.
    Dispatched,
    /// Received at the destination.
    Arrived,
    Cancelled,
}

impl WaybillStatus {
    pub fn label(self) -> &'static str {
        match self {
            WaybillStatus::Open => "Open",
            WaybillStatus::Dispatched => "Dispatched",
            WaybillStatus::Arrived => "Arrived",
            WaybillStatus::Cancelled => "Cancelled",
        }
    }
}

/// A new waybill and the orders it starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewWaybill {
    pub origin: String,
    pub destination: String,
    /// The warehouse its orders are received into on arrival (a warehouse id).
    #[serde(default)]
    pub destination_warehouse: Option<String>,
    #[serde(default)]
    pub carrier: String,
    #[serde(default)]
    pub seal: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub order_ids: Vec<String>,
}

/// The step a scan of a waybill's code records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaybillStep {
    /// Handed over at the origin.
    Dispatch,
    /// Received at the destination.
    Arrive,
}

/// What an operator does to a waybill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WaybillAction {
    AddOrders {
        order_ids: Vec<String>,
    },
    RemoveOrder {
        order_id: String,
    },
    /// Record a step on the waybill and on each of its orders.
    Step {
        step: WaybillStep,
    },
    Cancel {
        reason: String,
    },
}

/// An order on a waybill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaybillOrderView {
    pub order_id: String,
    pub reference: String,
    pub recipient: String,
    /// None: the order has not arrived on this device.
    pub status: Option<DeliveryStatus>,
    /// Other open waybills it is on (added on two devices apart): a conflict
    /// to resolve by removing it from one.
    pub also_on: Vec<String>,
}

/// What a step did to one order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaybillStepResult {
    pub order_id: String,
    pub reference: String,
    pub ok: bool,
    /// Why the order's lifecycle refused the step, when it did.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaybillHistoryEntry {
    pub at_ms: i64,
    pub by: String,
    pub what: String,
}

/// A waybill as screens show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaybillView {
    pub id: String,
    /// Printed and encoded as its barcode; a scan finds the waybill by it.
    pub number: String,
    pub status: WaybillStatus,
    pub origin: String,
    pub destination: String,
    pub destination_warehouse: Option<String>,
    pub carrier: String,
    pub seal: Option<String>,
    pub reference: Option<String>,
    pub cancelled_reason: Option<String>,
    pub orders: Vec<WaybillOrderView>,
    /// Newest first.
    pub history: Vec<WaybillHistoryEntry>,
    /// The step just recorded, per order (empty otherwise).
    #[serde(default)]
    pub step_results: Vec<WaybillStepResult>,
    /// Written here and not yet confirmed by the server.
    pub pending: bool,
}

/// A waybill as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaybillSummary {
    pub id: String,
    pub number: String,
    pub status: WaybillStatus,
    pub origin: String,
    pub destination: String,
    pub carrier: String,
    pub orders: u32,
    pub created_ms: i64,
    pub pending: bool,
}

/// An order waiting at a hub for its next leg.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HubItem {
    pub order_id: String,
    pub reference: String,
    pub recipient: String,
    pub dropoff_address: String,
    /// The warehouse it was received into (None: a hub without an id).
    pub warehouse: Option<String>,
    pub warehouse_name: String,
    /// When it was received there.
    pub since_ms: i64,
    /// The open waybill it is on, if any (its next leg is booked).
    pub waybill: Option<String>,
}

/// What is at the hubs now, longest there first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HubInventory {
    pub items: Vec<HubItem>,
    /// (warehouse id or "", name, how many) per hub.
    pub hubs: Vec<(String, String, u32)>,
}
