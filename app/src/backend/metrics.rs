//! What an operator watches, in Prometheus's text format: uploads and their bytes, the
//! latency of the upload protocol's calls, S3 calls by operation and outcome, the database
//! pool, sign-ins and rate-limit refusals, and what the sweeper removed. Each app state has
//! its own registry (nothing global), so servers in one process count apart.

use std::{sync::Arc, time::Duration};

use metrics::{Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Latency buckets, in seconds: from a fast database call to a slow S3 completion.
const BUCKETS: &[f64] = &[
    0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, v.to_string()))
        .collect();
    Key::from_parts(name, labels)
}

const META: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        Self {
            inner: Arc::new(Inner { recorder, handle }),
        }
    }

    /// Adds `n` to a counter.
    pub fn count(&self, name: &'static str, labels: &[(&'static str, &str)], n: u64) {
        self.inner
            .recorder
            .register_counter(&key(name, labels), &META)
            .increment(n);
    }

    /// Records how long something took, in a histogram of seconds.
    pub fn time(&self, name: &'static str, labels: &[(&'static str, &str)], took: Duration) {
        self.inner
            .recorder
            .register_histogram(&key(name, labels), &META)
            .record(took.as_secs_f64());
    }

    /// Sets a gauge.
    pub fn set(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        self.inner
            .recorder
            .register_gauge(&key(name, labels), &META)
            .set(value);
    }

    /// Everything, in Prometheus's text exposition format.
    pub fn render(&self) -> String {
        self.inner.handle.render()
    }

    /// An upload ended: `outcome` is completed, failed or aborted.
    pub fn upload_ended(&self, outcome: &'static str, bytes: i64) {
        self.count(upload_counter(outcome), &[], 1);
        if outcome == "completed" {
            self.count(
                "haul_upload_bytes_completed_total",
                &[],
                u64::try_from(bytes).unwrap_or(0),
            );
        }
    }
}

fn upload_counter(outcome: &'static str) -> &'static str {
    match outcome {
        "completed" => "haul_uploads_completed_total",
        "failed" => "haul_uploads_failed_total",
        _ => "haul_uploads_aborted_total",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_histograms_and_gauges_render_as_prometheus_text() {
        let metrics = Metrics::new();
        metrics.count("haul_uploads_started_total", &[], 2);
        metrics.upload_ended("completed", 1000);
        metrics.time(
            "haul_s3_request_duration_seconds",
            &[("operation", "UploadPart")],
            Duration::from_millis(30),
        );
        metrics.set("haul_db_pool_connections", &[("state", "idle")], 3.0);
        let text = metrics.render();
        for line in [
            "haul_uploads_started_total 2",
            "haul_uploads_completed_total 1",
            "haul_upload_bytes_completed_total 1000",
            "haul_s3_request_duration_seconds_bucket{operation=\"UploadPart\",le=\"0.05\"} 1",
            "haul_db_pool_connections{state=\"idle\"} 3",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
    }

    #[test]
    fn two_registries_count_apart() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.count("haul_sign_ins_total", &[("outcome", "ok")], 1);
        assert!(!b.render().contains("haul_sign_ins_total"));
    }
}
