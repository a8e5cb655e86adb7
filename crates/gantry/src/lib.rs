//! Gantry's daemon: the store, the printer manager, the web server, and the `gantry` command.

pub mod cli;
pub mod client;
pub mod daemon;
pub mod location;
pub mod logging;
pub mod manager;
pub mod store;
pub mod web;
