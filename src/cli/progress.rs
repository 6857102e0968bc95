//! Progress of long work on stderr: a bar on a terminal; elsewhere (a pipe, a CI log, a service
//! journal) a plain line at every tenth of the work, so that a long import or a first-run
//! embedding never looks like a hang.

use std::io::IsTerminal;

pub struct Progress {
    what: &'static str,
    bar: indicatif::ProgressBar,
    terminal: bool,
    shown: bool,
    /// The last tenth of the work reported as a plain line.
    tenth: u64,
}

impl Progress {
    /// Hidden until [`Progress::show`]; `what` names the work («импорт шаблонов»).
    pub fn new(what: &'static str) -> Self {
        let style = indicatif::ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}} {{eta}}"))
            .expect("valid template");
        Progress {
            what,
            bar: indicatif::ProgressBar::hidden().with_style(style),
            terminal: std::io::stderr().is_terminal(),
            shown: false,
            tenth: 0,
        }
    }

    /// Starts reporting; callers show only work long enough to be worth it.
    pub fn show(&mut self) {
        if !self.shown && self.terminal {
            self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        self.shown = true;
    }

    pub fn set(&mut self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
        if self.shown && !self.terminal && total > 0 {
            let tenth = done.min(total) * 10 / total;
            if tenth > self.tenth {
                self.tenth = tenth;
                eprintln!("sufler: {}: {done} из {total}", self.what);
            }
        }
    }

    /// Starts counting again from zero (the next pass of a multi-pass job).
    pub fn restart(&mut self) {
        self.bar.set_position(0);
        self.tenth = 0;
    }

    pub fn position(&self) -> u64 {
        self.bar.position()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
