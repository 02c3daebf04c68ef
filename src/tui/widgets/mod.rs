//! Pieces every screen shares: header, footer, status line (flash messages, filter and
//! command line), the help overlay and the too-small notice.

pub mod footer;
pub mod header;
pub mod help;
pub mod line_input;
pub mod status;
pub mod too_small;
