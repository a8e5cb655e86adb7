//! The service's printer view, as the tray model sees it.

use gantry::manager::PrinterView;
use printer::driver::State;
use tray_model::{PrinterLine, PrinterState};

pub fn tray_state(state: State) -> PrinterState {
    match state {
        State::Connecting => PrinterState::Connecting,
        State::Ready => PrinterState::Ready,
        State::Printing => PrinterState::Printing,
        State::Paused => PrinterState::Paused,
        State::Error => PrinterState::Error,
        State::Offline => PrinterState::Disconnected,
    }
}

/// The printer's status line, with the running job's progress.
pub fn line(view: &PrinterView) -> PrinterLine {
    let line = PrinterLine::new(
        view.id.to_string(),
        view.name.clone(),
        tray_state(view.state),
    );
    match &view.job {
        // Percent in 0..=100; the model clamps and rounds down, so f32 precision is plenty.
        Some(job) => line.with_progress(job.progress as f32),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gantry::manager::{JobView, TemperaturesView};

    fn view(state: State, job: Option<JobView>) -> PrinterView {
        PrinterView {
            id: 7,
            identity: "sim-7".into(),
            name: "Sim".into(),
            port: "/dev/pts/3".into(),
            baud: None,
            state,
            error: None,
            firmware: None,
            temperatures: TemperaturesView::default(),
            job,
            last_job: None,
        }
    }

    fn job(progress: f64) -> JobView {
        JobView {
            id: 1,
            file_name: "cube.gcode".into(),
            paused: false,
            progress,
            acked_bytes: 0,
            total_bytes: 0,
            line: 0,
            elapsed_s: 0,
            eta_s: None,
            layer: None,
            layer_count: None,
            resumed_from_line: None,
        }
    }

    #[test]
    fn line_carries_id_name_and_job_progress() {
        let idle = line(&view(State::Ready, None));
        assert_eq!((idle.id.as_str(), idle.name.as_str()), ("7", "Sim"));
        assert_eq!(idle.progress, None);
        let busy = line(&view(State::Printing, Some(job(42.5))));
        assert_eq!(busy.state, PrinterState::Printing);
        assert_eq!(busy.progress, Some(42.5));
    }

    #[test]
    fn every_state_maps() {
        let pairs = [
            (State::Connecting, PrinterState::Connecting),
            (State::Ready, PrinterState::Ready),
            (State::Printing, PrinterState::Printing),
            (State::Paused, PrinterState::Paused),
            (State::Error, PrinterState::Error),
            (State::Offline, PrinterState::Disconnected),
        ];
        for (from, to) in pairs {
            assert_eq!(tray_state(from), to);
        }
    }
}
