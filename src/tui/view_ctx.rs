//! What every view reads besides its own state: the theme, the keymap (for the keys it
//! names) and the clock. A leaf: the frame, the screens' views and the widgets all name
//! it, and it names none of them.

use super::keymap::Keymap;
use super::theme::Theme;

/// What every view may read besides its own state.
pub struct ViewCtx<'a> {
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
    pub now_ms: i64,
    /// The local offset, for times of day (log timestamps).
    pub offset: chrono::FixedOffset,
    /// Changing actions are hidden.
    pub read_only: bool,
}
