//! Bar charts drawn as inline SVG on the server: nothing to download, readable without
//! JavaScript, each with a title, a description and a table of its numbers.

use leptos::prelude::*;

use crate::format::{bytes, esc};

/// One bar: its label and its value (bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub value: u64,
}

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 180.0;
/// Room on the left of a horizontal chart for its labels.
const LABEL_WIDTH: f64 = 220.0;
const ROW_HEIGHT: f64 = 24.0;

/// Each bar's length as a share (0..=1) of the largest; all 0 when nothing is above 0.
pub fn shares(bars: &[Bar]) -> Vec<f64> {
    let top = bars.iter().map(|b| b.value).max().unwrap_or(0);
    bars.iter()
        .map(|bar| {
            if top == 0 {
                0.0
            } else {
                bar.value as f64 / top as f64
            }
        })
        .collect()
}

/// Where the dates under a column chart go: the first bar, two between, the last (indexes).
fn axis_ticks(count: usize) -> Vec<usize> {
    let last = count.saturating_sub(1);
    let mut ticks: Vec<usize> = [0, last / 3, last * 2 / 3, last].to_vec();
    ticks.dedup();
    ticks.truncate(count);
    ticks
}

/// "3 Nov" from "2026-11-03"; anything else as it is.
pub fn short_day(day: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = day.get(5..7).and_then(|m| m.parse::<usize>().ok());
    let date = day.get(8..10).and_then(|d| d.parse::<u32>().ok());
    match (month.and_then(|m| MONTHS.get(m.wrapping_sub(1))), date) {
        (Some(month), Some(date)) => format!("{date} {month}"),
        _ => day.to_owned(),
    }
}

/// A number for SVG, to a tenth.
fn n(value: f64) -> String {
    format!("{value:.1}")
}

/// Vertical bars, one per label in order (days, say), over an axis of dates and beside an
/// axis of sizes. The labels are HTML around the drawing, so their text keeps its size
/// however narrow the screen (the drawing stretches; text in it would shrink).
///
/// The charts are written as markup, not as views: nothing in them changes once drawn, and
/// views of SVG elements cost the browser bundle their own rendering code (several KB).
pub fn column_chart(
    // The chart's accessible name.
    title: String,
    // What it shows, in words (a screen reader reads it).
    summary: String,
    bars: Vec<Bar>,
) -> impl IntoView {
    let step = WIDTH / bars.len().max(1) as f64;
    let columns: String = bars
        .iter()
        .zip(shares(&bars))
        .enumerate()
        .map(|(i, (bar, share))| {
            let height = (share * (HEIGHT - 2.0)).max(if bar.value > 0 { 1.0 } else { 0.0 });
            format!(
                r#"<rect x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>"#,
                n(i as f64 * step + 1.0),
                n(HEIGHT - height),
                n((step - 2.0).max(1.0)),
                n(height),
                esc(&bar.label),
                bytes(bar.value)
            )
        })
        .collect();
    let top = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let dates: String = axis_ticks(bars.len())
        .into_iter()
        .filter_map(|i| bars.get(i))
        .map(|bar| format!("<span>{}</span>", esc(&short_day(&bar.label))))
        .collect();
    let (w, h, middle) = (n(WIDTH), n(HEIGHT), n(HEIGHT / 2.0));
    // The axes repeat what the table of numbers says: hidden from screen readers.
    let html = format!(
        r#"<div class="y-axis" aria-hidden="true"><span>{top}</span><span>{half}</span><span>0 B</span></div><svg role="img" viewBox="0 0 {w} {h}" preserveAspectRatio="none" aria-label="{title}"><title>{title}</title><desc>{summary}</desc><line class="grid" x1="0" y1="{middle}" x2="{w}" y2="{middle}"></line>{columns}<line class="axis" x1="0" y1="0" x2="0" y2="{h}"></line><line class="axis" x1="0" y1="{h}" x2="{w}" y2="{h}"></line></svg><div class="x-axis" aria-hidden="true">{dates}</div><figcaption>{summary}</figcaption>{table}"#,
        top = bytes(top),
        half = bytes(top / 2),
        title = esc(&title),
        summary = esc(&summary),
        table = numbers_table(&title, &bars),
    );
    view! { <figure class="chart column-chart" inner_html=html></figure> }
}

