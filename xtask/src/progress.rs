//! Progress display for one experiment, fed by the experiment's progress callback.
//!
//! On a terminal: an indicatif bar (position out of 1000, the message beside it). When
//! stdout or stderr is not a terminal (CI logs, redirection): plain lines on stderr at
//! every 10%, so logs stay readable.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Resolution of the bar.
const STEPS: u64 = 1000;

/// Progress of one experiment; shareable across threads (the callback is `Sync`).
pub struct Progress {
    label: String,
    mode: Mode,
}

enum Mode {
    Bar(ProgressBar),
    /// Last printed decile (-1: nothing printed yet).
    Plain(Mutex<i64>),
}

impl Progress {
    /// Starts the display for experiment `name`, number `index` (1-based) of `total`.
    pub fn start(name: &str, index: usize, total: usize) -> Self {
        let label = format!("[{index}/{total}] {name}");
        let interactive = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let mode = if interactive {
            let bar = ProgressBar::with_draw_target(Some(STEPS), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix:.bold} [{bar:32.cyan/blue}] {percent:>3}% {elapsed:>4} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.clone());
            bar.enable_steady_tick(Duration::from_millis(200));
            Mode::Bar(bar)
        } else {
            eprintln!("{label}: started");
            Mode::Plain(Mutex::new(-1))
        };
        Self { label, mode }
    }

    /// The callback: `fraction` in [0, 1] (clamped; NaN ignored) and a short message.
    pub fn update(&self, fraction: f64, message: &str) {
        if fraction.is_nan() {
            return;
        }
        let fraction = fraction.clamp(0.0, 1.0);
        match &self.mode {
            Mode::Bar(bar) => {
                bar.set_position((fraction * STEPS as f64).round() as u64);
                bar.set_message(message.to_string());
            }
            Mode::Plain(last) => {
                let decile = (fraction * 10.0).floor() as i64;
                let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                if decile > *last {
                    *last = decile;
                    eprintln!("{}: {:>3}% {message}", self.label, decile * 10);
                }
            }
        }
    }

    /// Ends the display, leaving one line with the outcome.
    pub fn finish(&self, outcome: &str) {
        match &self.mode {
            Mode::Bar(bar) => {
                bar.finish_and_clear();
                eprintln!("{}: {outcome}", self.label);
            }
            Mode::Plain(_) => eprintln!("{}: {outcome}", self.label),
        }
    }
}
