//! Runs checks in the background: concurrently up to a cap, each under its time limit and a
//! cancellation token, each reporting `Started`, throttled `Progress` and exactly one `Finished`
//! on a channel. The engine owns no UI state and never blocks its caller; whoever started a run
//! decides what a late event for it means (usually: ignore it).

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::checks::registry;
use crate::contract::{
    CheckEvent, CheckReport, CheckRequest, CheckStatus, Progress, ReportFuture, RunId,
};

/// How many checks run at once and how long one may take when the catalog sets no limit.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub concurrent: usize,
    pub default_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { concurrent: 8, default_timeout: Duration::from_secs(30) }
    }
}

/// What actually performs a check. The default is [`registry::run`]; tests put in their own.
pub type Runner = Arc<dyn Fn(CheckRequest, Progress) -> ReportFuture + Send + Sync>;

/// The runner that performs the real checks.
pub fn real_runner() -> Runner {
    Arc::new(registry::run)
}

/// Starts and cancels check runs. Must be used inside a tokio runtime.
pub struct Engine {
    limits: Limits,
    permits: Arc<Semaphore>,
    events: mpsc::UnboundedSender<CheckEvent>,
    runner: Runner,
    running: HashMap<RunId, CancellationToken>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.limits)
            .field("running", &self.running.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine that runs the real checks and reports on `events`.
    pub fn new(limits: Limits, events: mpsc::UnboundedSender<CheckEvent>) -> Self {
        Engine::with_runner(limits, events, real_runner())
    }

    pub fn with_runner(
        limits: Limits,
        events: mpsc::UnboundedSender<CheckEvent>,
        runner: Runner,
    ) -> Self {
        let permits = Arc::new(Semaphore::new(limits.concurrent.max(1)));
        Engine { limits, permits, events, runner, running: HashMap::new() }
    }

    /// Starts `request` as run `run`. The run waits for a free slot, then reports `Started`;
    /// whatever happens, it ends with exactly one `Finished`. Starting an id that is still
    /// running cancels the older run first, so it can never report into the new one's place.
    pub fn start(&mut self, run: RunId, request: CheckRequest) {
        self.running.retain(|_, token| !token.is_cancelled());
        let token = CancellationToken::new();
        if let Some(older) = self.running.insert(run, token.clone()) {
            older.cancel();
        }
        let job = Job {
            run,
            timeout: timeout_for(&request.check, self.limits.default_timeout),
            request,
            token,
            events: self.events.clone(),
            permits: Arc::clone(&self.permits),
            runner: Arc::clone(&self.runner),
        };
        tokio::spawn(job.execute());
    }

    /// Stops a run; it finishes at once as "could not run: cancelled". Unknown runs are ignored.
    pub fn cancel(&mut self, run: RunId) {
        if let Some(token) = self.running.remove(&run) {
            token.cancel();
        }
    }

    /// Stops every run still going (leaving a step, quitting).
    pub fn cancel_all(&mut self) {
        for (_, token) in self.running.drain() {
            token.cancel();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.cancel_all();
    }
}

/// The catalog's limit for this check, else the default.
fn timeout_for(check: &str, default: Duration) -> Duration {
    registry::spec(check).map_or(default, |spec| spec.timeout)
}

/// One run, moved into its task.
struct Job {
    run: RunId,
    request: CheckRequest,
    timeout: Duration,
    token: CancellationToken,
    events: mpsc::UnboundedSender<CheckEvent>,
    permits: Arc<Semaphore>,
    runner: Runner,
}

impl Job {
    async fn execute(self) {
        let check = self.request.check.clone();
        let report = tokio::select! {
            biased;
            () = self.token.cancelled() => cancelled(&check),
            report = self.run_when_admitted() => report,
        };
        // Marks the run as over, so the engine can forget its token.
        self.token.cancel();
        let _ = self.events.send(CheckEvent::Finished { run: self.run, report });
    }

    /// Waits for a slot, reports `Started`, and runs the check under its time limit.
    async fn run_when_admitted(&self) -> CheckReport {
        let Ok(_permit) = self.permits.acquire().await else {
            return CheckReport::could_not_run(
                &self.request.check,
                "the check engine stopped",
                None,
            );
        };
        let _ = self.events.send(CheckEvent::Started { run: self.run });
        let progress = Progress::new(self.run, self.events.clone());
        let started = Instant::now();
        // A check that panics still ends its run with a report (in release builds a panic
        // aborts the process after the terminal is restored, so this guards tests and debug).
        let work = AssertUnwindSafe((self.runner)(self.request.clone(), progress)).catch_unwind();
        let mut report = match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(report)) => report,
            Ok(Err(_)) => CheckReport::could_not_run(
                &self.request.check,
                "the check crashed (a bug in triage)",
                None,
            ),
            Err(_) => timed_out(&self.request.check, self.timeout),
        };
        report.elapsed_ms = millis(started.elapsed());
        report
    }
}

fn cancelled(check: &str) -> CheckReport {
    CheckReport::could_not_run(check, "cancelled", None)
}