/// Horizontal bars with their labels (users, say), largest first as given.
pub fn row_chart(title: String, summary: String, bars: Vec<Bar>) -> impl IntoView {
    let height = ROW_HEIGHT * bars.len().max(1) as f64;
    let rows: String = bars
        .iter()
        .zip(shares(&bars))
        .enumerate()
        .map(|(i, (bar, share))| {
            let y = i as f64 * ROW_HEIGHT;
            let length = (share * (WIDTH - LABEL_WIDTH - 90.0)).max(1.0);
            format!(
                r#"<g><text x="0" y="{text_y}">{label}</text><rect x="{x}" y="{}" width="{}" height="{}"></rect><text x="{}" y="{text_y}">{}</text></g>"#,
                n(y + 4.0),
                n(length),
                n(ROW_HEIGHT - 8.0),
                n(LABEL_WIDTH + length + 6.0),
                bytes(bar.value),
                text_y = n(y + 16.0),
                label = esc(&bar.label),
                x = n(LABEL_WIDTH),
            )
        })
        .collect();
    let html = format!(
        r#"<svg role="img" viewBox="0 0 {w} {h}" aria-label="{title}"><title>{title}</title><desc>{summary}</desc>{rows}</svg><figcaption>{summary}</figcaption>{table}"#,
        w = n(WIDTH),
        h = n(height),
        title = esc(&title),
        summary = esc(&summary),
        table = numbers_table(&title, &bars),
    );
    view! { <figure class="chart" inner_html=html></figure> }
}

/// The chart's numbers as a table, folded away under the chart.
fn numbers_table(title: &str, bars: &[Bar]) -> String {
    let rows: String = bars
        .iter()
        .map(|bar| {
            format!(
                r#"<tr><th scope="row">{}</th><td>{}</td></tr>"#,
                esc(&bar.label),
                bytes(bar.value)
            )
        })
        .collect();
    format!(
        r#"<details><summary>Numbers</summary><table aria-label="{}: numbers"><tbody>{rows}</tbody></table></details>"#,
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(value: u64) -> Bar {
        Bar {
            label: value.to_string(),
            value,
        }
    }

    #[test]
    fn bars_are_shares_of_the_largest() {
        assert_eq!(shares(&[bar(5), bar(10), bar(0)]), [0.5, 1.0, 0.0]);
    }

    #[test]
    fn dates_under_the_chart_are_the_ends_and_two_between() {
        assert_eq!(axis_ticks(30), [0, 9, 19, 29]);
        assert_eq!(axis_ticks(2), [0, 1]);
        assert_eq!(axis_ticks(1), [0]);
        assert!(axis_ticks(0).is_empty());
        assert_eq!(short_day("2026-11-03"), "3 Nov");
        assert_eq!(short_day("today"), "today");
    }

    #[test]
    fn labels_are_escaped_in_the_markup() {
        let html = numbers_table(
            "a<b",
            &[Bar {
                label: "x\"&<y>".into(),
                value: 1,
            }],
        );
        assert!(html.contains(r#"aria-label="a&lt;b: numbers""#), "{html}");
        assert!(
            html.contains("<th scope=\"row\">x&quot;&amp;&lt;y&gt;</th>"),
            "{html}"
        );
    }

    #[test]
    fn nothing_uploaded_draws_no_bars() {
        assert_eq!(shares(&[bar(0), bar(0)]), [0.0, 0.0]);
        assert!(shares(&[]).is_empty());
    }
}
