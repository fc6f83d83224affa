//! /admin: the totals, uploads per day for 30 days, and the users storing the most.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::admin::admin_overview,
    components::{
        chart::{column_chart, row_chart, Bar},
        loaded::loaded,
    },
    format::{bytes, esc},
    model::admin::Overview,
};

pub fn overview_page() -> impl IntoView {
    let overview = Resource::new(|| (), |_| admin_overview());
    view! {
        <Title text="Admin — Haul"/>
        <h1>"Overview"</h1>
        {loaded(overview, totals)}
    }
}

fn totals(overview: Overview) -> impl IntoView {
    let figures = [
        ("Users", overview.users.to_string()),
        (
            "Active in the last 30 days",
            overview.active_users.to_string(),
        ),
        ("Files complete", overview.complete_files.to_string()),
        ("Stored", bytes(overview.stored_bytes)),
        ("Uploads in progress", overview.uploading_files.to_string()),
        ("Reserved by uploads", bytes(overview.reserved_bytes)),
        (
            "Failed in the last 7 days",
            overview.failed_recently.to_string(),
        ),
        (
            "Aborted in the last 7 days",
            overview.aborted_recently.to_string(),
        ),
    ];
    let (per_day_summary, per_day) = per_day_chart(&overview);
    let (top_summary, top) = top_users_chart(&overview);
    // Markup: the figures only show (views of them would cost the bundle rendering code).
    let figures: String = figures
        .into_iter()
        .map(|(name, value)| format!("<div><dt>{name}</dt><dd>{}</dd></div>", esc(&value)))
        .collect();
    view! {
        // Named by its section: a <dl> has no role that takes a name.
        <section aria-label="Totals">
            <dl class="totals" inner_html=figures></dl>
        </section>
        <h2>"Uploaded per day"</h2>
        {column_chart("Bytes uploaded per day, last 30 days".into(), per_day_summary, per_day)}
        <h2>"Storage by user"</h2>
        {row_chart("Storage by user, top 10".into(), top_summary, top)}
    }
}

/// The uploads-per-day chart's summary and bars.
fn per_day_chart(overview: &Overview) -> (String, Vec<Bar>) {
    let total_uploaded: u64 = overview.uploaded_per_day.iter().map(|d| d.bytes).sum();
    let busiest = overview.uploaded_per_day.iter().max_by_key(|d| d.bytes);
    let summary = match busiest {
        Some(day) if day.bytes > 0 => format!(
            "{} uploaded in the last 30 days; the most on {} ({}).",
            bytes(total_uploaded),
            day.day,
            bytes(day.bytes)
        ),
        _ => "Nothing was uploaded in the last 30 days.".to_owned(),
    };
    let bars = overview
        .uploaded_per_day
        .iter()
        .map(|day| Bar {
            label: day.day.clone(),
            value: day.bytes,
        })
        .collect();
    (summary, bars)
}

/// The storage-by-user chart's summary and bars.
fn top_users_chart(overview: &Overview) -> (String, Vec<Bar>) {
    let summary = match overview.top_users.first() {
        Some(top) => format!(
            "The {} users storing the most; {} stores the most ({}).",
            overview.top_users.len(),
            top.email,
            bytes(top.bytes)
        ),
        None => "No one stores anything yet.".to_owned(),
    };
    let bars = overview
        .top_users
        .iter()
        .map(|user| Bar {
            label: user.email.clone(),
            value: user.bytes,
        })
        .collect();
    (summary, bars)
}
