//! SVG plots of report sections, drawn with `plotters` into a string (inlined in the page).
//! Each function returns `None` when there is nothing to draw.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::{Bar, NamedPoints, NamedValues};

const WIDTH: u32 = 760;
const FONT: &str = "sans-serif";
/// Colours of series, in order (colour-blind-safe, after Okabe and Ito).
const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
];
/// Most bars drawn; the rest are summed into one «остальные» bar.
const MAX_BARS: usize = 30;
/// Longest category label, in characters.
const MAX_LABEL: usize = 28;

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(
    height: u32,
    paint: impl FnOnce(DrawingArea<SVGBackend, plotters::coord::Shift>) -> DrawResult,
) -> Option<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        if let Err(e) = paint(root.clone()) {
            tracing::warn!("plot not drawn: {e}");
            return None;
        }
        root.present().ok()?;
    }
    Some(svg)
}

/// The legend box of a chart whose series carry labels.
fn legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 13))
        .position(position)
        .draw()?;
    Ok(())
}

fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        label.to_string()
    } else {
        format!("{}…", label.chars().take(MAX_LABEL - 1).collect::<String>())
    }
}

fn finite_max(values: impl Iterator<Item = f64>) -> f64 {
    values.filter(|v| v.is_finite()).fold(0.0, f64::max)
}

/// Horizontal bars, largest first.
pub(super) fn bars(x_label: &str, bars: &[Bar]) -> Option<String> {
    let mut sorted: Vec<&Bar> = bars.iter().filter(|b| b.value.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(|a, b| b.value.total_cmp(&a.value));
    let mut shown: Vec<(String, f64)> = sorted.iter().take(MAX_BARS).map(|b| (short(&b.label), b.value)).collect();
    if sorted.len() > MAX_BARS {
        let rest: f64 = sorted[MAX_BARS..].iter().map(|b| b.value).sum();
        shown.push((format!("остальные ({})", sorted.len() - MAX_BARS), rest));
    }
    let n = shown.len();
    let max = finite_max(shown.iter().map(|b| b.1)).max(1e-9) * 1.1;
    draw(60 + 24 * n as u32, |root| {
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(200)
            .build_cartesian_2d(0.0..max, (0..n).into_segmented())?;
        let labels: Vec<String> = shown.iter().map(|b| b.0.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc(x_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        chart.draw_series(shown.iter().enumerate().map(|(i, b)| {
            let mut bar =
                Rectangle::new([(0.0, SegmentValue::Exact(i)), (b.1, SegmentValue::Exact(i + 1))], PALETTE[0].filled());
            bar.set_margin(3, 3, 0, 0);
            bar
        }))?;
        Ok(())
    })
}

/// Vertical bars grouped by category, one colour per series, with a legend.
pub(super) fn grouped_bars(y_label: &str, categories: &[String], series: &[NamedValues]) -> Option<String> {
    let (n, k) = (categories.len(), series.len());
    if n == 0 || k == 0 || series.iter().all(|s| s.values.is_empty()) {
        return None;
    }
    let max = finite_max(series.iter().flat_map(|s| s.values.iter().copied())).max(1e-9) * 1.15;
    // k bar slots and one gap slot per category; the label sits under the middle bar.
    let per = k + 1;
    let slots = n * per;
    draw(360, |root| {
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((0..slots).into_segmented(), 0.0..max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(slots)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(s) if s % per == (k - 1) / 2 => {
                    categories.get(s / per).map(|c| short(c)).unwrap_or_default()
                }
                _ => String::new(),
            })
            .y_desc(y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        for (j, s) in series.iter().enumerate() {
            let colour = PALETTE[j % PALETTE.len()];
            let bars = s.values.iter().take(n).enumerate().filter(|(_, v)| v.is_finite()).map(|(i, &v)| {
                let slot = i * per + j;
                let mut bar = Rectangle::new(
                    [(SegmentValue::Exact(slot), 0.0), (SegmentValue::Exact(slot + 1), v)],
                    colour.filled(),
                );
                bar.set_margin(0, 0, 2, 2);
                bar
            });
            chart
                .draw_series(bars)?
                .label(s.name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// Lines with point markers and a legend.
pub(super) fn curve(x_label: &str, y_label: &str, series: &[NamedPoints]) -> Option<String> {
    let points = || series.iter().flat_map(|s| s.points.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
    points().next()?;
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    for &(x, y) in points() {
        (x0, x1, y1) = (x0.min(x), x1.max(x), y1.max(y));
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let y1 = if y1 <= 1.0 { 1.0 } else { y1 * 1.1 };
    draw(360, |root| {
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, 0.0..y1)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        for (j, s) in series.iter().enumerate() {
            let colour = PALETTE[j % PALETTE.len()];
            let pts: Vec<(f64, f64)> =
                s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

/// Counts of values in equal-width bins.
pub(super) fn histogram(x_label: &str, values: &[f64], bins: usize) -> Option<String> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    let bins = bins.clamp(1, 200);
    let lo = finite.iter().copied().fold(f64::MAX, f64::min);
    let mut hi = finite.iter().copied().fold(f64::MIN, f64::max);
    if hi <= lo {
        hi = lo + 1.0;
    }
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u32; bins];
    for v in &finite {
        counts[(((v - lo) / width) as usize).min(bins - 1)] += 1;
    }
    let top = f64::from(*counts.iter().max().unwrap_or(&1)) * 1.1;
    draw(320, |root| {
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc("число")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
            let x0 = lo + width * i as f64;
            Rectangle::new([(x0, 0.0), (x0 + width * 0.95, f64::from(c))], PALETTE[0].filled())
        }))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_draw_marks_and_empty_data_draws_nothing() {
        let bars_svg = bars("нарушений", &[Bar { label: "polite-you".into(), value: 3.0 }]).unwrap();
        assert!(bars_svg.starts_with("<svg") && bars_svg.contains("<rect") && bars_svg.contains("polite-you"));
        assert!(bars("x", &[]).is_none());
        let many: Vec<Bar> = (0..40).map(|i| Bar { label: format!("r{i}"), value: i as f64 }).collect();
        assert!(bars("x", &many).unwrap().contains("остальные (10)"));
        let grouped = grouped_bars(
            "сообщений",
            &["формальный".into(), "грубый".into()],
            &[
                NamedValues { name: "до".into(), values: vec![1.0, 5.0] },
                NamedValues { name: "после".into(), values: vec![6.0, 0.0] },
            ],
        )
        .unwrap();
        assert!(grouped.matches("<rect").count() >= 4 && grouped.contains("после"));
        assert!(grouped_bars("x", &[], &[]).is_none());
        let line =
            curve("k", "R@k", &[NamedPoints { name: "sufler".into(), points: vec![(1.0, 0.5), (3.0, 0.9)] }]).unwrap();
        assert!(line.contains("<polyline") || line.contains("<path"));
        assert!(curve("k", "R@k", &[NamedPoints { name: "x".into(), points: vec![(f64::NAN, 1.0)] }]).is_none());
        let hist = histogram("мс", &[1.0, 2.0, 2.5, 10.0, f64::INFINITY], 5).unwrap();
        assert!(hist.matches("<rect").count() >= 5);
        assert!(histogram("мс", &[4.0, 4.0], 10).is_some(), "one distinct value");
        assert!(histogram("мс", &[], 10).is_none());
    }
}
