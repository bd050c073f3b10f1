//! A compiled query: what the executor runs.

use crate::expr::CExpr;

#[derive(Clone, Debug)]
pub struct Plan {
    pub kind: PlanKind,
    /// `head`/`tail` pipes in query order.
    pub pipes: Vec<Pipe>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pipe {
    Head(usize),
    Tail(usize),
}

#[derive(Clone, Debug)]
pub enum PlanKind {
    Event(CExpr),
    Sequence {
        /// One stage per step, `runs=N` steps repeated N times.
        stages: Vec<Stage>,
        until: Option<Stage>,
        maxspan: Option<i128>,
    },
    Sample {
        stages: Vec<Stage>,
    },
}

#[derive(Clone, Debug)]
pub struct Stage {
    pub filter: CExpr,
    /// Shared `by` keys followed by the step's own.
    pub keys: Vec<KeyExpr>,
    pub missing: bool,
}

#[derive(Clone, Debug)]
pub struct KeyExpr {
    pub expr: CExpr,
    /// `?field`: a null value is a valid key instead of excluding the event.
    pub optional: bool,
}

impl Plan {
    /// Applies the pipes to a list of results in order: `head N` keeps the
    /// first N, `tail N` the last N.
    pub fn window(&self, len: usize) -> std::ops::Range<usize> {
        let (mut lo, mut hi) = (0, len);
        for p in &self.pipes {
            match *p {
                Pipe::Head(n) => hi = hi.min(lo + n),
                Pipe::Tail(n) => lo = lo.max(hi.saturating_sub(n)),
            }
        }
        lo..hi
    }
}
