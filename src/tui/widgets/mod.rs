//! Pieces every screen shares: header, footer, status line (flash messages, filter and
//! command line), the help overlay, the too-small notice and the list screens' table frame.

pub mod confirm;
pub mod footer;
pub mod header;
pub mod help;
pub mod line_input;
pub mod secret_panel;
pub mod status;
pub mod table_frame;
pub mod too_small;
