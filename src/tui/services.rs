//! What the console's commands run against: the store, and an engine for the work that
//! reaches a source (test connection, samples for the mapper and the wizard). The engine
//! object is there even with `--no-engine`; it is then only not started, so nothing is
//! claimed or scheduled by this process.

use crate::engine::Engine;
use crate::store::Store;

#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub engine: Engine,
}

impl Services {
    pub fn new(store: Store, engine: Engine) -> Services {
        Services { store, engine }
    }
}
