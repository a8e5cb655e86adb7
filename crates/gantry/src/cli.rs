//! The `gantry` command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::location::Location;

#[derive(Debug, Parser)]
#[command(
    name = "gantry",
    version,
    about = "Gantry: drive your 3D printers from a browser, a slicer or the cloud"
)]
pub struct Cli {
    #[command(flatten)]
    pub location: Location,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: printers, dashboard and API
    Serve(ServeArgs),
    /// Show the running daemon's address and printers
    Status(StatusArgs),
    /// Read or change the running daemon's access settings (external access, local login, TLS)
    Config(crate::access::cli::ConfigArgs),
    /// Link to a cloud account: e-mail and password, --device (a code for another device) or --sso
    Login(crate::login::LoginArgs),
    /// Unlink from the cloud account; printers keep working (refused while printing without --force)
    Logout(crate::login::LogoutArgs),
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Start N simulated printers (a Marlin-like firmware on a pseudo-terminal each)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub simulate: u32,
    /// Connect to a printer on this serial port, e.g. /dev/ttyUSB0 or /dev/ttyACM0@250000 (repeatable)
    #[arg(long = "serial", value_name = "PATH[@BAUD]")]
    pub serial: Vec<String>,
    /// Do not scan for USB printers (only --serial ports and simulators are used)
    #[arg(long)]
    pub no_discovery: bool,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

/// A port given on the command line as `PATH[@BAUD]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PortArg {
    pub path: PathBuf,
    pub baud: u32,
}

pub const DEFAULT_BAUD: u32 = 115_200;

impl std::str::FromStr for PortArg {
    type Err = String;

    fn from_str(text: &str) -> Result<PortArg, String> {
        let (path, baud) = match text.rsplit_once('@') {
            Some((path, baud)) => {
                let baud = baud
                    .parse()
                    .map_err(|_| format!("`{baud}` in `{text}` is not a baud rate"))?;
                (path, baud)
            }
            None => (text, DEFAULT_BAUD),
        };
        if path.is_empty() {
            return Err(format!("`{text}` names no port"));
        }
        Ok(PortArg {
            path: PathBuf::from(path),
            baud,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_args_take_an_optional_baud() {
        assert_eq!(
            "/dev/ttyACM0@250000".parse::<PortArg>().unwrap(),
            PortArg {
                path: "/dev/ttyACM0".into(),
                baud: 250_000
            }
        );
        assert_eq!(
            "/dev/ttyUSB0".parse::<PortArg>().unwrap().baud,
            DEFAULT_BAUD
        );
        assert!("/dev/ttyUSB0@fast".parse::<PortArg>().is_err());
        assert!("@115200".parse::<PortArg>().is_err());
    }
}
