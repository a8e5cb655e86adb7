//! *Start at login* through `auto-launch`: an XDG autostart entry on Linux, a LaunchAgent on
//! macOS, the `Run` registry key on Windows.
//!
//! `auto-launch` writes the program path into the entry unquoted (`Exec=` on Linux, the
//! registry value on Windows), so an install path with a space would start the wrong
//! program or nothing. [`launch_command`] quotes it for the platforms that parse a command
//! line; the macOS LaunchAgent takes an argument array and needs no quoting.

use auto_launch::{AutoLaunch, AutoLaunchBuilder};

use crate::args::AUTOSTART_FLAG;

/// The entry's name: no spaces, so the Linux file is `~/.config/autostart/gantry-tray.desktop`.
pub const APP_NAME: &str = "gantry-tray";

#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error("cannot find this program's path: {0}")]
    Exe(#[source] std::io::Error),
    #[error("the login item cannot be changed: {0}")]
    Launcher(#[from] auto_launch::Error),
}

/// How the entry names the program, for a platform that parses a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// Desktop Entry `Exec=`: double quotes, with `"`, `` ` ``, `$` and `\` escaped inside.
    DesktopEntry,
    /// Windows command line: double quotes; a path cannot contain `"`.
    Windows,
    /// An argument array (macOS LaunchAgent): the path goes in verbatim.
    None,
}

impl Quoting {
    fn current() -> Quoting {
        if cfg!(windows) {
            Quoting::Windows
        } else if cfg!(target_os = "macos") {
            Quoting::None
        } else {
            Quoting::DesktopEntry
        }
    }
}

/// The program path as the entry must hold it; quoted only when it needs to be, so the
/// common case stays readable.
pub fn launch_command(exe: &str, quoting: Quoting) -> String {
    match quoting {
        Quoting::None => exe.to_owned(),
        Quoting::Windows if exe.contains([' ', '\t']) => format!("\"{exe}\""),
        Quoting::Windows => exe.to_owned(),
        Quoting::DesktopEntry => {
            const RESERVED: &[char] = &[
                ' ', '\t', '\n', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#',
                '(', ')', '`',
            ];
            if !exe.contains(RESERVED) {
                return exe.to_owned();
            }
            let mut quoted = String::with_capacity(exe.len() + 2);
            quoted.push('"');
            for c in exe.chars() {
                if matches!(c, '"' | '`' | '$' | '\\') {
                    quoted.push('\\');
                }
                quoted.push(c);
            }
            quoted.push('"');
            quoted
        }
    }
}

/// The login item for the running program.
pub struct LoginItem {
    launcher: AutoLaunch,
}

impl LoginItem {
    pub fn for_current_exe() -> Result<LoginItem, AutostartError> {
        let exe = std::env::current_exe().map_err(AutostartError::Exe)?;
        // An AppImage runs from a temporary mount; the login item must start the image itself.
        let exe = std::env::var_os("APPIMAGE").map_or(exe, Into::into);
        let path = launch_command(&exe.to_string_lossy(), Quoting::current());
        let launcher = AutoLaunchBuilder::new()
            .set_app_name(APP_NAME)
            .set_app_path(&path)
            .set_args(&[AUTOSTART_FLAG])
            .build()?;
        Ok(LoginItem { launcher })
    }

    pub fn is_enabled(&self) -> Result<bool, AutostartError> {
        Ok(self.launcher.is_enabled()?)
    }

    /// Writes or removes the entry; removing one that is not there is not an error.
    pub fn set(&self, enabled: bool) -> Result<(), AutostartError> {
        if enabled {
            self.launcher.enable()?;
        } else if self.launcher.is_enabled()? {
            self.launcher.disable()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_stay_unquoted() {
        for q in [Quoting::DesktopEntry, Quoting::Windows, Quoting::None] {
            assert_eq!(
                launch_command("/usr/bin/gantry-tray", q),
                "/usr/bin/gantry-tray"
            );
        }
    }

    #[test]
    fn desktop_entry_quotes_spaces_and_escapes_specials() {
        assert_eq!(
            launch_command("/opt/My Apps/gantry-tray", Quoting::DesktopEntry),
            "\"/opt/My Apps/gantry-tray\""
        );
        assert_eq!(
            launch_command("/home/a$b/x\"y", Quoting::DesktopEntry),
            "\"/home/a\\$b/x\\\"y\""
        );
    }

    #[test]
    fn windows_quotes_paths_with_spaces() {
        assert_eq!(
            launch_command(
                r"C:\Users\Ada Lovelace\AppData\Local\Gantry\gantry-tray.exe",
                Quoting::Windows
            ),
            r#""C:\Users\Ada Lovelace\AppData\Local\Gantry\gantry-tray.exe""#
        );
    }

    #[test]
    fn launch_agent_takes_the_path_verbatim() {
        assert_eq!(
            launch_command(
                "/Applications/Gantry.app/Contents/MacOS/gantry-tray",
                Quoting::None
            ),
            "/Applications/Gantry.app/Contents/MacOS/gantry-tray"
        );
        assert_eq!(launch_command("/a b/c", Quoting::None), "/a b/c");
    }
}
