//! G-code files for the printer driver and the dashboard.
//!
//! Everything here works on a [`std::io::BufRead`] a line at a time so a job of any size is
//! streamed from disk in constant memory: [`reader`] yields the commands to send, [`metadata`]
//! scans a file once for what the slicer wrote about it, [`modal`] rebuilds the printer state at
//! a line so an interrupted job can resume, and [`progress`] turns bytes and time into a percent
//! and an ETA.

pub mod format;
pub mod layers;
pub mod line;
pub mod metadata;
pub mod modal;
pub mod progress;
pub mod reader;
pub mod words;

pub use format::{detect_format, Format};

pub use metadata::{scan, scan_path, LayerMark, Metadata, MetadataError, ProgressHint, Thumbnail};
pub use modal::{reconstruct, resume_preamble, ModalState, ResumeError, ResumeOptions, Units};
pub use reader::{Command, Line, ReadError, Reader};
