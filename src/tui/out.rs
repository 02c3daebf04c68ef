//! What a screen's update reads besides its own state (`Ctx`) and what it hands back
//! (`Out`): its own commands, plus the effects only the app carries out — a flash
//! message, moving to another screen, quitting. A screen names only these types; the
//! app maps each screen's `Out<C>` into its own commands.

/// What the screens' updates may read besides their own state.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub now_ms: i64,
    pub width: u16,
    pub height: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashLevel {
    Info,
    Error,
}

/// Moving between screens, asked for by a screen's update and done by the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nav {
    OpenExecution(String),
    /// The wizard saved `name`: the integrations list, with it selected.
    WizardDone {
        name: String,
        position: Option<usize>,
    },
    /// The wizard was left without saving.
    WizardClosed,
    /// The field mapper of the integration with this name.
    /// The field mapper on an integration's entity (`None`: its first).
    OpenMapper {
        integration: String,
        entity: Option<String>,
    },
    /// The integrations list, read afresh (leaving the field mapper).
    Integrations,
}

/// What a screen's update hands back: commands of type `C` to run, at most one flash
/// message, where to go next, and whether to quit.
#[derive(Debug)]
pub struct Out<C> {
    pub commands: Vec<C>,
    pub flash: Option<(FlashLevel, String)>,
    pub nav: Option<Nav>,
    pub quit: bool,
}

impl<C> Default for Out<C> {
    fn default() -> Self {
        Out {
            commands: Vec::new(),
            flash: None,
            nav: None,
            quit: false,
        }
    }
}

impl<C> Out<C> {
    pub fn command(&mut self, c: impl Into<C>) {
        self.commands.push(c.into());
    }
    pub fn error(&mut self, text: impl Into<String>) {
        self.flash = Some((FlashLevel::Error, text.into()));
    }
    pub fn info(&mut self, text: impl Into<String>) {
        self.flash = Some((FlashLevel::Info, text.into()));
    }
    pub fn quit(&mut self) {
        self.quit = true;
    }

    /// The same effects with every command turned into a `D` (the app's command).
    pub fn map<D>(self, f: impl FnMut(C) -> D) -> Out<D> {
        Out {
            commands: self.commands.into_iter().map(f).collect(),
            flash: self.flash,
            nav: self.nav,
            quit: self.quit,
        }
    }

    /// Adds what a screen asked for after what this one did, its commands turned into
    /// these by `f` (the app's variant for that screen).
    pub fn absorb_from<D>(&mut self, screen: Out<D>, f: impl FnMut(D) -> C) {
        self.absorb(screen.map(f));
    }

    /// Adds what `later` asked for after what this one did: its commands run after these,
    /// and its flash message and navigation, if any, replace these.
    pub fn absorb(&mut self, later: Out<C>) {
        self.commands.extend(later.commands);
        if later.flash.is_some() {
            self.flash = later.flash;
        }
        if later.nav.is_some() {
            self.nav = later.nav;
        }
        self.quit |= later.quit;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_keeps_the_effects_and_absorbing_keeps_the_order() {
        let mut first: Out<u8> = Out::default();
        first.command(1u8);
        first.info("one");
        let mut second: Out<u8> = Out::default();
        second.command(2u8);
        second.nav = Some(Nav::Integrations);
        first.absorb(second);
        let mapped = first.map(|c| format!("c{c}"));
        assert_eq!(mapped.commands, ["c1", "c2"]);
        assert_eq!(mapped.flash, Some((FlashLevel::Info, "one".to_string())));
        assert_eq!(mapped.nav, Some(Nav::Integrations));
        assert!(!mapped.quit);
    }
}
