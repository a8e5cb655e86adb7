//! Gantry's daemon: the store, the printer manager, the web server, and the `gantry` command.

pub mod access;
pub mod apikeys;
pub mod cli;
pub mod client;
pub mod cloud;
pub mod daemon;
pub mod files;
pub mod location;
pub mod logging;
pub mod login;
pub mod manager;
pub mod secrets;
pub mod store;
pub mod web;
