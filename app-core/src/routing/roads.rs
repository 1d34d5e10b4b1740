//! The OpenStreetMap road graph (in progress).
