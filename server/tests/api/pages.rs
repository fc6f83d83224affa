//! Pages as the server renders them.

use std::sync::{Arc, Mutex};

use tracing::{
    field::{Field, Visit},
    Event, Subscriber,
};
use tracing_subscriber::{layer::Context, prelude::*, Layer};

use crate::helpers::spawn_app;

/// The SQL statements run while it is this thread's subscriber (sqlx logs each one under
/// the target `sqlx::query`). The tests' runtime runs the app's tasks on the test's thread.
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<Vec<String>>>);

impl Statements {
    fn containing(&self, needle: &str) -> usize {
        let seen = self.0.lock().unwrap();
        seen.iter().filter(|sql| sql.contains(needle)).count()
    }
}

impl<S: Subscriber> Layer<S> for Statements {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            let mut fields = Fields::default();
            event.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
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

    let statements = Statements::default();
    let response = {
        let subscriber = tracing_subscriber::registry().with(statements.clone());
        let _on_this_thread = tracing::subscriber::set_default(subscriber);
        app.get("/files").await
    };
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("My files"), "{page}");
    // The page guard's reactive closure used to run twice on the server, and with it the
    // page and every resource it creates.
    assert_eq!(statements.containing(FILE_LIST), 1);
}