fn timed_out(check: &str, after: Duration) -> CheckReport {
    let after_ms = millis(after);
    let summary = format!("timed out after {:.1} s", after.as_secs_f64());
    CheckReport::new(check, CheckStatus::TimedOut { after_ms }, summary)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs every request concurrently and returns the reports in request order. For callers without
/// a UI loop (`triage check`); `on_event` sees every event as it arrives.
pub async fn run_all(
    requests: Vec<CheckRequest>,
    limits: Limits,
    runner: Runner,
    mut on_event: impl FnMut(&CheckEvent),
) -> Vec<CheckReport> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut engine = Engine::with_runner(limits, tx, runner);
    let mut reports: Vec<Option<CheckReport>> = vec![None; requests.len()];
    for (i, request) in requests.into_iter().enumerate() {
        engine.start(RunId(i as u64), request);
    }
    let mut left = reports.len();
    while left > 0 {
        let Some(event) = rx.recv().await else { break };
        on_event(&event);
        if let CheckEvent::Finished { run, report } = event
            && let Some(slot) = reports.get_mut(run.0 as usize)
            && slot.replace(report).is_none()
        {
            left -= 1;
        }
    }
    reports.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A runner whose check `sleep` waits `ms` milliseconds, counting how many run at once.
    fn sleepy(active: Arc<AtomicUsize>, peak: Arc<AtomicUsize>) -> Runner {
        Arc::new(move |request: CheckRequest, progress: Progress| {
            let (active, peak) = (Arc::clone(&active), Arc::clone(&peak));
            Box::pin(async move {
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                progress.report("sleeping");
                let ms = request.param("ms").and_then(|m| m.parse().ok()).unwrap_or(10);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                active.fetch_sub(1, Ordering::SeqCst);
                CheckReport::new(&request.check, CheckStatus::Passed, "slept")
            })
        })
    }

    fn sleep(ms: u64) -> CheckRequest {
        CheckRequest::new("sleep").with("ms", ms.to_string())
    }

    fn limits(concurrent: usize, timeout_ms: u64) -> Limits {
        Limits { concurrent, default_timeout: Duration::from_millis(timeout_ms) }
    }

    #[tokio::test]
    async fn runs_concurrently_up_to_the_cap_and_keeps_order() {
        let (active, peak) = (Arc::default(), Arc::new(AtomicUsize::new(0)));
        let requests = (0..6).map(|i| sleep(30 + i * 5)).collect();
        let reports =
            run_all(requests, limits(3, 5_000), sleepy(active, Arc::clone(&peak)), |_| {}).await;
        assert_eq!(reports.len(), 6);
        assert!(reports.iter().all(|r| r.status == CheckStatus::Passed));
        assert_eq!(peak.load(Ordering::SeqCst), 3, "never more than the cap at once");
    }

    #[tokio::test]
    async fn a_slow_check_times_out_with_exactly_one_finish() {
        let runner = sleepy(Arc::default(), Arc::default());
        let mut events = Vec::new();
        let reports = run_all(vec![sleep(5_000), sleep(1)], limits(2, 50), runner, |e| {
            events.push(e.clone());
        })
        .await;
        assert_eq!(reports[0].status, CheckStatus::TimedOut { after_ms: 50 });
        assert_eq!(reports[1].status, CheckStatus::Passed);
        let finished = events.iter().filter(|e| matches!(e, CheckEvent::Finished { .. })).count();
        assert_eq!(finished, 2);
        let started = events.iter().filter(|e| matches!(e, CheckEvent::Started { .. })).count();
        assert_eq!(started, 2);
    }

    #[tokio::test]
    async fn cancelling_finishes_the_run_at_once() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut engine =
            Engine::with_runner(limits(1, 60_000), tx, sleepy(Arc::default(), Arc::default()));
        engine.start(RunId(7), sleep(60_000));
        engine.start(RunId(8), sleep(60_000));
        engine.cancel(RunId(8));
        engine.cancel(RunId(7));
        let mut finished = Vec::new();
        while finished.len() < 2 {
            if let Some(CheckEvent::Finished { run, report }) = rx.recv().await {
                finished.push((run, report.status));
            }
        }
        finished.sort_by_key(|(run, _)| *run);
        let cancelled = CheckStatus::CouldNotRun { reason: "cancelled".to_owned(), instead: None };
        assert_eq!(finished, vec![(RunId(7), cancelled.clone()), (RunId(8), cancelled)]);
    }

    #[tokio::test]
    async fn restarting_a_run_cancels_the_older_one() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut engine =
            Engine::with_runner(limits(2, 60_000), tx, sleepy(Arc::default(), Arc::default()));
        engine.start(RunId(1), sleep(60_000));
        engine.start(RunId(1), sleep(1));
        let mut finished = Vec::new();
        while finished.len() < 2 {
            if let Some(CheckEvent::Finished { report, .. }) = rx.recv().await {
                finished.push(report.summary);
            }
        }
        finished.sort();
        assert_eq!(finished, vec!["could not run: cancelled".to_owned(), "slept".to_owned()]);
    }

    #[tokio::test]
    async fn a_check_that_panics_still_finishes_once() {
        let runner: Runner = Arc::new(|_request, _progress| Box::pin(async { panic!("boom") }));
        let mut finished = 0;
        let reports = run_all(vec![CheckRequest::new("x")], limits(1, 5_000), runner, |e| {
            finished += usize::from(matches!(e, CheckEvent::Finished { .. }));
        })
        .await;
        assert_eq!(finished, 1);
        assert!(reports[0].summary.contains("the check crashed"), "{}", reports[0].summary);
    }

    #[tokio::test]
    async fn progress_is_throttled() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let progress = Progress::new(RunId(1), tx);
        for i in 0..50 {
            progress.report(format!("step {i}"));
        }
        drop(progress);
        let mut seen = 0;
        while rx.recv().await.is_some() {
            seen += 1;
        }
        assert_eq!(seen, 1, "50 messages within 100 ms give one event");
    }

    #[tokio::test]
    async fn unknown_checks_report_instead_of_failing_the_engine() {
        let reports =
            run_all(vec![CheckRequest::new("nope")], Limits::default(), real_runner(), |_| {})
                .await;
        assert_eq!(reports[0].summary, "could not run: unknown check `nope`");
    }
}
