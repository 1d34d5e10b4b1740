//! Routing on the device: everything here runs offline, on a courier's phone or
//! the depot's desktop. No routing service is called.
//!
//! - [`matrix`]: travel matrices (seconds, metres) and the straight-line default.
//! - [`roads`]: a routable graph from an OpenStreetMap extract (one-way streets,
//!   speeds by road class), shortest-path matrices and path geometry.
//! - [`plan`]: the delivery domain on top: a courier's sequence, ETAs, and the
//!   dispatcher's auto-assignment proposal.
//! - [`tsplib`]: the TSPLIB file format, for benchmarks and the `ruta` CLI.
//! - [`tsp`]: the symmetric travelling-salesman solver (iterated local search).
//! - [`vrp`]: the vehicle-routing solver (pickup-and-delivery, time windows,
//!   capacity, skills, fixed stops), used for courier sequences and auto-assignment.
//! - [`vroom`]: VROOM's problem and solution JSON over the [`vrp`] solver.
//!
//! Solvers are deterministic for a seed: their trajectory depends only on the
//! seed and the instance; a time limit can only cut the trajectory short.

pub mod matrix;
pub mod plan;
pub mod rng;
pub mod roads;
pub mod tsp;
pub mod tsplib;
pub mod vroom;
pub mod vrp;

pub use matrix::{Matrix, StraightLine};
pub use rng::Budget;
