//! Bar charts drawn as inline SVG on the server: nothing to download, readable without
//! JavaScript, each with a title, a description and a table of its numbers.

use leptos::prelude::*;

use crate::format::bytes;

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

/// Vertical bars, one per label in order (days, say), over an axis of dates and beside an
/// axis of sizes. The labels are HTML around the drawing, so their text keeps its size
/// however narrow the screen (the drawing stretches; text in it would shrink).
pub fn column_chart(
    // The chart's accessible name.
    title: String,
    // What it shows, in words (a screen reader reads it).
    summary: String,
    bars: Vec<Bar>,
) -> impl IntoView {
    let step = WIDTH / bars.len().max(1) as f64;
    let columns = bars
        .iter()
        .zip(shares(&bars))
        .enumerate()
        .map(|(i, (bar, share))| {
            let height = (share * (HEIGHT - 2.0)).max(if bar.value > 0 { 1.0 } else { 0.0 });
            view! {
                <rect
                    x=format!("{:.1}", i as f64 * step + 1.0)
                    y=format!("{:.1}", HEIGHT - height)
                    width=format!("{:.1}", (step - 2.0).max(1.0))
                    height=format!("{height:.1}")
                >
                    <title>{format!("{}: {}", bar.label, bytes(bar.value))}</title>
                </rect>
            }
        })
        .collect_view();
    let top = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let middle = (HEIGHT / 2.0).to_string();
    let dates = axis_ticks(bars.len())
        .into_iter()
        .filter_map(|i| bars.get(i))
        .map(|bar| view! { <span>{short_day(&bar.label)}</span> })
        .collect_view();
    view! {
        <figure class="chart column-chart">
            // The axes repeat what the table of numbers says: hidden from screen readers.
            <div class="y-axis" aria-hidden="true">
                <span>{bytes(top)}</span>
                <span>{bytes(top / 2)}</span>
                <span>"0 B"</span>
            </div>
            <svg
                role="img"
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                preserveAspectRatio="none"
                aria-label=title.clone()
            >
                <title>{title.clone()}</title>
                <desc>{summary.clone()}</desc>
                <line class="grid" x1="0" y1=middle.clone() x2=WIDTH.to_string() y2=middle></line>
                {columns}
                <line class="axis" x1="0" y1="0" x2="0" y2=HEIGHT.to_string()></line>
                <line
                    class="axis"
                    x1="0"
                    y1=HEIGHT.to_string()
                    x2=WIDTH.to_string()
                    y2=HEIGHT.to_string()
                ></line>
            </svg>
            <div class="x-axis" aria-hidden="true">{dates}</div>
            <figcaption>{summary}</figcaption>
            {numbers_table(title, bars)}
        </figure>
    }
}

/// Horizontal bars with their labels (users, say), largest first as given.
pub fn row_chart(title: String, summary: String, bars: Vec<Bar>) -> impl IntoView {
    let height = ROW_HEIGHT * bars.len().max(1) as f64;
    let rows = bars
        .iter()
        .zip(shares(&bars))
        .enumerate()
        .map(|(i, (bar, share))| {
            let y = i as f64 * ROW_HEIGHT;
            let length = (share * (WIDTH - LABEL_WIDTH - 90.0)).max(1.0);
            view! {
                <g>
                    <text x="0" y=format!("{:.1}", y + 16.0)>{bar.label.clone()}</text>
                    <rect
                        x=format!("{LABEL_WIDTH}")
                        y=format!("{:.1}", y + 4.0)
                        width=format!("{length:.1}")
                        height=format!("{:.1}", ROW_HEIGHT - 8.0)
                    ></rect>
                    <text x=format!("{:.1}", LABEL_WIDTH + length + 6.0) y=format!("{:.1}", y + 16.0)>
                        {bytes(bar.value)}
                    </text>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg role="img" viewBox=format!("0 0 {WIDTH} {height}") aria-label=title.clone()>
                <title>{title.clone()}</title>
                <desc>{summary.clone()}</desc>
                {rows}
            </svg>
            <figcaption>{summary}</figcaption>
            {numbers_table(title, bars)}
        </figure>
    }
}

/// The chart's numbers as a table, folded away under the chart.
fn numbers_table(title: String, bars: Vec<Bar>) -> impl IntoView {
    view! {
        <details>
            <summary>"Numbers"</summary>
            <table aria-label=format!("{title}: numbers")>
                <tbody>
                    {bars
                        .into_iter()
                        .map(|bar| {
                            view! {
                                <tr>
                                    <th scope="row">{bar.label}</th>
                                    <td>{bytes(bar.value)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </details>
    }
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
    fn nothing_uploaded_draws_no_bars() {
        assert_eq!(shares(&[bar(0), bar(0)]), [0.0, 0.0]);
        assert!(shares(&[]).is_empty());
    }
}
