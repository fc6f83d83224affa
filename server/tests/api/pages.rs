//! Pages as the server renders them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    thread::{self, ThreadId},
};

use tracing::{
    field::{Field, Visit},
    Event, Subscriber,
};
use tracing_subscriber::{layer::Context, prelude::*, Layer};

use crate::helpers::spawn_app;

/// The SQL statements each watched thread ran (sqlx logs each one under the target
/// `sqlx::query`). A test's runtime runs the app's tasks on the test's thread.
///
/// The subscriber is the process-wide default, set once. A thread-local one
/// (`set_default`) loses events: when another test's thread is the first to reach one of
/// sqlx's callsites, tracing rebuilds its interest from that thread's no-op default and
/// turns the global max level off.
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<HashMap<ThreadId, Vec<String>>>>);

impl Statements {
    fn installed() -> Self {
        static INSTALLED: OnceLock<Statements> = OnceLock::new();
        INSTALLED
            .get_or_init(|| {
                let statements = Self::default();
                let subscriber = tracing_subscriber::registry().with(statements.clone());
                tracing::subscriber::set_global_default(subscriber)
                    .expect("no other test sets a global subscriber");
                statements
            })
            .clone()
    }

    /// Start recording what this thread runs.
    fn watch_this_thread(&self) {
        let mut seen = self.0.lock().unwrap();
        seen.insert(thread::current().id(), Vec::new());
    }

    /// How many statements this thread ran that contain `needle`.
    fn containing(&self, needle: &str) -> usize {
        let seen = self.0.lock().unwrap();
        let mine = seen.get(&thread::current().id()).map(Vec::as_slice);
        mine.unwrap_or_default()
            .iter()
            .filter(|sql| sql.contains(needle))
            .count()
    }
}

impl<S: Subscriber> Layer<S> for Statements {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut seen = self.0.lock().unwrap();
        if let Some(mine) = seen.get_mut(&thread::current().id()) {
            let mut fields = Fields::default();
            event.record(&mut fields);
            mine.push(fields.0);
        }
    }
}

#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, _: &Field, value: &str) {
        self.0.push_str(value);
        self.0.push('\n');
    }

    fn record_debug(&mut self, _: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{value:?}\n"));
    }
}

/// What `files::list` alone asks for.
const FILE_LIST: &str = "status in ('uploading', 'complete', 'failed')";

#[tokio::test]
async fn a_signed_in_page_reads_its_data_once_when_rendered_on_the_server() {
    let app = spawn_app().await;
    app.signed_up_user().await;

    let statements = Statements::installed();
    statements.watch_this_thread();
    let response = app.get("/files").await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("My files"), "{page}");
    // The page guard's reactive closure used to run twice on the server, and with it the
    // page and every resource it creates.
    assert_eq!(statements.containing(FILE_LIST), 1);
}
