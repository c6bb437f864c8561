//! The series and plots of `mmfld-simplex`: boundary mass and objective over time, and
//! ternary scatter plots of the final ensembles.

use meanfield_measures::Ensemble;

use super::MmfldSimplexConfig;
use super::run::Trace;
use crate::Report;
use crate::report::{Plot, Series};

/// The plots of the β = 0 case: boundary mass against the exact value `exact`, the
/// objective, and one ternary scatter plot per scheme.
pub(super) fn push_uniform_plots(
    cfg: &MmfldSimplexConfig,
    traces: &[Trace],
    exact: f64,
    report: &mut Report,
) {
    let title = format!(
        "β = 0: mass within ε = {:e} of a face (N = {}, η = {})",
        cfg.eps, cfg.n_particles, cfg.eta
    );
    push_boundary_mass_plot(
        report,
        traces,
        "boundary mass",
        "exact uniform",
        exact,
        "boundary_mass",
        title,
    );
    let mut objective_names = vec![];
    for trace in traces {
        let name = format!("objective F(μ_N): {}", trace.job.scheme.short());
        report
            .series
            .insert(name.clone(), positive_series(&trace.time, &trace.objective));
        objective_names.push(name);
    }
    report.plots.push(Plot {
        name: "objective".into(),
        title: "β = 0: objective F(μ_N) = ‖E x − q‖²".into(),
        x_label: "time t".into(),
        y_label: "F(μ_N)".into(),
        series: objective_names,
        log_x: false,
        log_y: true,
        scatter: false,
    });
    report
        .series
        .insert("simplex edges".into(), triangle_edges());
    for trace in traces {
        let s = trace.job.scheme.short();
        let name = format!("ternary: {s}");
        report
            .series
            .insert(name.clone(), ternary(&trace.last, cfg.scatter_points));
        report.plots.push(Plot {
            name: format!("ternary_{s}"),
            title: format!(
                "{} at t = {:.3}: {} of {} particles",
                trace.job.scheme.label(),
                trace.time.last().copied().unwrap_or(0.0),
                cfg.scatter_points.min(trace.n),
                trace.n
            ),
            x_label: "x_2 + x_3/2".into(),
            y_label: "x_3·√3/2".into(),
            series: vec![name, "simplex edges".into()],
            log_x: false,
            log_y: false,
            scatter: true,
        });
    }
}

/// The boundary-mass plot of the barrier case against the exact value `exact`.
pub(super) fn push_barrier_plot(
    cfg: &MmfldSimplexConfig,
    traces: &[Trace],
    exact: f64,
    report: &mut Report,
) {
    let title = format!(
        "β = {}: mass within ε = {:e} of a face (N = {})",
        cfg.barrier_beta, cfg.barrier_eps, cfg.barrier_n_particles
    );
    push_boundary_mass_plot(
        report,
        traces,
        "barrier case boundary mass",
        "exact",
        exact,
        "barrier_boundary_mass",
        title,
    );
}

/// Series from (time, value) pairs keeping only positive values (for log axes).
fn positive_series(time: &[f64], values: &[f64]) -> Series {
    let (x, y) = time
        .iter()
        .zip(values)
        .filter(|(_, v)| **v > 0.0 && v.is_finite())
        .map(|(t, v)| (*t, *v))
        .unzip();
    Series { x, y, y_err: None }
}

/// Ternary coordinates (x_2 + x_3/2, x_3·√3/2) of the first `k` particles.
fn ternary(ens: &Ensemble, k: usize) -> Series {
    let h = 3f64.sqrt() / 2.0;
    let (x, y) = ens
        .rows()
        .take(k)
        .map(|p| (p[1] + 0.5 * p[2], h * p[2]))
        .unzip();
    Series { x, y, y_err: None }
}

/// The triangle's edges, densely sampled so that a scatter plot draws them as lines.
fn triangle_edges() -> Series {
    let v = [(0.0, 0.0), (1.0, 0.0), (0.5, 3f64.sqrt() / 2.0)];
    let m = 200;
    let (mut x, mut y) = (vec![], vec![]);
    for e in 0..3 {
        let (a, b) = (v[e], v[(e + 1) % 3]);
        for k in 0..=m {
            let s = k as f64 / m as f64;
            x.push(a.0 + s * (b.0 - a.0));
            y.push(a.1 + s * (b.1 - a.1));
        }
    }
    Series { x, y, y_err: None }
}

/// Adds one boundary-mass series per scheme plus the exact value as a flat line, and a
/// log-y plot of them.
fn push_boundary_mass_plot(
    report: &mut Report,
    traces: &[Trace],
    prefix: &str,
    exact_label: &str,
    exact: f64,
    plot_name: &str,
    title: String,
) {
    let mut names = vec![];
    for trace in traces {
        let name = format!("{prefix}: {}", trace.job.scheme.short());
        report
            .series
            .insert(name.clone(), positive_series(&trace.time, &trace.boundary));
        names.push(name);
    }
    let times = &traces[0].time;
    let exact_name = format!("{prefix}: {exact_label}");
    report.series.insert(
        exact_name.clone(),
        Series {
            x: times.clone(),
            y: vec![exact; times.len()],
            y_err: None,
        },
    );
    names.push(exact_name);
    report.plots.push(Plot {
        name: plot_name.into(),
        title,
        x_label: "time t".into(),
        y_label: "P(min_i x_i < ε)".into(),
        series: names,
        log_x: false,
        log_y: true,
        scatter: false,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use meanfield_measures::Domain;

    #[test]
    fn ternary_maps_vertices_to_the_triangle() {
        let ens = Ensemble::new(
            3,
            3,
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            Domain::Simplex,
        )
        .unwrap();
        let s = ternary(&ens, 10);
        assert_eq!(s.x, vec![0.0, 1.0, 0.5]);
        assert_eq!(s.y[..2], [0.0, 0.0]);
        assert!((s.y[2] - 3f64.sqrt() / 2.0).abs() < 1e-15);
    }
}
