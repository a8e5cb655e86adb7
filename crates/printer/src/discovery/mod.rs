//! Finding printers: which serial ports exist, which printer each one is, whether another
//! program holds it, and what firmware answers on it.
//!
//! - [`profile`]: the bundled table of printer USB ids and their baud rates (`profiles/usb.json`).
//! - [`port`]: the OS's port listing with USB descriptors, socket and udev links.
//! - [`identity`]: a key per printer that survives replug and restart.
//! - [`holder`]: who else has a port open, from `/proc`.
//! - [`scanner`]: the polling loop's state, as added/removed/busy events.
//! - [`probe`]: opening a port exclusively and asking the firmware who it is.
//!
//! Nothing here opens a port that matches no profile unless the user added it, or a port
//! another program holds: opening a port can reset a board (DTR) and writing to one another
//! program drives ruins its print.

pub mod holder;
pub mod host;
pub mod identity;
pub mod port;
pub mod probe;
pub mod profile;
pub mod scanner;

pub use holder::{port_holder, port_holders, Holder};
pub use host::{Host, SystemHost};
pub use identity::{identities, Identity, IdentityBasis};
pub use port::{list_ports, PortInfo, UsbInfo};
pub use probe::{probe, ProbeError, Probed};
pub use profile::{lookup, profiles, Profile, ProfileKind, DEFAULT_BAUDS};
pub use scanner::{Candidate, DiscoveryEvent, Scanner};
