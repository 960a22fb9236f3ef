//! The reorder buffer: rows leave in the order of their first byte's timestamp (ties:
//! file order, then packet order, then position on the connection), once no pending head
//! can start earlier, and at most [`MAX_REORDER_ROWS`] are held.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::ControlFlow;

/// Rows may leave the reorder buffer once they are this much older than the newest packet
/// seen, so captures whose timestamps step back a little still come out sorted.
pub const REORDER_SLACK_NS: i64 = 10_000_000_000;
/// The slack on a live input (standard input, a FIFO), whose reader watches rows come: a
/// second, for the small steps back of a multi-queue capture, not ten.
pub const LIVE_REORDER_SLACK_NS: i64 = 1_000_000_000;
/// Rows the reorder buffer holds at most (about 1 KiB each with their strings). Without it,
/// a flood of connections leaving heads unfinished holds back every row completed after
/// the oldest unfinished head, up to the whole capture's.
pub const MAX_REORDER_ROWS: usize = 1 << 15;

/// Sort key: (time, file, packet, position on the connection, arrival).
pub(crate) type OrderKey = (i64, u32, u64, u32, u64);

struct Pending<R> {
    key: OrderKey,
    /// Boxed: the heap moves entries as it sifts, and a row is several hundred bytes.
    row: Box<R>,
}

impl<R> PartialEq for Pending<R> {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl<R> Eq for Pending<R> {}
impl<R> PartialOrd for Pending<R> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<R> Ord for Pending<R> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key.cmp(&o.key)
    }
}

/// Rows waiting for every earlier row, oldest first (request rows, and the `connections`
/// rows, which leave in the order of their first packet the same way).
pub(crate) struct ReorderBuffer<R> {
    heap: BinaryHeap<Reverse<Pending<R>>>,
    arrivals: u64,
}

impl<R> Default for ReorderBuffer<R> {
    fn default() -> Self {
        ReorderBuffer {
            heap: BinaryHeap::new(),
            arrivals: 0,
        }
    }
}

impl<R> ReorderBuffer<R> {
    /// Hold `row` under `key` (its last element, arrival order, is filled in here).
    pub(crate) fn push(&mut self, mut key: OrderKey, row: R) {
        self.arrivals += 1;
        key.4 = self.arrivals;
        self.heap.push(Reverse(Pending {
            key,
            row: Box::new(row),
        }));
    }

    /// Rows held.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Hand every row older than `bound` to `emit`, oldest first, and beyond the cap the
    /// oldest ones even if not (counted in `released_early`).
    pub(crate) fn release(
        &mut self,
        bound: i64,
        released_early: &mut u64,
        emit: &mut dyn FnMut(R) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        while let Some(Reverse(top)) = self.heap.peek() {
            let over = self.heap.len() > MAX_REORDER_ROWS;
            if top.key.0 >= bound && !over {
                break;
            }
            if top.key.0 >= bound {
                *released_early += 1;
            }
            let Some(Reverse(p)) = self.heap.pop() else {
                break;
            };
            emit(*p.row)?;
        }
        ControlFlow::Continue(())
    }
}
