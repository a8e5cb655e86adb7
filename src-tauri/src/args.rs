//! The tray app's command line: the same `--port`/`--data-dir` (and environment variables)
//! as `gantry serve`, so the tray and the daemon always agree on where Gantry lives.

use clap::Parser;
use gantry::cli::ServeArgs;
use gantry::location::Location;

/// The flag the login-item entry passes, so a launch at login can stay quiet.
pub const AUTOSTART_FLAG: &str = "--autostart";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "gantry-tray",
    version,
    about = "Gantry in the system tray: runs the Gantry service and opens its dashboard"
)]
pub struct Args {
    #[command(flatten)]
    pub location: Location,
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Launched by the login item (not by a person): do not open the dashboard unless the
    /// settings ask for it.
    #[arg(long = "autostart")]
    pub autostart: bool,
}

impl Args {
    /// Parses a second instance's argv as forwarded by the single-instance plugin. Returns
    /// `None` for an argv that does not parse, which only ever comes from a person's typo.
    pub fn from_forwarded(argv: &[String]) -> Option<Args> {
        Args::try_parse_from(argv).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autostart_flag_matches_the_constant() {
        let args = Args::try_parse_from(["gantry-tray", AUTOSTART_FLAG]).unwrap();
        assert!(args.autostart);
        assert!(!Args::try_parse_from(["gantry-tray"]).unwrap().autostart);
    }

    #[test]
    fn takes_the_daemon_options() {
        let args = Args::try_parse_from([
            "gantry-tray",
            "--port",
            "9000",
            "--data-dir",
            "/tmp/x",
            "--simulate",
            "2",
        ])
        .unwrap();
        assert_eq!(args.location.port, Some(9000));
        assert_eq!(args.location.data_dir(), std::path::PathBuf::from("/tmp/x"));
        assert_eq!(args.serve.simulate, 2);
    }

    #[test]
    fn forwarded_garbage_is_ignored() {
        assert!(Args::from_forwarded(&["gantry-tray".into(), "--bogus".into()]).is_none());
    }
}
