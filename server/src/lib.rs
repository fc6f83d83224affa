//! The Haul server: settings, the embedded local stack, the router and the process around them.

pub mod local_stack;
pub mod routes;
pub mod settings;
pub mod startup;
