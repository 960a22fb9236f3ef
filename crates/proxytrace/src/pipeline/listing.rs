//! The listing policies, written once for every command: rows, a count (`-c`), a first
//! match (`-q`), or an aggregate built from every row (`flows`, `--summary`).

use super::Sink;
use std::ops::ControlFlow;

/// What becomes of the rows that reach the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Every row goes to the printer.
    Rows,
    /// Rows are only counted (`-c`); the count is the answer.
    Count,
    /// The first row ends the run (`-q`): only the exit status answers.
    Quiet,
    /// Rows feed an [`Aggregate`], whose rows are printed at the end instead.
    Aggregate,
}

/// Rows folded into summary rows (one per flow, per client, ...), printed at the end.
pub trait Aggregate<R> {
    /// The summary row.
    type Out;
    /// Take one row into account.
    fn add(&mut self, row: &R);
    /// The summary rows, in their documented order.
    fn rows(self) -> Vec<Self::Out>;
}

/// Applies a [`Listing`] in front of a printer (`P`) and an aggregate (`A`).
pub struct ListingSink<P, A> {
    listing: Listing,
    printer: P,
    aggregate: A,
    matched: u64,
}

impl<P, A> ListingSink<P, A> {
    /// A listing in front of `printer` (used for [`Listing::Rows`]) and `aggregate` (used
    /// for [`Listing::Aggregate`]).
    pub fn new(listing: Listing, printer: P, aggregate: A) -> Self {
        ListingSink {
            listing,
            printer,
            aggregate,
            matched: 0,
        }
    }

    /// Rows that reached the listing (matched the command's filters).
    pub fn matched(&self) -> u64 {
        self.matched
    }

    /// The printer and the aggregate, at the end of the run.
    pub fn into_parts(self) -> (P, A) {
        (self.printer, self.aggregate)
    }
}

impl<R, P: Sink<R>, A: Aggregate<R>> Sink<R> for ListingSink<P, A> {
    type Error = P::Error;

    fn row(&mut self, row: R) -> Result<ControlFlow<()>, P::Error> {
        self.matched += 1;
        match self.listing {
            Listing::Rows => self.printer.row(row),
            Listing::Count => Ok(ControlFlow::Continue(())),
            Listing::Quiet => Ok(ControlFlow::Break(())),
            Listing::Aggregate => {
                self.aggregate.add(&row);
                Ok(ControlFlow::Continue(()))
            }
        }
    }

    fn file_error(
        &mut self,
        error: &crate::capture::CaptureError,
    ) -> Result<ControlFlow<()>, P::Error> {
        self.printer.file_error(error)
    }
}

/// No aggregate (commands listing rows only).
impl<R> Aggregate<R> for () {
    type Out = ();
    fn add(&mut self, _: &R) {}
    fn rows(self) -> Vec<()> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(u64);
    impl Aggregate<u32> for Count {
        type Out = u64;
        fn add(&mut self, _: &u32) {
            self.0 += 1;
        }
        fn rows(self) -> Vec<u64> {
            vec![self.0]
        }
    }

    fn feed(listing: Listing) -> (Vec<u32>, u64, Vec<u64>, usize) {
        let mut sink = ListingSink::new(listing, Vec::new(), Count(0));
        let mut taken = 0;
        for r in 1..=5u32 {
            taken += 1;
            if Sink::row(&mut sink, r).unwrap().is_break() {
                break;
            }
        }
        let matched = sink.matched();
        let (printed, agg) = sink.into_parts();
        (printed, matched, agg.rows(), taken)
    }

    #[test]
    fn each_listing_does_one_thing() {
        assert_eq!(feed(Listing::Rows), (vec![1, 2, 3, 4, 5], 5, vec![0], 5));
        assert_eq!(feed(Listing::Count), (vec![], 5, vec![0], 5));
        // -q: the first row ends the run.
        assert_eq!(feed(Listing::Quiet), (vec![], 1, vec![0], 1));
        assert_eq!(feed(Listing::Aggregate), (vec![], 5, vec![5], 5));
    }
}
