//! Task records: every operation is a vSphere task with a WSDL method name, a state, a result
//! or a fault, and simulated queue/complete times.

use std::collections::VecDeque;
use std::sync::Arc;

use super::error::VsphereError;
use crate::sim::event::Moref;
use crate::sim::{Operation, SimDuration, SimTime};

/// How a task ended (`TaskInfoState`; tasks here complete within the operation call).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskOutcome {
    /// `success`, with the task's result object if it has one (e.g. the new VM).
    Success(Option<Moref>),
    /// `error`, with the fault.
    Error(VsphereError),
}

/// One finished task (`TaskInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Number of `task-N`.
    pub id: u64,
    /// The WSDL method, which is what `TaskInfo.name` reports.
    pub operation: Operation,
    /// The object the task ran on.
    pub entity: Moref,
    /// That object's name.
    pub entity_name: Arc<str>,
    /// Success or error.
    pub outcome: TaskOutcome,
    /// When it was queued and started.
    pub started: SimTime,
    /// When it completed.
    pub completed: SimTime,
    /// Key of the first event the task logged.
    pub event_chain_id: u64,
}

impl Task {
    /// `task-N`.
    pub fn moref(&self) -> Moref {
        Moref {
            prefix: "task-",
            n: self.id,
        }
    }

    /// `success` or `error`.
    pub fn state(&self) -> &'static str {
        match self.outcome {
            TaskOutcome::Success(_) => "success",
            TaskOutcome::Error(_) => "error",
        }
    }
}

/// The recent-task list: vCenter keeps recent tasks, not all of them, and so does this.
#[derive(Clone, Debug)]
pub struct TaskLog {
    recent: VecDeque<Task>,
    capacity: usize,
    next_id: u64,
}

impl TaskLog {
    /// Keeps the last `capacity` tasks.
    pub fn new(capacity: usize) -> Self {
        TaskLog {
            recent: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
            next_id: 1,
        }
    }

    pub(crate) fn push(&mut self, mut task: Task) -> u64 {
        task.id = self.next_id;
        self.next_id += 1;
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        let id = task.id;
        self.recent.push_back(task);
        id
    }

    /// Recent tasks, oldest first.
    pub fn recent(&self) -> impl DoubleEndedIterator<Item = &Task> {
        self.recent.iter()
    }

    /// The last task run.
    pub fn last(&self) -> Option<&Task> {
        self.recent.back()
    }

    /// A recent task by number.
    pub fn get(&self, id: u64) -> Option<&Task> {
        let first = self.recent.front()?.id;
        self.recent
            .get(usize::try_from(id.checked_sub(first)?).ok()?)
    }

    /// Tasks run so far, including those no longer kept.
    pub fn count(&self) -> u64 {
        self.next_id - 1
    }
}

/// How long one operation takes: a base plus a uniformly drawn jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// Minimum duration.
    pub base: SimDuration,
    /// Up to this much more, drawn from the world's RNG.
    pub jitter: SimDuration,
}

impl Latency {
    /// `base_ms` plus up to `jitter_ms`.
    pub const fn ms(base_ms: u64, jitter_ms: u64) -> Self {
        Latency {
            base: SimDuration::from_millis(base_ms),
            jitter: SimDuration::from_millis(jitter_ms),
        }
    }
}
