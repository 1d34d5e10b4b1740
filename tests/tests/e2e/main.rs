//! Ruta's end-to-end tests: one test binary, a module per area.
//!
//! Each test starts real processes (see the `ruta_e2e` harness) on loopback
//! with their own SQLite files; browser and window tests drive the real UI.

mod access_matrix;
mod address_search;
mod architecture;
mod browser;
mod cash;
mod chat;
mod crash_safety;
mod demo_shift;
mod device_hosts;
mod fleet;
mod interop;
mod invoices;
mod loadgen;
mod map;
mod order_types;
mod routes;
mod routing;
mod signin;
mod sync;
mod sync_security;
mod sync_server;
mod tenant_config;
mod tickets;
mod trips;
mod waybills;
mod window;
mod workspaces;
