//! Records, per thread, the `tracing` events of certauth: how many carry a given field,
//! and each event's fields as text. One global subscriber for the whole test binary.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, Once};
use std::thread::{self, ThreadId};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

/// One recorded event: its level and its fields (`message` included), as text.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub(crate) level: tracing::Level,
    pub(crate) fields: Vec<(&'static str, String)>,
}

impl Recorded {
    /// The text of field `name`, if the event has it.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    counts: HashMap<(ThreadId, &'static str), usize>,
    events: HashMap<ThreadId, Vec<Recorded>>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

struct Recorder;

struct Fields(Vec<(&'static str, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_owned()));
    }
}

impl Subscriber for Recorder {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.enabled(metadata) { Interest::always() } else { Interest::never() }
    }
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("certauth")
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        let mut state = STATE.lock().unwrap();
        let state = state.get_or_insert_with(State::default);
        let me = thread::current().id();
        for field in event.metadata().fields() {
            *state.counts.entry((me, field.name())).or_default() += 1;
        }
        state
            .events
            .entry(me)
            .or_default()
            .push(Recorded { level: *event.metadata().level(), fields: fields.0 });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Installs the recorder (once per binary).
fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::dispatcher::set_global_default(tracing::Dispatch::new(Recorder))
            .expect("no other global subscriber in the test binary");
    });
}

/// How many certauth events with the field `field` this thread has emitted.
pub(crate) fn count(field: &'static str) -> usize {
    install();
    let state = STATE.lock().unwrap();
    state
        .as_ref()
        .and_then(|s| s.counts.get(&(thread::current().id(), field)))
        .copied()
        .unwrap_or(0)
}

/// The certauth events this thread has emitted so far.
pub(crate) fn events() -> Vec<Recorded> {
    install();
    let state = STATE.lock().unwrap();
    state.as_ref().and_then(|s| s.events.get(&thread::current().id())).cloned().unwrap_or_default()
}
